"""``POST /v1/access_token``: trade a refresh token for a new access token, as Webex's OAuth does.

Form fields ``grant_type=refresh_token``, ``client_id``, ``client_secret``, ``refresh_token``.
The new access token stands for the same person and scopes; the old one is removed at once so
that it answers 401, which is how the bot's refresh-on-401 path gets exercised. Webex keeps the
refresh token and renews its lifetime; set the seed key ``rotateRefreshTokens: true`` to get a
new refresh token on every use instead.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from flask import Blueprint, jsonify, request

from .errors import WebexError, bad_request
from .state import app_state

blueprint = Blueprint("access_tokens", __name__, url_prefix="/v1")

REFRESH_TOKEN_EXPIRES_IN = 7776000  # 90 days


@blueprint.post("/access_token")
def refresh_access_token():
    form = request.form
    if form.get("grant_type") != "refresh_token":
        raise bad_request("Unsupported grant_type: only refresh_token is supported here.")
    for field in ("client_id", "client_secret", "refresh_token"):
        if not form.get(field):
            raise bad_request(f"Missing required parameter: {field}.")
    state = app_state()
    with state.lock:
        clients = [g for g in state.grants.values() if g.client_id == form["client_id"]]
        if not clients or not any(secrets.compare_digest(g.client_secret or "",
                                                         form["client_secret"]) for g in clients):
            raise WebexError(401, "Invalid client_id or client_secret.")
        old = next((g for g in clients if g.refresh_token
                    and secrets.compare_digest(g.refresh_token, form["refresh_token"])), None)
        if old is None:
            raise bad_request("Invalid refresh_token: it is unknown, expired or revoked.")
        refresh = (secrets.token_urlsafe(48) if state.seed.get("rotateRefreshTokens")
                   else old.refresh_token)
        new = replace(old, token=secrets.token_urlsafe(48), refresh_token=refresh, expired=False,
                      scopes=list(old.scopes))
        del state.grants[old.token]
        state.grants[new.token] = new
    return jsonify({"access_token": new.token, "expires_in": new.expires_in,
                    "refresh_token": refresh, "refresh_token_expires_in": REFRESH_TOKEN_EXPIRES_IN,
                    "token_type": "Bearer"})
