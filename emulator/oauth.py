"""Webex's OAuth for Integrations: the consent page at ``/v1/authorize`` and the tokens it leads to.

``GET /v1/authorize?client_id&response_type=code&redirect_uri&scope&state[&code_challenge
&code_challenge_method=S256]`` checks the request and shows a consent page in the local space's
look: the Integration's name, the scopes asked, a choice of who consents (the seeded people; on
Webex that is whoever signs in) and Allow / Deny. The form posts back to ``POST /v1/authorize``,
which redirects (302) to ``redirect_uri?code=...&state=...`` or
``redirect_uri?error=access_denied&state=...``. ``POST /v1/access_token`` (``access_tokens.py``)
then exchanges the code.

Faithful to Webex (developer.webex.com "Integrations & Authorization", WEBEX_FACTS.md) and to
RFC 6749 / RFC 7636 where Webex's documentation says nothing:

- An unknown ``client_id`` or a ``redirect_uri`` not registered on the Integration gives an error
  page, never a redirect (RFC 6749 4.1.2.1: the redirect target cannot be trusted).
- Every other problem with a trusted redirect URI is redirected as RFC 6749 4.1.2.1 says:
  ``error=unsupported_response_type``, ``error=invalid_scope`` (no scope, or a scope the
  Integration did not register: on Webex an Integration may only ask the scopes it was created
  with), ``error=invalid_request`` (a ``code_challenge_method`` other than ``S256``: Webex
  recommends S256 and the emulator does not accept ``plain``, so a client that works here uses
  what Webex recommends), always with ``state`` and an ``error_description``.
- PKCE is optional, as on Webex: without ``code_challenge`` the code needs no ``code_verifier``.
- The code is single use and lives ``AUTH_CODE_SECONDS`` (5 minutes). Webex does not publish the
  lifetime; RFC 6749 4.1.2 recommends at most 10 minutes. A code used twice is refused and the
  tokens it gave are revoked (RFC 6749 4.1.2, "SHOULD").
- The token acts as the person who consented, in their org, with the scopes asked. Admin scopes
  are granted to anyone who consents (assumption): the admin APIs then refuse by role, as they do
  for every token here, so a non-admin's token fails where a real one would.
- The consenting person is chosen on the page (an extra ``personId`` query parameter, which
  Webex does not have, preselects one for demos and tests); the page is served under ``/v1``
  so that it lands in the call log, and the form carries only the id of the checked request, so
  nothing asked can be changed between the page and the answer.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, redirect, render_template, request
from werkzeug.wrappers import Response

from .oauth_state import AUTH_CODE_SECONDS, AuthCode, AuthRequest, ServiceApp
from .state import Grant, State, app_state

blueprint = Blueprint("oauth", __name__, url_prefix="/v1", template_folder="templates")

DEFAULT_ACCESS_TOKEN_SECONDS = 1209600  # 14 days, Webex's Integration access tokens
REFRESH_TOKEN_EXPIRES_IN = 7776000  # 90 days

SCOPE_TEXT = {  # what the consent page says for each scope (Webex shows a sentence per scope)
    "spark:all": "Use all of Webex as you (messages, spaces, people)",
    "spark:kms": "Use the key management service for encrypted content",
    "spark:people_read": "Read your company directory",
    "spark-admin:people_read": "Read people in your organization, with their admin roles",
    "spark-admin:roles_read": "Read the admin roles of your organization",
    "spark-admin:telephony_config_read": "Read your organization's calling settings",
    "spark-admin:telephony_config_write": "Change your organization's calling settings",
    "spark-admin:audit_events_read": "Read your organization's admin audit events",
    "spark:applications_token": "Get tokens for Service Apps authorized in organizations",
}


# --- tokens ---------------------------------------------------------------------------------------

def access_token_seconds(world: State) -> int:
    return world.oauth.access_token_seconds or DEFAULT_ACCESS_TOKEN_SECONDS


def issue(world: State, *, person_id: str, kind: str, scopes: list[str], client_id: str,
          client_secret: str, refresh_token: str | None = None) -> Grant:
    """A new access token (and refresh token unless given) with the configured lifetime."""
    seconds = access_token_seconds(world)
    grant = Grant(token=secrets.token_urlsafe(48), person_id=person_id, kind=kind,
                  scopes=list(scopes), refresh_token=refresh_token or secrets.token_urlsafe(48),
                  client_id=client_id, client_secret=client_secret, expires_in=seconds,
                  expires_at=time.time() + seconds if world.oauth.access_token_seconds else None)
    world.grants[grant.token] = grant
    return grant


def token_answer(grant: Grant) -> dict:
    """The JSON body of ``/access_token`` and ``/applications/{id}/token``."""
    return {"access_token": grant.token, "expires_in": grant.expires_in,
            "refresh_token": grant.refresh_token, "refresh_token_expires_in": REFRESH_TOKEN_EXPIRES_IN,
            "token_type": "Bearer"}


def pkce_matches(code: AuthCode, verifier: str | None) -> bool:
    """RFC 7636 4.6: ``BASE64URL(SHA256(verifier)) == challenge``; no challenge, no check."""
    if code.code_challenge is None:
        return True
    if not verifier:
        return False
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return secrets.compare_digest(computed, code.code_challenge)


def machine_account(world: State, app: ServiceApp, org_id: str) -> str:
    """The id of the Service App's machine account in ``org_id``, made on first use.

    Webex provisions a machine account in each org that authorizes a Service App. Here it is a
    ``bot``-type account (assumption: Webex does not document the type) holding the Full
    Administrator role, since a Full Admin's authorization is what gives it its admin rights;
    the Service App's scopes limit what it can do.
    """
    from .ids import now_iso, seeded_id

    person_id = seeded_id("PEOPLE", f"machine:{app.id}:{org_id}")
    if person_id not in world.people:
        org_key = world.org_keys.get(org_id, "org")
        full_admin = [r for r, role in world.roles.items() if role["name"] == "Full Administrator"]
        world.people[person_id] = {
            "id": person_id, "emails": [f"{app.key}@{org_key}.machine.example"],
            "displayName": app.name, "nickName": app.name, "orgId": org_id, "roles": full_admin,
            "created": now_iso(), "status": "active", "type": "bot",
            "_persona": f"{app.name} (machine account)", "_key": f"{app.key}@{org_key}",
        }
    return person_id


# --- the consent page -------------------------------------------------------------------------

def _error_page(message: str, status: int = 400) -> tuple[str, int]:
    return render_template("oauth_error.html", message=message), status


def _with_query(uri: str, params: dict[str, str | None]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _redirect_error(uri: str, error: str, description: str, state_value: str | None) -> Response:
    return redirect(_with_query(uri, {"error": error, "error_description": description,
                                      "state": state_value}), code=302)


@blueprint.get("/authorize")
def authorize():
    args = request.args
    world = app_state()
    with world.lock:
        integration = world.oauth.integrations.get(args.get("client_id", ""))
        if integration is None:
            return _error_page("The client_id is not that of a registered Integration.")
        redirect_uri = args.get("redirect_uri", "")
        if not integration.allows_redirect(redirect_uri):
            return _error_page("The redirect_uri is not one registered on this Integration.")
        state_value = args.get("state")
        if args.get("response_type") != "code":
            return _redirect_error(redirect_uri, "unsupported_response_type",
                                   "response_type must be code.", state_value)
        scopes = [s for s in args.get("scope", "").split(" ") if s]
        unknown = [s for s in scopes if s not in integration.scopes]
        if not scopes or unknown:
            return _redirect_error(redirect_uri, "invalid_scope",
                                   "The requested scope is invalid, unknown, or malformed: "
                                   + (" ".join(unknown) or "no scope"), state_value)
        challenge = args.get("code_challenge") or None
        method = args.get("code_challenge_method") or None
        if challenge is not None and (method or "plain") != "S256":
            return _redirect_error(redirect_uri, "invalid_request",
                                   "code_challenge_method must be S256.", state_value)
        if challenge is None and method is not None:
            return _redirect_error(redirect_uri, "invalid_request",
                                   "code_challenge_method without code_challenge.", state_value)
        for stale in [r for r in world.oauth.requests.values() if r.stale()]:
            del world.oauth.requests[stale.id]
        pending = AuthRequest(id=secrets.token_urlsafe(24), client_id=integration.client_id,
                              redirect_uri=redirect_uri, scopes=scopes, state=state_value,
                              code_challenge=challenge, code_challenge_method=method,
                              url=request.full_path)
        same = _same_request(world, pending)  # the page opened again (reload, the space's link)
        if same is not None:
            pending = same
        world.oauth.requests[pending.id] = pending
        people = [p for p in world.people.values() if p["type"] == "person"]
        orgs = {org_id: org["displayName"] for org_id, org in world.orgs.items()}
        chosen = request.args.get("personId", "")
        choices = [{"id": p["id"], "label": f"{p['displayName']} ({p['emails'][0]}, "
                    f"{orgs.get(p['orgId'], '')}, {p['_persona'] or 'no admin role'})",
                    "selected": p["id"] == chosen} for p in people]
        return render_template(
            "oauth_consent.html", integration=integration.name, request_id=pending.id,
            scopes=[(s, SCOPE_TEXT.get(s, s)) for s in scopes], people=choices,
            redirect_host=urlsplit(redirect_uri).netloc)


def _same_request(world: State, new: AuthRequest) -> AuthRequest | None:
    fields = ("client_id", "redirect_uri", "scopes", "state", "code_challenge",
              "code_challenge_method")
    return next((r for r in world.oauth.requests.values()
                 if all(getattr(r, f) == getattr(new, f) for f in fields)), None)


@blueprint.post("/authorize")
def consent():
    form = request.form
    world = app_state()
    with world.lock:
        pending = world.oauth.requests.pop(form.get("requestId", ""), None)
        if pending is None or pending.stale():
            return _error_page("This authorization request is unknown or has expired: start again "
                               "from the application.")
        integration = world.oauth.integrations.get(pending.client_id)
        if integration is None:
            return _error_page("The Integration no longer exists.")
        if form.get("decision") != "allow":
            return redirect(_with_query(pending.redirect_uri, {"error": "access_denied",
                                                               "state": pending.state}), code=302)
        person = world.people.get(form.get("personId", ""))
        if person is None or person["type"] != "person":
            world.oauth.requests[pending.id] = pending
            return _error_page("Choose who is signing in.")
        now = time.time()
        for old in [c for c in world.oauth.codes.values() if c.expires_at < now - 3600]:
            del world.oauth.codes[old.code]
        code = AuthCode(code=secrets.token_urlsafe(32), client_id=pending.client_id,
                        redirect_uri=pending.redirect_uri, person_id=person["id"],
                        scopes=pending.scopes, code_challenge=pending.code_challenge,
                        code_challenge_method=pending.code_challenge_method,
                        expires_at=now + AUTH_CODE_SECONDS)
        world.oauth.codes[code.code] = code
    return redirect(_with_query(pending.redirect_uri, {"code": code.code, "state": pending.state}),
                    code=302)
