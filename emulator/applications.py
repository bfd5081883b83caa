"""``POST /v1/applications/{applicationId}/token``: a Service App's token pair for one org.

As Webex's "Create Service App Access Token" (official description, webex-admin.json,
``createServiceAppAccessToken``): called with a token holding ``spark:applications_token`` (the
developer's Integration), JSON body ``{clientId, clientSecret, targetOrgId}``; answers ``{access_token,
expires_in, refresh_token, refresh_token_expires_in, token_type}`` for the org when a Full Admin of
that org has authorized the Service App (in Control Hub; here through the control API,
``PUT``/``DELETE /_emulator/serviceApps/{applicationId}/orgs/{orgId}``). The token belongs to the
Service App's machine account in that org and carries the Service App's scopes; it refreshes
through ``POST /v1/access_token`` with the Service App's client id and secret.

Refusals, in Webex's error shape, with the statuses the description documents: 401 without a
valid token; 403 when the token lacks ``spark:applications_token``; 404 for an unknown
application id; 400 for a body without the three fields; 401 when the client id or secret is not
the Service App's (assumption: the description's example says "Invalid client credentials" but
not with which status); 403 when the Service App is not authorized in ``targetOrgId`` (or the org
is unknown). Each call gives a new pair; the earlier pairs of the org keep working until they
expire (assumption). The access tokens live as long as Integration ones (14 days) unless
``accessTokenSeconds`` is set (assumption: the description's example shows 3600).
"""

from __future__ import annotations

import secrets

from flask import Blueprint, jsonify, request

from . import auth
from .errors import WebexError, bad_request, forbidden, not_found
from .oauth import issue, machine_account, token_answer
from .state import app_state

blueprint = Blueprint("applications", __name__, url_prefix="/v1")


@blueprint.post("/applications/<application_id>/token")
def service_app_token(application_id: str):
    grant = auth.current_grant()
    auth.require_scope(grant, "spark:applications_token")
    world = app_state()
    with world.lock:
        app = world.oauth.service_apps.get(application_id)
        if app is None:
            raise not_found("Service App not found.")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        for name in ("clientId", "clientSecret", "targetOrgId"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise bad_request(f"{name} is required.")
        if not (secrets.compare_digest(body["clientId"], app.client_id)
                and secrets.compare_digest(body["clientSecret"], app.client_secret)):
            raise WebexError(401, "Invalid client credentials",
                             description="The provided clientId or clientSecret is invalid")
        org_id = body["targetOrgId"]
        if org_id not in app.authorized_orgs:
            raise forbidden("The Service App is not authorized in the target organization: a "
                            "Full Administrator must authorize it in Control Hub.")
        person_id = machine_account(world, app, org_id)
        token = issue(world, person_id=person_id, kind="serviceApp", scopes=app.scopes,
                      client_id=app.client_id, client_secret=app.client_secret)
    return jsonify(token_answer(token))
