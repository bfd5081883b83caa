"""Connecting an org: getting its admin token pair, vetting it and storing it (``AdminGrants``),
for ``connect`` in the chat and ``flask --app app orgs connect`` / ``admin service-app``.

With a Service App, the pair comes from ``POST /applications/{id}/token`` with ``targetOrgId``
(WEBEX_FACTS "Getting an admin token"); Webex gives it only once a Full Administrator of that org
has authorized the Service App in Control Hub. With an Integration, a Full Administrator opens an
authorization link; the bot's ``/oauth/callback`` completes it (``bot.ops.onboarding``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.config import Settings
from bot.domain.authorization import FULL_ADMIN, describe_roles
from bot.storage.admin_grants import AdminGrants
from bot.webex import oauth
from bot.webex.errors import WebexCallError
from bot.webex.vetting import org_name, role_names_of, vet

log = logging.getLogger(__name__)
# Webex's 401 to the token request: the bot's own credentials for connecting orgs (the
# applications token, which expires, or the Service App's client), never the org's doing.
CREDENTIALS_REFUSED = ("Webex refused the bot's own credentials for connecting organizations: "
                       "its operator must renew them (WEBEX_APPLICATIONS_TOKEN, or the Service "
                       "App's client id and secret).")


class ConnectRefused(Exception):
    """The org was not connected; the message says why and what to do (nothing was stored)."""


class NotAuthorizedThere(ConnectRefused):
    """Webex refused the Service App's token for the org: it is not authorized there (403)."""


@dataclass(frozen=True)
class ServiceApp:
    application_id: str
    applications_token: str  # spark:applications_token: used for the call, never stored


@dataclass(frozen=True)
class Connected:
    org_id: str
    org_name: str | None
    owner_name: str  # whom the token acts as (a Service App's machine account)
    kind: str
    scopes: tuple[str, ...]
    access_expires_at: datetime


def service_app_of(settings: Settings) -> ServiceApp | None:
    """The Service App of the settings, when `connect` may use it."""
    token = settings.webex_applications_token
    if settings.connect_method != "service-app" or settings.webex_service_app_id is None \
            or token is None:
        return None
    return ServiceApp(settings.webex_service_app_id, token.get_secret_value())


def connect_service_app(settings: Settings, grants: AdminGrants, app: ServiceApp, org_id: str, *,
                        requester_id: str | None = None) -> Connected:
    """Get, vet and store ``org_id``'s pair. With ``requester_id`` (``connect`` in the chat), only
    if that person is a Full Administrator of the org, as the new token sees them."""
    client = settings.admin_client
    if client is None:
        raise ConnectRefused("WEBEX_ADMIN_CLIENT_ID and WEBEX_ADMIN_CLIENT_SECRET (the Service "
                             "App's) are not set")
    try:
        pair = oauth.service_app_token(settings, application_id=app.application_id,
                                       client=client, org_id=org_id,
                                       applications_token=app.applications_token)
    except WebexCallError as exc:
        if exc.status == 403:  # not authorized there (Webex words it as it likes)
            raise NotAuthorizedThere(str(exc)) from None
        if exc.status == 401:  # the operator's credentials, not the org's doing
            log.error("connecting org %s: Webex refused the bot's credentials (%s): renew "
                      "WEBEX_APPLICATIONS_TOKEN (it expires after about 14 days) or correct "
                      "WEBEX_ADMIN_CLIENT_ID/SECRET, then restart", org_id, exc)
            raise ConnectRefused(CREDENTIALS_REFUSED) from None
        raise
    vetted = vet(settings, pair.access_token, kind="service-app", asked=oauth.ALL_SCOPES,
                 granted=None)
    if vetted.refusal is None and vetted.org_id != org_id:
        vetted.refusal = "Webex gave a token for another organization"
    if vetted.refusal is not None:
        raise ConnectRefused(vetted.refusal)
    if requester_id is not None:
        _require_full_admin(settings, pair.access_token, requester_id)
    name = org_name(settings, pair.access_token, org_id)
    grants.save(kind="service-app", client_id=client.client_id, pair=pair,
                owner_id=vetted.owner_id, owner_name=vetted.owner_name, org_id=org_id,
                scopes=vetted.scopes, org_name=name)
    return Connected(org_id, name, vetted.owner_name, "service-app", vetted.scopes,
                     pair.access_expires_at)


def _require_full_admin(settings: Settings, token: str, person_id: str) -> None:
    roles = role_names_of(settings, token, person_id)
    if FULL_ADMIN not in roles:
        raise ConnectRefused(f"Connecting your organization needs a {FULL_ADMIN} of it. Your "
                             f"account has {describe_roles(roles)}.")


@dataclass(frozen=True)
class Link:
    url: str
    expires_at: datetime
    scopes: tuple[str, ...]


def authorization_link(settings: Settings, grants: AdminGrants, *,
                       scopes: tuple[str, ...] = oauth.ALL_SCOPES, org_id: str | None = None,
                       requester_id: str | None = None) -> Link:
    """The Integration's authorization URL (state and PKCE kept in the database, 15 minutes, once);
    with ``org_id``, only a Full Administrator of that org can complete it, and ``requester_id``
    is told the outcome."""
    client, redirect_uri = settings.admin_client, settings.oauth_redirect_uri
    if client is None or redirect_uri is None:
        raise ConnectRefused("WEBEX_ADMIN_CLIENT_ID, WEBEX_ADMIN_CLIENT_SECRET and PUBLIC_URL are "
                             "required for the authorization link")
    started = oauth.authorize_url(settings, client, redirect_uri, scopes)
    until = grants.begin(started.state, started.verifier, scopes, org_id=org_id,
                         requester_id=requester_id)
    return Link(started.url, until, scopes)
