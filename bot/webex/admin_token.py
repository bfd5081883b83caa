"""The admin access token: from settings, or refreshed and shared through the database.

Two sources. With ``WEBEX_ADMIN_TOKEN`` (or ``WEBEX_ADMIN_REFRESH_TOKEN``) set, the token of the
settings, as it always was. Otherwise the pair that ``flask --app app admin authorize`` (an
Integration) or ``admin service-app`` stored (``AdminGrants``): refreshed ahead of its expiry by
whichever process notices first, under a lease and with a compare-and-set, so a rotating refresh
token is used once; a refused refresh is recorded for ``/healthz``, ``check`` and the notification
spaces, with what to do.

For the settings' token: on a 401, ``refresh`` first looks for a token another worker already
refreshed, then (when refresh settings exist) asks Webex for a new one with the refresh token,
stores both encrypted, and hands it out. The stored token survives restarts and is seen by every
worker and instance.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

import requests

from bot.config import Settings
from bot.storage.admin_grants import AdminGrants, Grant, TokenPair
from bot.storage.leases import Leases
from bot.storage.models import StoredSecret
from bot.storage.secret_box import SecretBox
from bot.storage.store import Store
from bot.webex.errors import WebexCallError
from bot.webex.rules_client import retrying_session

log = logging.getLogger(__name__)
ACCESS, REFRESH = "admin_access_token", "admin_refresh_token"
RECHECK_SECONDS = 30.0
GRANT_RECHECK_SECONDS = 5.0  # a stored authorization: one primary-key read now and then


AUTHORIZE_HINT = {"integration": "an operator runs `flask --app app admin authorize`",
                  "service-app": "an operator runs `flask --app app admin service-app` (after a Full "
                                 "Administrator authorizes the Service App in Control Hub)"}
REFRESH_LEASE = "admin-token-refresh"
REFRESH_LEASE_TTL = timedelta(seconds=30)
REFRESH_TOKEN_WARNING = timedelta(days=7)


class AdminTokenExpired(Exception):
    """The admin token was refused and cannot be refreshed: an operator must re-authorize the bot."""

    title = "The bot's admin authorization has expired"
    advice = "An operator must re-authorize the bot before it can read or change the rules."


class AdminNotAuthorized(AdminTokenExpired):
    """No admin token yet: neither WEBEX_ADMIN_TOKEN nor a stored authorization."""

    title = "The bot is not yet authorized"
    # Shown after the title, to anyone who types anything, `connect` included: no org is
    # connected, so the operator connects the first one, with whichever admin access is set up.
    advice = ("No organization is connected to it yet: its operator connects one with "
              "`flask --app app admin authorize` (or `admin service-app` for a Service App).")

    def __init__(self) -> None:
        super().__init__("the bot is not yet authorized: an operator runs "
                         "`flask --app app admin authorize` (or `admin service-app`)")


def refresh_lease(org_id: str) -> str:
    """The lease one process holds while it refreshes ``org_id``'s pair (a lease name is short)."""
    return f"{REFRESH_LEASE}:{hashlib.sha256(org_id.encode()).hexdigest()[:16]}"


def refresh_due(pair: TokenPair, now: datetime) -> bool:
    """Refresh ahead when less than a tenth of the token's lifetime is left, or less than an hour
    (half the lifetime for tokens shorter than two hours): a 14-day token about 33 hours before it
    expires, an hour-long one 30 minutes before."""
    return refresh_due_by(pair.access_expires_at, pair.access_lifetime_seconds, now)


def refresh_due_by(access_expires_at: datetime, lifetime: float, now: datetime) -> bool:
    """``refresh_due`` from what is stored in clear (the admin token check's look)."""
    margin = max(lifetime * 0.1, min(3600.0, lifetime / 2))
    return access_expires_at - now <= timedelta(seconds=margin)


def grant_problem(grant: Grant, now: datetime | None = None) -> str | None:
    """What an operator must know and do about the stored pair, or None."""
    return stored_problem(grant.problem, grant.kind, grant.pair.refresh_expires_at, now)


def stored_problem(problem: str | None, kind: str, refresh_expires_at: datetime | None,
                   now: datetime | None = None) -> str | None:
    """``grant_problem`` from what is stored in clear (the admin token check's look)."""
    now = now or datetime.now(UTC)
    if problem:
        return problem
    hint = AUTHORIZE_HINT.get(kind, AUTHORIZE_HINT["integration"])
    expires = refresh_expires_at
    if expires is not None and expires - now <= REFRESH_TOKEN_WARNING:
        return (f"the admin refresh token expires on {expires:%Y-%m-%d %H:%M} UTC and then the "
                f"bot can no longer read or change the rules: before then, {hint}")
    return None


class TokenProvider(Protocol):
    """What ``AdminAccess`` needs of the admin token (``AdminToken``, or preflight's source)."""

    def current(self) -> str: ...

    def refresh(self, refused: str) -> str:
        """A token to use instead of ``refused``; raise ``AdminTokenExpired`` when there is none."""
        ...


