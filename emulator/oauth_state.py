"""What the emulator knows about OAuth clients: Integrations, Service Apps, consents and codes.

Held in ``State.oauth`` (built from the seed's ``integrations``, ``serviceApps`` and
``accessTokenSeconds``), guarded by ``State.lock`` like everything else. See ``oauth.py`` for the
endpoints that use it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from .ids import seeded_id

AUTH_CODE_SECONDS = 300  # how long an authorization code may wait for its exchange (see oauth.py)
AUTH_REQUEST_SECONDS = 1800  # how long a consent page stays answerable


@dataclass
class Integration:
    """An OAuth client registered on developer.webex.com: the scopes it may ask, its redirect URIs.

    A redirect URI may contain ``*`` in place of the port (``http://127.0.0.1:*/oauth/callback``),
    an emulator convenience for local runs on any port; Webex itself compares URIs exactly.
    """

    client_id: str
    client_secret: str
    name: str
    scopes: list[str]
    redirect_uris: list[str]

    def allows_redirect(self, uri: str) -> bool:
        return any(_uri_matches(pattern, uri) for pattern in self.redirect_uris)


@dataclass
class ServiceApp:
    """A Service App: its id, OAuth client and scopes, and the orgs whose Full Admin authorized it."""

    id: str
    key: str
    name: str
    client_id: str
    client_secret: str
    scopes: list[str]
    authorized_orgs: set[str] = field(default_factory=set)


@dataclass
class AuthRequest:
    """A consent page being shown: the checked ``/v1/authorize`` parameters, until allowed or denied."""

    id: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    url: str  # the /v1/authorize URL that opened it, for the local space's list
    created: float = field(default_factory=time.time)

    def stale(self) -> bool:
        return time.time() - self.created > AUTH_REQUEST_SECONDS


@dataclass
class AuthCode:
    """An authorization code: single use, short-lived, bound to client, redirect URI and challenge."""

    code: str
    client_id: str
    redirect_uri: str
    person_id: str
    scopes: list[str]
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float
    used: bool = False
    issued_tokens: list[str] = field(default_factory=list)  # revoked if the code is replayed


@dataclass
class OAuthState:
    integrations: dict[str, Integration] = field(default_factory=dict)  # client id -> integration
    service_apps: dict[str, ServiceApp] = field(default_factory=dict)  # application id -> app
    requests: dict[str, AuthRequest] = field(default_factory=dict)  # request id -> consent page
    codes: dict[str, AuthCode] = field(default_factory=dict)
    access_token_seconds: int | None = None  # lifetime of issued access tokens; None: Webex's 14 days

    @classmethod
    def from_seed(cls, seed: dict, keys: dict[str, str]) -> OAuthState:
        world = cls(access_token_seconds=seed.get("accessTokenSeconds"))
        for spec in seed.get("integrations", []):
            world.integrations[spec["clientId"]] = Integration(
                client_id=spec["clientId"], client_secret=spec["clientSecret"], name=spec["name"],
                scopes=list(spec["scopes"]), redirect_uris=list(spec["redirectUris"]))
        for spec in seed.get("serviceApps", []):
            app_id = seeded_id("APPLICATION", spec["key"])
            world.service_apps[app_id] = ServiceApp(
                id=app_id, key=spec["key"], name=spec["name"], client_id=spec["clientId"],
                client_secret=spec["clientSecret"], scopes=list(spec["scopes"]),
                authorized_orgs={keys[org] for org in spec.get("authorizedOrgs", [])})
            keys[spec["key"]] = app_id
        return world

    def client_secret(self, client_id: str) -> str | None:
        """The secret of a registered Integration or Service App client; None when unknown."""
        if client_id in self.integrations:
            return self.integrations[client_id].client_secret
        for app in self.service_apps.values():
            if app.client_id == client_id:
                return app.client_secret
        return None


def _uri_matches(pattern: str, uri: str) -> bool:
    if "*" not in pattern:
        return pattern == uri
    regex = re.escape(pattern).replace(r"\*", r"[0-9]{1,5}")
    return re.fullmatch(regex, uri) is not None
