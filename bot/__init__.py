"""The Voicemail Rules Bot: a Flask webhook receiver for Webex."""

from __future__ import annotations

from flask import Flask

from . import logs
from .config import ConfigError, Settings, load_settings
from .intake import MAX_BODY_BYTES, Dispatch, Intake
from .store import Store


def create_app(settings: Settings | None = None, *, dispatch: Dispatch | None = None) -> Flask:
    """Build the app. Settings are read from the environment unless given (tests give them).

    A configuration problem stops start-up with one line naming the setting. ``dispatch`` replaces
    the event processing (tests use it to see what the intake accepts).
    """
    if settings is None:
        try:
            settings = load_settings()
        except ConfigError as exc:
            raise SystemExit(str(exc)) from None
    logs.configure(level=settings.log_level, fmt=settings.log_format, secrets=secret_values(settings))
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    store = Store(settings.database_url)
    if dispatch is None:
        dispatch = _dispatcher(settings, store)
    app.extensions["vmbot.settings"] = settings
    app.extensions["vmbot.store"] = store
    app.extensions["vmbot.intake"] = Intake(
        secret=settings.webex_webhook_secret.get_secret_value(), store=store, dispatch=dispatch)
    from . import cli, web

    app.register_blueprint(web.blueprint)
    cli.register(app)
    return app


def _dispatcher(settings: Settings, store: Store) -> Dispatch:
    from .dispatch import Dispatcher
    from .pipeline import process
    from .services import build_services

    services = build_services(settings, store)
    dispatcher = Dispatcher(store, lambda event: process(event, services))
    # A pending change's PIN is erased when it expires, even if nobody comes back to it.
    dispatcher.every(30, services.pending.expire_old, "expire-pending-changes")
    return dispatcher


def secret_values(settings: Settings) -> list[str]:
    """Every secret in the settings, so that logs can mask them."""
    values = [settings.webex_bot_token, settings.webex_webhook_secret, settings.webex_admin_token,
              settings.webex_admin_client_secret, settings.webex_admin_refresh_token,
              settings.bot_secret_key]
    return [v.get_secret_value() for v in values if v is not None]
