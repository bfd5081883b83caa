"""Organizations: ``GET /v1/organizations`` and ``GET /v1/organizations/{orgId}``, as Webex's
Organizations API answers them (``{id, displayName, created}``; the list unpaginated).

Webex documents the resource as visible to admins; which scope it asks of an Integration is not
stated in the descriptions this project carries (``spark-admin:organizations_read`` is the likely
one, *unconfirmed*). So here: an admin token sees its own org (403 for any other, as for an org
it does not manage), and any other token is refused (403), whatever its scopes.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from .auth import current_grant, is_admin_token
from .errors import forbidden, not_found
from .state import app_state

blueprint = Blueprint("organizations", __name__, url_prefix="/v1")


def _own_org_id() -> str:
    grant = current_grant()
    if not is_admin_token(grant):
        raise forbidden()
    return app_state().people[grant.person_id]["orgId"]


@blueprint.get("/organizations")
def list_organizations():
    own = _own_org_id()
    with app_state().lock:
        return jsonify({"items": [dict(app_state().orgs[own])]})


@blueprint.get("/organizations/<org_id>")
def get_organization(org_id: str):
    own = _own_org_id()
    with app_state().lock:
        org = app_state().orgs.get(org_id)
        if org is None:
            raise not_found("Organization not found.")
        if org_id != own:
            raise forbidden()
        return jsonify(dict(org))
