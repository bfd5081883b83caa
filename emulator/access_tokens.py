"""``POST /v1/access_token``: Webex's OAuth token endpoint, authorization-code and refresh grants.

Form fields (``application/x-www-form-urlencoded``):

- ``grant_type=authorization_code``, ``client_id``, ``client_secret``, ``code``, ``redirect_uri``
  and, when the consent carried a ``code_challenge``, ``code_verifier`` (S256, RFC 7636).
- ``grant_type=refresh_token``, ``client_id``, ``client_secret``, ``refresh_token``; the clients
  are the seeded Integrations and Service Apps (a Service App's pair refreshes the same way with
  its own client id and secret), and any client a seeded token names.

Both answer ``{access_token, expires_in, refresh_token, refresh_token_expires_in, token_type:
"Bearer"}``. Access tokens live 14 days unless ``accessTokenSeconds`` is set (seed key,
``--access-token-seconds``, ``POST /_emulator/settings``); a refresh keeps the person (or machine
account) and scopes, and the old access token is removed at once so that it answers 401, which is
how the bot's refresh-on-401 path gets exercised. Webex keeps the refresh token and renews its
lifetime; set the seed key ``rotateRefreshTokens: true`` to get a new refresh token on every use.

Errors are in Webex's shape (``{message, errors: [{description}], trackingId}``, as every
``/v1`` answer; WEBEX_FACTS.md "Errors"), not RFC 6749's ``{error, error_description}``: Webex
fronts its identity broker and answers its own way. The RFC's error code starts the message in
parentheses so that a client can tell them apart: ``(invalid_client)`` with 401, and
``(invalid_request)``, ``(invalid_grant)``, ``(unsupported_grant_type)`` with 400. The exact text
Webex uses is an assumption; status codes and shape are what a client should rely on.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import replace

from flask import Blueprint, jsonify, request

from .errors import WebexError
from .oauth import access_token_seconds, issue, pkce_matches, token_answer
from .state import Grant, State, app_state

blueprint = Blueprint("access_tokens", __name__, url_prefix="/v1")


def oauth_error(status: int, code: str, description: str) -> WebexError:
    return WebexError(status, f"({code}) {description}")


@blueprint.post("/access_token")
def access_token():
    form = request.form
    grant_type = form.get("grant_type")
    fields = {"refresh_token": ("client_id", "client_secret", "refresh_token"),
              "authorization_code": ("client_id", "client_secret", "code", "redirect_uri")}
    if grant_type not in fields:
        raise oauth_error(400, "unsupported_grant_type", "Unsupported grant_type: use "
                          "authorization_code or refresh_token.")
    for name in fields[grant_type]:
        if not form.get(name):
            raise oauth_error(400, "invalid_request", f"Missing required parameter: {name}.")
    world = app_state()
    with world.lock:
        _check_client(world, form["client_id"], form["client_secret"])
        grant = (_exchange_code(world) if grant_type == "authorization_code"
                 else _refresh(world))
    return jsonify(token_answer(grant))


def _check_client(world: State, client_id: str, client_secret: str) -> None:
    secrets_known = [world.oauth.client_secret(client_id)]
    secrets_known += [g.client_secret for g in world.grants.values() if g.client_id == client_id]
    if not any(known and secrets.compare_digest(known, client_secret) for known in secrets_known):
        raise oauth_error(401, "invalid_client", "Invalid client_id or client_secret.")


def _exchange_code(world: State) -> Grant:
    form = request.form
    code = world.oauth.codes.get(form["code"])
    if code is None or code.client_id != form["client_id"]:
        raise oauth_error(400, "invalid_grant", "The authorization code is invalid.")
    if code.used:
        for token in code.issued_tokens:  # RFC 6749 4.1.2: revoke what a replayed code gave
            world.grants.pop(token, None)
        raise oauth_error(400, "invalid_grant", "The authorization code has already been used.")
    if time.time() > code.expires_at:
        raise oauth_error(400, "invalid_grant", "The authorization code has expired.")
    if code.redirect_uri != form["redirect_uri"]:
        raise oauth_error(400, "invalid_grant", "The redirect_uri does not match the one of the "
                          "authorization request.")
    if not pkce_matches(code, form.get("code_verifier")):
        raise oauth_error(400, "invalid_grant", "The code_verifier does not match the "
                          "code_challenge.")
    code.used = True
    secret = world.oauth.client_secret(code.client_id) or form["client_secret"]
    grant = issue(world, person_id=code.person_id, kind="integration", scopes=code.scopes,
                  client_id=code.client_id, client_secret=secret)
    code.issued_tokens.append(grant.token)
    return grant


def _refresh(world: State) -> Grant:
    form = request.form
    old = next((g for g in world.grants.values() if g.client_id == form["client_id"]
                and g.refresh_token
                and secrets.compare_digest(g.refresh_token, form["refresh_token"])), None)
    if old is None:
        raise oauth_error(400, "invalid_grant", "Invalid refresh_token: it is unknown, expired or "
                          "revoked.")
    refresh = (secrets.token_urlsafe(48) if world.seed.get("rotateRefreshTokens")
               else old.refresh_token)
    # the configured lifetime; without one, the seeded lifetime (or Webex's, for a token that was
    # issued while a short lifetime was set)
    seconds = (access_token_seconds(world) if world.oauth.access_token_seconds or old.expires_at
               else old.expires_in)
    new = replace(old, token=secrets.token_urlsafe(48), refresh_token=refresh, expired=False,
                  scopes=list(old.scopes), expires_in=seconds,
                  expires_at=time.time() + seconds if world.oauth.access_token_seconds else None)
    del world.grants[old.token]
    world.grants[new.token] = new
    return new
