"""Getting and refreshing the admin token pair: an Integration's authorization code (with PKCE and
state), a Service App's token for an org, and the refresh of either (WEBEX_FACTS "Getting an
admin token"). The OAuth client is Authlib's ``OAuth2Session``; nothing here stores anything.

Webex answers token requests with ``{access_token, expires_in, refresh_token,
refresh_token_expires_in, token_type}`` and errors in its own shape (``{message, errors,
trackingId}``), not RFC 6749's: a compliance hook turns any non-200 into ``WebexCallError`` (or
``TokenRefused`` for 400/401, which only an operator can fix).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session

from bot.config import AdminClient, Settings
from bot.ops import metrics
from bot.storage.admin_grants import TokenPair
from bot.webex.errors import WebexCallError
from bot.webex.rules_client import mount_retries, retry_policy, retrying_session

# What the bot does with the admin token, and the scope each needs (WEBEX_FACTS "Identity, roles
# and tokens"); audit_events_read is optional: with it, the watcher names who changed the rules
# in Control Hub.
REQUIRED_SCOPES = ("spark-admin:people_read", "spark-admin:roles_read",
                   "spark-admin:telephony_config_read", "spark-admin:telephony_config_write")
OPTIONAL_SCOPES = ("spark-admin:audit_events_read",)
ALL_SCOPES = REQUIRED_SCOPES + OPTIONAL_SCOPES
TIMEOUT_SECONDS = 10


class TokenRefused(Exception):
    """Webex refused a code, a refresh token or a client (400/401): an operator must act."""


@dataclass(frozen=True)
class Authorization:
    url: str
    state: str
    verifier: str


def _raise_unless_ok(response: requests.Response) -> requests.Response:
    if response.status_code == 200:
        return response
    error = WebexCallError.from_response(response)
    if response.status_code in (400, 401):
        raise TokenRefused(str(error))
    raise error


def _session(settings: Settings, client: AdminClient, **kwargs: Any) -> OAuth2Session:
    session = OAuth2Session(client.client_id, client.client_secret.get_secret_value(),
                            token_endpoint_auth_method="client_secret_post",
                            default_timeout=TIMEOUT_SECONDS, **kwargs)
    # A token POST is never retried but on 429 (a code is single use; a refresh may rotate).
    mount_retries(session, retry_policy())
    metrics.instrument(session)
    session.register_compliance_hook("access_token_response", _raise_unless_ok)
    session.register_compliance_hook("refresh_token_response", _raise_unless_ok)
    return session


def authorize_url(settings: Settings, client: AdminClient, redirect_uri: str,
                  scopes: tuple[str, ...]) -> Authorization:
    """Webex's ``/v1/authorize`` URL for ``scopes``, with a fresh state and PKCE S256 challenge."""
    session = _session(settings, client, scope=" ".join(scopes), redirect_uri=redirect_uri,
                       code_challenge_method="S256")
    verifier = secrets.token_urlsafe(64)  # 86 characters: RFC 7636 allows 43-128
    url, state = session.create_authorization_url(f"{settings.webex_base_url}authorize",
                                                  state=secrets.token_urlsafe(32),
                                                  code_verifier=verifier)
    return Authorization(url, state, verifier)


def exchange_code(settings: Settings, client: AdminClient, redirect_uri: str, code: str,
                  verifier: str) -> tuple[TokenPair, tuple[str, ...] | None]:
    """The pair for an authorization code, and the scopes granted if Webex says (else None)."""
    session = _session(settings, client, redirect_uri=redirect_uri)
    answer = _fetch(lambda: session.fetch_token(f"{settings.webex_base_url}access_token",
                                                grant_type="authorization_code", code=code,
                                                code_verifier=verifier))
    scope = answer.get("scope")
    return pair_of(answer), tuple(scope.split()) if isinstance(scope, str) else None


def refresh(settings: Settings, client: AdminClient, refresh_token: str) -> TokenPair:
    session = _session(settings, client)
    answer = _fetch(lambda: session.refresh_token(f"{settings.webex_base_url}access_token",
                                                  refresh_token=refresh_token))
    return pair_of(answer, previous_refresh=refresh_token)


def service_app_token(settings: Settings, *, application_id: str, client: AdminClient,
                      org_id: str, applications_token: str) -> TokenPair:
    """``POST /applications/{id}/token`` (called with a token holding spark:applications_token):
    the Service App's pair for ``org_id``, authorized there by a Full Administrator."""
    http = retrying_session()
    try:
        response = http.post(f"{settings.webex_base_url}applications/{application_id}/token",
                             timeout=TIMEOUT_SECONDS,
                             headers={"Authorization": f"Bearer {applications_token}"},
                             json={"clientId": client.client_id,
                                   "clientSecret": client.client_secret.get_secret_value(),
                                   "targetOrgId": org_id})
    except requests.RequestException as exc:
        raise WebexCallError.from_exception(exc) from exc
    if response.status_code != 200:
        raise WebexCallError.from_response(response)
    return pair_of(response.json())


def _fetch(action) -> dict[str, Any]:
    try:
        answer = dict(action())
    except requests.RequestException as exc:
        raise WebexCallError.from_exception(exc) from exc
    if not answer.get("access_token") or not answer.get("refresh_token"):
        raise WebexCallError(None, "Webex answered the token request without a token pair")
    return answer


def pair_of(answer: dict[str, Any], previous_refresh: str | None = None) -> TokenPair:
    now = datetime.now(UTC)
    lifetime = int(answer.get("expires_in") or 0) or 14 * 24 * 3600
    refresh_in = answer.get("refresh_token_expires_in")
    return TokenPair(
        access_token=answer["access_token"],
        refresh_token=answer.get("refresh_token") or previous_refresh or "",
        access_expires_at=now + timedelta(seconds=lifetime), access_lifetime_seconds=lifetime,
        refresh_expires_at=now + timedelta(seconds=int(refresh_in)) if refresh_in else None)
