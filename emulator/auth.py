"""Who is calling: the bearer token mapped to a seeded identity and its scopes."""

from __future__ import annotations

from flask import request

from .errors import WebexError, forbidden
from .state import Grant, app_state

ADMIN_KINDS = {"integration", "serviceApp"}


def current_grant() -> Grant:
    """The grant of the request's bearer token; 401 in Webex's words when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    grant = app_state().grants.get(token.strip()) if scheme.lower() == "bearer" else None
    if grant is None or grant.is_expired():
        raise WebexError(401, "The request requires a valid access token set in the Authorization "
                              "request header.")
    return grant


def caller() -> dict:
    """The person behind the request's token."""
    return app_state().people[current_grant().person_id]


def is_admin_token(grant: Grant) -> bool:
    """An admin token: an Integration/Service App token of an account holding an admin role."""
    return grant.kind in ADMIN_KINDS and bool(app_state().people[grant.person_id]["roles"])


def role_names(person: dict) -> set[str]:
    roles = app_state().roles
    return {roles[r]["name"] for r in person.get("roles", []) if r in roles}


def require_scope(grant: Grant, scope: str) -> None:
    """403 in Webex's words when the token lacks ``scope`` (the applications token call)."""
    if not grant.has_scope(scope):
        raise forbidden()
