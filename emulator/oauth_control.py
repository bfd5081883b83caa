"""Control calls for onboarding (outside ``/v1``; for tests, the demo and the local space).

- ``GET /_emulator/settings``: ``{accessTokenSeconds}`` (null: Webex's 14 days)
- ``POST /_emulator/settings`` ``{accessTokenSeconds: N | null}``: access tokens issued from now on
  (code exchange, refresh, Service App token) expire after N seconds, then answer 401; back to
  the seed value (``accessTokenSeconds``, or ``--access-token-seconds``) on reset
- ``GET /_emulator/integrations``: ``{items: [{clientId, clientSecret, name, scopes,
  redirectUris}]}``
- ``POST /_emulator/integrations/<clientId>/redirectUris`` ``{redirectUri}``: register one more
  redirect URI (exact, or with ``*`` for the port); answers the Integration
- ``GET /_emulator/serviceApps``: ``{items: [{id, key, name, clientId, clientSecret, scopes,
  authorizedOrgIds}]}``
- ``PUT /_emulator/serviceApps/<applicationId>/orgs/<orgId>``: a Full Admin of the org authorizes
  the Service App (204); ``DELETE``: deauthorizes it, and its tokens in that org stop working
  (assumption: Webex revokes them). Ids or seed keys (``vmrules-service-app``, ``acme``).
- ``GET /_emulator/authorizations``: ``{pending: [{id, integration, scopes, url, created}]}``,
  the consent pages opened and not yet answered (the local space lists them)
"""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify, request

from .errors import bad_request, not_found
from .oauth_state import Integration, ServiceApp
from .state import State, app_state

blueprint = Blueprint("oauth_control", __name__, url_prefix="/_emulator")


def register_blueprints(app: Flask) -> None:
    """The onboarding endpoints (``oauth``, ``applications``) and these control calls."""
    from . import applications, oauth

    for module in (oauth, applications):
        app.register_blueprint(module.blueprint)
    app.register_blueprint(blueprint)


def _state() -> State:

    return app_state()


def _integration_json(integration: Integration) -> dict:
    return {"clientId": integration.client_id, "clientSecret": integration.client_secret,
            "name": integration.name, "scopes": list(integration.scopes),
            "redirectUris": list(integration.redirect_uris)}


def _service_app_json(app: ServiceApp) -> dict:
    return {"id": app.id, "key": app.key, "name": app.name, "clientId": app.client_id,
            "clientSecret": app.client_secret, "scopes": list(app.scopes),
            "authorizedOrgIds": sorted(app.authorized_orgs)}


@blueprint.get("/settings")
def get_settings():
    return jsonify({"accessTokenSeconds": _state().oauth.access_token_seconds})


@blueprint.post("/settings")
def set_settings():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise bad_request("Settings are a JSON object.")
    if "accessTokenSeconds" in body:
        seconds = body["accessTokenSeconds"]
        if seconds is not None and (not isinstance(seconds, int) or isinstance(seconds, bool)
                                    or seconds < 1):
            raise bad_request("accessTokenSeconds must be a positive whole number or null.")
        with _state().lock:
            _state().oauth.access_token_seconds = seconds
    return get_settings()


@blueprint.get("/integrations")
def integrations():
    with _state().lock:
        return jsonify({"items": [_integration_json(i)
                                  for i in _state().oauth.integrations.values()]})


@blueprint.post("/integrations/<client_id>/redirectUris")
def add_redirect_uri(client_id: str):
    uri = (request.get_json(silent=True) or {}).get("redirectUri")
    if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
        raise bad_request("redirectUri must be an http(s) URL.")
    with _state().lock:
        integration = _state().oauth.integrations.get(client_id)
        if integration is None:
            raise not_found("Unknown Integration.")
        if uri not in integration.redirect_uris:
            integration.redirect_uris.append(uri)
        return jsonify(_integration_json(integration))


@blueprint.get("/serviceApps")
def service_apps():
    with _state().lock:
        return jsonify({"items": [_service_app_json(a)
                                  for a in _state().oauth.service_apps.values()]})


def _app_and_org(application_id: str, org_id: str) -> tuple[ServiceApp, str]:
    world = _state()
    app = world.oauth.service_apps.get(world.keys.get(application_id, application_id))
    if app is None:
        raise not_found("Unknown Service App.")
    org_id = world.keys.get(org_id, org_id)
    if org_id not in world.orgs:
        raise not_found("Unknown org.")
    return app, org_id


@blueprint.put("/serviceApps/<application_id>/orgs/<org_id>")
def authorize_service_app(application_id: str, org_id: str):
    with _state().lock:
        app, org = _app_and_org(application_id, org_id)
        app.authorized_orgs.add(org)
    return "", 204


@blueprint.delete("/serviceApps/<application_id>/orgs/<org_id>")
def deauthorize_service_app(application_id: str, org_id: str):
    world = _state()
    with world.lock:
        app, org = _app_and_org(application_id, org_id)
        app.authorized_orgs.discard(org)
        for token, grant in list(world.grants.items()):
            if (grant.kind == "serviceApp" and grant.client_id == app.client_id
                    and world.people[grant.person_id]["orgId"] == org):
                del world.grants[token]
    return "", 204


@blueprint.get("/authorizations")
def pending_authorizations():
    world = _state()
    with world.lock:
        pending = [{"id": r.id, "integration": world.oauth.integrations[r.client_id].name
                    if r.client_id in world.oauth.integrations else r.client_id,
                    "scopes": list(r.scopes), "url": r.url, "created": r.created}
                   for r in world.oauth.requests.values() if not r.stale()]
    return jsonify({"pending": pending})