class AdminToken:
    """The admin token of one org: the settings' (``org_id`` None with ``WEBEX_ADMIN_TOKEN``), or
    the pair stored for ``org_id`` (None: the org authorized first, a single-org deployment)."""

    def __init__(self, settings: Settings, store: Store, box: SecretBox,
                 org_id: str | None = None):
        self._settings = settings
        self._org_id = org_id
        self._store = store
        self._box = box
        self._lock = threading.Lock()
        self._cached: tuple[float, str] | None = None
        self._http = retrying_session()
        self._grants = AdminGrants(store, box)
        self._leases = Leases(store)

    # --- the stored authorization (admin authorize / admin service-app) ------------------------

    def _granted(self, refused: str | None = None) -> str:
        with self._lock:
            if refused is None and self._cached and self._cached[0] > time.monotonic():
                return self._cached[1]
            self._cached = None
            grant = self._grants.get(self._org_id)
            if grant is None:
                raise AdminNotAuthorized()
            now = datetime.now(UTC)
            if refused is not None and grant.pair.access_token != refused:
                token, pair = grant.pair.access_token, grant.pair  # refreshed elsewhere already
            elif grant.problem and (refused is not None or grant.pair.access_expires_at <= now):
                raise AdminTokenExpired(grant.problem)  # refused before: only an operator helps
            elif grant.problem:
                token, pair = grant.pair.access_token, grant.pair  # still valid: used until then
            elif refused is not None or refresh_due(grant.pair, now):
                still_valid = refused is None and grant.pair.access_expires_at > now
                pair = self._refresh_grant(grant, still_valid=still_valid)
                token = pair.access_token
            else:
                token, pair = grant.pair.access_token, grant.pair
            # Look again at the latest when it is due (or in a few seconds: another process
            # may have refreshed it, or an operator authorized again).
            due_in = (pair.access_expires_at - now).total_seconds() - max(
                pair.access_lifetime_seconds * 0.1, min(3600.0, pair.access_lifetime_seconds / 2))
            self._cached = (time.monotonic() + max(0.0, min(GRANT_RECHECK_SECONDS, due_in)), token)
            return token

    def _refresh_grant(self, grant: Grant, *, still_valid: bool = False) -> TokenPair:
        """A refreshed pair, stored; from another process if it refreshed meanwhile. While
        another process refreshes, a ``still_valid`` pair is used rather than waited on."""
        from bot.webex import oauth

        client = self._settings.admin_client
        hint = AUTHORIZE_HINT.get(grant.kind, AUTHORIZE_HINT["integration"])
        if client is None or client.client_id != grant.client_id:
            raise AdminTokenExpired(f"the stored admin token cannot be refreshed: "
                                    f"WEBEX_ADMIN_CLIENT_ID is not the client that got it; {hint}")
        holder = f"{os.getpid()}:{id(self)}"
        deadline = time.monotonic() + 15
        lease = refresh_lease(grant.org_id)
        while not self._leases.acquire(lease, holder, REFRESH_LEASE_TTL):
            latest = self._grants.get(self._org_id)  # another process is refreshing: wait for its pair
            if latest is not None and latest.version != grant.version:
                return latest.pair
            if still_valid:
                return grant.pair
            if time.monotonic() > deadline:
                raise WebexCallError(None, "the admin token is being refreshed by another process")
            time.sleep(0.2)
        try:
            latest = self._grants.get(self._org_id)
            if latest is None:
                raise AdminNotAuthorized()
            if latest.version != grant.version:
                return latest.pair
            try:
                pair = oauth.refresh(self._settings, client, grant.pair.refresh_token)
            except oauth.TokenRefused as exc:
                problem = f"Webex refused to refresh the admin token ({exc}): {hint}"
                self._grants.set_problem(grant.org_id, problem)
                log.error("admin token: %s", problem)
                raise AdminTokenExpired(problem) from None
            if not self._grants.replace_if(grant.org_id, grant.version, pair):
                latest = self._grants.get(self._org_id)
                if latest is None:
                    raise AdminNotAuthorized()
                return latest.pair
            log.info("admin token refreshed ahead of its expiry (%s)", grant.kind)
            return pair
        finally:
            self._leases.release(lease, holder)

    @property
    def from_settings(self) -> bool:
        """The token of the settings (``WEBEX_ADMIN_TOKEN``), not a stored pair."""
        return self._org_id is None and self._settings.admin_token_configured

    def current(self) -> str:
        if not self.from_settings:
            return self._granted()
        with self._lock:
            if self._cached and self._cached[0] > time.monotonic():
                return self._cached[1]
            # Without WEBEX_ADMIN_TOKEN the refresh settings are required: the first token is theirs.
            token = self._stored(ACCESS) or self._configured() or self._request_new_token()
            self._cached = (time.monotonic() + RECHECK_SECONDS, token)
            return token

    def refresh(self, refused: str) -> str:
        """A token to use instead of ``refused``; raise ``AdminTokenExpired`` when there is none."""
        if not self.from_settings:
            return self._granted(refused=refused)
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
