"""People and roles: who can see what about whom.

The bot decides who may change voicemail rules from a person's ``roles``, so the emulator must be as
strict as Webex about when they are shown: only on ``GET /people/{id}`` (and ``/people/me``), only
to an admin token of the person's own org holding ``spark-admin:people_read``. Lists never carry
them, and ``/roles`` is closed to bot and plain user tokens.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from .auth import current_grant, is_admin_token
from .errors import bad_request, forbidden, not_found
from .pagination import paginated
from .state import Grant, app_state, public_person

blueprint = Blueprint("people", __name__, url_prefix="/v1")

MAX_IDS = 85


def admin_view(grant: Grant, person: dict) -> bool:
    """Whether ``grant`` gets the enriched admin view (with ``roles``) of ``person``."""
    me = app_state().people[grant.person_id]
    return (is_admin_token(grant) and grant.has_scope("spark-admin:people_read")
            and me["orgId"] == person["orgId"])


def shown_person(grant: Grant, person: dict, *, detail: bool) -> dict:
    """``person`` as ``grant`` sees it; presence (``status``) only within the caller's org."""
    shown = public_person(person, with_roles=detail and admin_view(grant, person))
    if app_state().people[grant.person_id]["orgId"] != person["orgId"]:
        shown.pop("status", None)
    return shown


@blueprint.get("/people/me")
def get_me():
    grant = current_grant()
    with app_state().lock:
        return jsonify(shown_person(grant, app_state().people[grant.person_id], detail=True))


@blueprint.get("/people/<person_id>")
def get_person(person_id: str):
    grant = current_grant()
    with app_state().lock:
        person = app_state().people.get(person_id)
        if person is None:
            raise not_found("Person not found.")
        return jsonify(shown_person(grant, person, detail=True))


@blueprint.get("/people")
def list_people():
    """By ``id`` (any org), or by ``email``/``displayName`` within the caller's org; no roles."""
    grant = current_grant()
    ids = [i for i in request.args.get("id", "").split(",") if i]
    email, prefix = request.args.get("email"), request.args.get("displayName")
    if len(ids) > MAX_IDS:
        raise bad_request(f"At most {MAX_IDS} person IDs may be given.")
    if not (ids or email or prefix or is_admin_token(grant)):
        raise bad_request("Either email or displayName must be specified.")
    with app_state().lock:
        found = _matching(grant, ids, email, prefix)
        people = [shown_person(grant, p, detail=False) for p in found]
    return paginated(people)


def _matching(grant: Grant, ids: list[str], email: str | None, prefix: str | None) -> list[dict]:
    people = app_state().people
    if ids:
        found = [people[i] for i in ids if i in people]
    else:
        org_id = people[grant.person_id]["orgId"]
        found = [p for p in people.values() if p["orgId"] == org_id]
    if email:
        found = [p for p in found if email.lower() in (e.lower() for e in p["emails"])]
    if prefix:
        found = [p for p in found if p["displayName"].lower().startswith(prefix.lower())]
    return found


def require_roles_reader() -> None:
    """``/roles`` is for admin tokens with ``spark-admin:roles_read``; everyone else gets 403."""
    grant = current_grant()
    if not (is_admin_token(grant) and grant.has_scope("spark-admin:roles_read")):
        raise forbidden()


@blueprint.get("/roles")
def list_roles():
    # Webex documents no ``max`` for /roles; paging like every other list means a client that
    # follows ``Link`` (as the SDK does) is right whichever way Webex answers.
    require_roles_reader()
    with app_state().lock:
        roles = [dict(r) for r in app_state().roles.values()]
    return paginated(roles)


@blueprint.get("/roles/<role_id>")
def get_role(role_id: str):
    require_roles_reader()
    with app_state().lock:
        role = app_state().roles.get(role_id)
        if role is None:
            raise not_found("Role not found.")
        return jsonify(dict(role))
