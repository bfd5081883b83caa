"""The Voicemail Rules Bot: a Flask webhook receiver for Webex."""

from __future__ import annotations

import copy
import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask

from bot.config import ConfigError, Settings, load_settings, start_up_warnings
from bot.inbox.queue import Inbox
from bot.inbox.worker import Processor, Worker
from bot.jobs.background import Background
from bot.jobs.scheduler import Scheduler
from bot.ops import logs, metrics
from bot.storage.leases import Leases
from bot.storage.store import Store
from bot.webhook.endpoint import WebhookEndpoint
from bot.webhook.intake import MAX_BODY_BYTES, InFlight, Intake

# Acknowledging comes first: before it takes an event, an inbox worker waits for a quiet moment
# (no signed webhook request in flight in its process, none begun for 20 ms: InFlight), until at
# most this long after the event arrived. Under a burst Webex gets its 2xx sooner and the work
# follows; with ordinary traffic there is nothing to wait for; and under a flood that never goes
# quiet, an event older than this is taken at once, so the work keeps up with the arrivals.
ACK_FIRST_SECONDS = 1.0
log = logging.getLogger(__name__)
# Processed events are kept this long (for duplicates and for operators), then deleted.
KEEP_DONE_EVENTS = timedelta(days=7)
# Only database reads unless a refresh is due; often enough for tokens of a few minutes.
ADMIN_TOKEN_CHECK_SECONDS = 10


def create_app(settings: Settings | None = None, *, processor: Processor | None = None) -> Flask:
    """Build the app. Settings are read from the environment unless given (tests give them).

    A configuration problem stops start-up with one line naming the setting. ``processor``
    replaces the event processing (tests use it to see what the intake accepts).
    """
    if settings is None:
        try:
            settings = load_settings()
        except ConfigError as exc:
            if _run_by_flask_cli():
                return _unconfigured_cli(str(exc))
            raise SystemExit(str(exc)) from None
    logs.configure(level=settings.log_level, fmt=settings.log_format, secrets=secret_values(settings))
    for warning in start_up_warnings(settings):
        log.warning("%s", warning.text)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    store = Store(settings.database_url)
    inbox = Inbox(store)
    in_flight = InFlight()
    background = _background(settings, store, inbox, processor, in_flight)
    intake = Intake(secret=settings.webex_webhook_secret.get_secret_value(), inbox=inbox,
                    on_accepted=background.worker.wake, in_flight=in_flight)
    app.extensions.update({
        "vmbot.settings": settings, "vmbot.store": store, "vmbot.inbox": inbox,
        "vmbot.background": background, "vmbot.intake": intake,
    })
    app.before_request(background.start)  # idempotent; gunicorn starts it earlier
    from bot.ops import cli, web

    app.register_blueprint(web.blueprint)
    from bot.ops import onboarding

    app.register_blueprint(onboarding.blueprint)
    cli.register(app)
    # Webex's deliveries bypass Flask's request machinery: the hot path (bot/webhook/endpoint.py).
    # Flask's documented way to wrap an app in WSGI middleware; Flask types wsgi_app as a method.
    app.wsgi_app = WebhookEndpoint(  # type: ignore[method-assign]
        app.wsgi_app, intake, before=background.start)
    return app


def _run_by_flask_cli() -> bool:
    """True under ``flask --app app ...`` (not gunicorn, not an import by tests or tools)."""
    return Path(sys.argv[0]).name == "flask" or sys.argv[:2] == ["-m", "flask"] or (
        bool(sys.argv) and sys.argv[0].endswith(("flask/__main__.py", "flask/cli.py")))


def _unconfigured_cli(error: str) -> Flask:
    """For ``flask --app app`` when the settings are incomplete: ``--help`` (of the app and of
    every command) still lists the commands; running any of them stops with the configuration
    error, naming the setting."""
    import click

    from bot.ops import cli

    app = Flask(__name__)
    listed = Flask(__name__)
    cli.register(listed)

    def refusing(command: click.Command) -> click.Command:
        twin = copy.copy(command)
        if isinstance(command, click.Group):
            assert isinstance(twin, click.Group)
            twin.commands = {name: refusing(sub) for name, sub in command.commands.items()}
            twin.callback = None
            return twin

        def refuse(*_args, **_kwargs) -> None:
            click.echo(error, err=True)  # the one line start-up gives, as it is
            raise SystemExit(1)

        twin.callback = refuse
        return twin

    for command in listed.cli.commands.values():
        app.cli.add_command(refusing(command))
    return app


def _ack_first_wait(received_at: datetime) -> float:
    """How long an inbox worker may still wait for a quiet moment before it processes an event
    received at ``received_at`` (none for a retry: it is older than that; never more than the
    bound, should another instance's clock run ahead of this one's)."""
    age = (datetime.now(UTC) - received_at).total_seconds()
    return min(ACK_FIRST_SECONDS, max(0.0, ACK_FIRST_SECONDS - age))


def _background(settings: Settings, store: Store, inbox: Inbox,
                processor: Processor | None, in_flight: InFlight) -> Background:
    services = None
    if processor is None:
        from bot.chat.dispatch import process
        from bot.chat.services import build_services

        services = build_services(settings, store)
        processor = lambda event: process(event, services)  # noqa: E731
    worker = Worker(inbox, processor, threads=settings.worker_threads,
                    lease_seconds=settings.event_lease_seconds,
                    on_processed=metrics.event_processed,
                    before_processing=lambda received_at: in_flight.wait_quiet(
                        _ack_first_wait(received_at)))
    scheduler = Scheduler(Leases(store), owner=lambda: worker.owner)
    scheduler.every(3600, lambda: inbox.forget_done(KEEP_DONE_EVENTS), "forget-done-events",
                    singleton=True)
    if services is not None:
        from bot.chat.services import warm_up
        from bot.jobs import watcher
        from bot.jobs.webhook_check import check_webhooks
        from bot.storage.pending import expire_pending

        scheduler.once(lambda: warm_up(services), "warm-up")
        # A pending change's PIN is erased when it expires, even if nobody comes back to it.
        scheduler.every(30, lambda: expire_pending(store), "expire-pending-changes")
        scheduler.every(settings.webhook_check_interval_seconds,
                        lambda: check_webhooks(services, store), "webhook-check", singleton=True)
        if settings.watch_interval_seconds:
            watching = watcher.Watcher(services, store)
            scheduler.paced(watcher.LEASE, watching.step, lease=watcher.LEASE_TTL,
                            idle_seconds=watcher.IDLE_SECONDS, on_stop=watching.stop)
        from bot.jobs.admin_token_check import check_admin_token

        # Every org's pair the bot got itself (none when WEBEX_ADMIN_TOKEN serves the one org).
        scheduler.every(ADMIN_TOKEN_CHECK_SECONDS, lambda: check_admin_token(services, store),
                        "admin-token-check", singleton=True)
    return Background(worker, scheduler)


def secret_values(settings: Settings) -> list[str]:
    """Every secret in the settings, so that logs can mask them."""
    values = [settings.webex_bot_token, settings.webex_webhook_secret, settings.webex_admin_token,
              settings.webex_admin_client_secret, settings.webex_admin_refresh_token,
              settings.webex_applications_token,
              settings.bot_secret_key, *settings.bot_secret_key_previous, settings.ops_token]
    return [v.get_secret_value() for v in values if v is not None]
