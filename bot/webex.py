"""Webex clients: ``webexpythonsdk`` with the bot token and with the admin token.

The SDK waits on 429 in an unbounded loop by default; we turn that off and set a timeout, so that
no call can hang a worker. Base URLs end in ``/`` because the SDK joins paths with ``urljoin``.
"""

from __future__ import annotations

from webexpythonsdk import WebexAPI

from .config import Settings

REQUEST_TIMEOUT_SECONDS = 10


def bot_api(settings: Settings) -> WebexAPI:
    """The bot's own identity: messages, attachment actions, webhooks."""
    return _api(settings.webex_bot_token.get_secret_value(), settings)


def admin_api(settings: Settings, access_token: str | None = None) -> WebexAPI:
    """The admin identity: people with roles, the role list, the voicemail rules."""
    token = access_token or settings.webex_admin_token.get_secret_value()
    return _api(token, settings)


def _api(token: str, settings: Settings) -> WebexAPI:
    return WebexAPI(access_token=token, base_url=settings.webex_base_url,
                    single_request_timeout=REQUEST_TIMEOUT_SECONDS, wait_on_rate_limit=False)
