"""Webex clients: ``webexpythonsdk`` with the bot token and with the admin token.

The SDK waits on 429 in an unbounded loop by default; we turn that off and set a timeout, so that
no call can hang a worker. Base URLs end in ``/`` because the SDK joins paths with ``urljoin``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from webexpythonsdk import ApiError, WebexAPI

from bot.config import Settings
from bot.ops import metrics
from bot.webex.errors import WebexCallError
from bot.webex.rules_client import environment_once, mount_retries, retry_policy

REQUEST_TIMEOUT_SECONDS = 10
T = TypeVar("T")


def bot_api(settings: Settings) -> WebexAPI:
    """The bot's own identity: messages, attachment actions, webhooks."""
    return _api(settings.webex_bot_token.get_secret_value(), settings)


def admin_api(settings: Settings, access_token: str) -> WebexAPI:
    """The admin identity: people with roles, the role list, the voicemail rules.

    ``access_token`` is the current one (``AdminToken``): configured, or refreshed since."""
    return _api(access_token, settings)


def _api(token: str, settings: Settings) -> WebexAPI:
    api = WebexAPI(access_token=token, base_url=settings.webex_base_url,
                   single_request_timeout=REQUEST_TIMEOUT_SECONDS, wait_on_rate_limit=False)
    # The SDK retries nothing but 429 (forever); give its session our bounded policy instead.
    mount_retries(api._session._req_session, retry_policy())
    environment_once(api._session._req_session, settings.webex_base_url)
    metrics.instrument(api._session._req_session)
    return api


def sdk_call(api: WebexAPI, action: Callable[[WebexAPI], T]) -> T:
    """Run one SDK call; any failure becomes ``WebexCallError`` (status, description, tracking id)."""
    try:
        return action(api)
    except ApiError as exc:
        raise WebexCallError.from_sdk(exc) from exc
    except OSError as exc:  # requests' connection errors and timeouts are OSErrors
        raise WebexCallError(None, f"{exc.__class__.__name__} talking to Webex") from exc
