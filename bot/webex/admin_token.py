"""The admin access token: from settings, or refreshed and shared through the database.

On a 401, ``refresh`` first looks for a token another worker already refreshed, then (when refresh
settings exist) asks Webex for a new one with the refresh token, stores both encrypted, and hands
it out. The stored token survives restarts and is seen by every worker and instance.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Protocol

import requests

from bot.config import Settings
from bot.storage.models import StoredSecret
from bot.storage.secret_box import SecretBox
from bot.storage.store import Store
from bot.webex.errors import WebexCallError
from bot.webex.rules_client import retrying_session

log = logging.getLogger(__name__)
ACCESS, REFRESH = "admin_access_token", "admin_refresh_token"
RECHECK_SECONDS = 30.0


class AdminTokenExpired(Exception):
    """The admin token was refused and cannot be refreshed: an operator must re-authorize the bot."""


class TokenProvider(Protocol):
    """What ``AdminAccess`` needs of the admin token (``AdminToken``, or preflight's source)."""

    def current(self) -> str: ...

    def refresh(self, refused: str) -> str:
        """A token to use instead of ``refused``; raise ``AdminTokenExpired`` when there is none."""
        ...


class AdminToken:
    def __init__(self, settings: Settings, store: Store, box: SecretBox):
        self._settings = settings
        self._store = store
        self._box = box
        self._lock = threading.Lock()
        self._cached: tuple[float, str] | None = None
        self._http = retrying_session()

    def current(self) -> str:
        with self._lock:
            if self._cached and self._cached[0] > time.monotonic():
                return self._cached[1]
            # Without WEBEX_ADMIN_TOKEN the refresh settings are required: the first token is theirs.
            token = self._stored(ACCESS) or self._configured() or self._request_new_token()
            self._cached = (time.monotonic() + RECHECK_SECONDS, token)
            return token

    def refresh(self, refused: str) -> str:
        """A token to use instead of ``refused``; raise ``AdminTokenExpired`` when there is none."""
        with self._lock:
            self._cached = None
            stored = self._stored(ACCESS)
            if stored and stored != refused:
                return stored  # another worker refreshed it already
            token = self._request_new_token()
            self._cached = (time.monotonic() + RECHECK_SECONDS, token)
            return token

    def _configured(self) -> str:
        token = self._settings.webex_admin_token
        return token.get_secret_value() if token else ""

    def _stored(self, name: str) -> str | None:
        with self._store.session() as session:
            row = session.get(StoredSecret, name)
            return self._box.open(row.ciphertext) if row else None

    def _request_new_token(self) -> str:
        """A new access token from Webex (stored with its refresh token); ``AdminTokenExpired``
        when there are no refresh settings or Webex refuses them."""
        refresh = self._settings.admin_refresh
        if refresh is None:
            raise AdminTokenExpired("the admin token was refused and no refresh settings exist")
        refresh_token = self._stored(REFRESH) or refresh.refresh_token.get_secret_value()
        form = {"grant_type": "refresh_token", "client_id": refresh.client_id,
                "client_secret": refresh.client_secret.get_secret_value(),
                "refresh_token": refresh_token}
        try:
            response = self._http.post(f"{self._settings.webex_base_url}access_token", timeout=10,
                                       data=form)
        except requests.RequestException as exc:
            raise WebexCallError.from_exception(exc) from exc
        if response.status_code != 200:
            if response.status_code in (400, 401):
                raise AdminTokenExpired(f"the refresh was refused: {WebexCallError.from_response(response)}")
            raise WebexCallError.from_response(response)
        answer = response.json()
        self._save(ACCESS, answer["access_token"])
        self._save(REFRESH, answer.get("refresh_token") or refresh_token)
        log.info("admin token refreshed")
        return answer["access_token"]

    def _save(self, name: str, value: str) -> None:
        with self._store.session() as session, session.begin():
            session.merge(StoredSecret(name=name, ciphertext=self._box.seal(value),
                                       updated_at=datetime.now(UTC)))
