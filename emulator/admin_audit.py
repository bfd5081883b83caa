"""``GET /v1/adminAudit/events`` and ``record``, which the emulator's admin APIs call.

Events have the shape of ``AuditEvent`` in ``webex-admin.json``: ``id``, ``actorId``,
``actorOrgId``, ``created`` and a ``data`` object (names, category, action text, tracking id).
Reading them needs an admin token of a Full or Read-only Administrator with
``spark-admin:audit_events_read``; ``orgId``, ``from`` and ``to`` are required, as in Webex.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from flask import Blueprint, g, jsonify, request

from . import auth
from .errors import bad_request, forbidden
from .ids import now_iso
from .state import State, app_state

blueprint = Blueprint("admin_audit", __name__, url_prefix="/v1")

SCOPE = "spark-admin:audit_events_read"
READ_ROLES = {"Full Administrator", "Read-only Administrator"}
CATEGORY = "EventCategory.CALLING"
MAX_PAGE = 200
ROLE_LABELS = {"Full Administrator": "Full_Admin"}


def record(state: State, *, actor: dict, org_id: str, description: str, action_text: str,
           category: str = CATEGORY) -> dict:
    """Append one admin audit event (call with ``state.lock`` held) and return it."""
    org_name = state.orgs[org_id]["displayName"]
    actor_org = state.orgs[actor["orgId"]]
    roles = sorted(auth.role_names(actor))
    event = {
        "data": {
            "actorOrgName": actor_org["displayName"],
            "targetName": org_name,
            "eventDescription": description,
            "actorName": actor["displayName"],
            "actorEmail": actor["emails"][0],
            "adminRoles": [ROLE_LABELS.get(role, "User") for role in roles],
            "trackingId": g.get("tracking_id", ""),
            "targetType": "TargetResourceType.ORG",
            "targetId": org_id,
            "eventCategory": category,
            "actorUserAgent": request.headers.get("User-Agent", ""),
            "actorIp": request.remote_addr or "",
            "targetOrgId": org_id,
            "actionText": action_text,
            "targetOrgName": org_name,
        },
        "created": now_iso(),
        "actorOrgId": actor["orgId"],
        "id": base64.b64encode(str(uuid.uuid4()).encode()).decode().rstrip("="),
        "actorId": actor["id"],
    }
    state.audit_events.append(event)
    return event


def _time(name: str) -> datetime:
    raw = request.args.get(name)
    if not raw:
        raise bad_request(f"Missing required query parameter: {name}.")
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"Invalid {name}: {raw!r} is not an ISO 8601 date and time.") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, str(default))
    try:
        value = int(raw)
    except ValueError as exc:
        raise bad_request(f"Invalid {name}: {raw!r}.") from exc
    if not low <= value <= high:
        raise bad_request(f"Invalid {name}: must be between {low} and {high}.")
    return value


@blueprint.get("/adminAudit/events")
def list_events():
    grant = auth.current_grant()
    person = auth.caller()
    if not auth.is_admin_token(grant) or not auth.role_names(person) & READ_ROLES \
            or not grant.has_scope(SCOPE):
        raise forbidden()
    org_id = request.args.get("orgId")
    if not org_id:
        raise bad_request("Missing required query parameter: orgId.")
    if org_id != person["orgId"]:
        raise forbidden()
    start, end = _time("from"), _time("to")
    if end - start > timedelta(days=366):
        raise bad_request("A maximum of one year of audit events can be returned per request.")
    size = _int("max", 100, 1, MAX_PAGE)
    offset = _int("offset", 0, 0, 10**9)
    actor = request.args.get("actorId")
    wanted = ",".join(request.args.getlist("eventCategories")).split(",")
    categories = {c.strip().removeprefix("EventCategory.") for c in wanted if c.strip()}
    state = app_state()
    with state.lock:
        events = [e for e in reversed(state.audit_events)
                  if e["data"]["targetOrgId"] == org_id
                  and start <= datetime.fromisoformat(e["created"].replace("Z", "+00:00")) < end
                  and (actor is None or e["actorId"] == actor)
                  and (not categories or
                       e["data"]["eventCategory"].removeprefix("EventCategory.") in categories)]
    response = jsonify({"items": events[offset:offset + size]})
    if offset + size < len(events):
        query = request.args.to_dict() | {"offset": str(offset + size), "max": str(size)}
        response.headers["Link"] = f'<{request.base_url}?{urlencode(query)}>; rel="next"'
    return response
