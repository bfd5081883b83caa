"""``/v1/webhooks``: create, list, read, update and delete the calling person's webhooks.

Webhooks belong to the person behind the token (``createdBy``); someone else's webhook is a 404,
as in Webex. Answers carry the fields Webex shows (including ``secret``, which Webex returns to
the webhook's owner). ``PUT`` with ``status: "active"`` revives a webhook disabled after failed
deliveries and forgets those failures.
"""

from __future__ import annotations

import re
from typing import Literal, overload

from flask import Blueprint, jsonify, request

from . import auth
from .errors import WebexError, bad_request, not_found
from .ids import now_iso, seeded_id, webex_id
from .pagination import paginated
from .state import app_state

blueprint = Blueprint("webhooks", __name__, url_prefix="/v1")

RESOURCES = {"all", "attachmentActions", "dataSources", "memberships", "messages", "rooms",
             "meetings", "recordings", "convergedRecordings", "meetingParticipants",
             "meetingTranscripts", "telephony_calls", "telephony_conference", "telephony_mwi",
             "uc_counters", "serviceApp", "adminBatchJobs"}
EVENTS = {"all", "created", "updated", "deleted", "started", "ended", "joined", "left",
          "migrated", "authorized", "deauthorized", "statusChanged"}
# Filter keys Webex documents for the resources the emulator produces events for.
FILTER_KEYS = {
    "messages": {"roomId", "roomType", "personId", "personEmail", "mentionedPeople", "hasFiles",
                 "mentionedGroups"},
    "attachmentActions": {"roomId", "messageId", "personId"},
    "memberships": {"roomId", "personId", "personEmail", "isModerator"},
    "rooms": {"type", "isLocked"},
}
_FILTER = re.compile(r"^[A-Za-z]+=[^&=]+(&[A-Za-z]+=[^&=]+)*$")
_URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)
# Webex answers 403 when the token lacks read scope on the webhook's resource.
READ_SCOPES = {"messages": "spark:messages_read", "attachmentActions": "spark:messages_read",
               "memberships": "spark:memberships_read", "rooms": "spark:rooms_read"}


def _state():
    return app_state()


FIELD_ORDER = ("id", "name", "targetUrl", "resource", "event", "filter", "secret", "orgId",
               "createdBy", "appId", "ownedBy", "status", "created")


def public(webhook: dict) -> dict:
    """The webhook as its owner sees it, in Webex's field order (the secret included)."""
    return {key: webhook[key] for key in FIELD_ORDER if key in webhook}


def _body() -> dict:
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


@overload
def _text(body: dict, name: str, *, required: Literal[True]) -> str: ...


@overload
def _text(body: dict, name: str, *, required: Literal[False]) -> str | None: ...


def _text(body: dict, name: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise bad_request(f"Missing required field: {name}.")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise bad_request(f"Invalid {name}: must be a non-empty string.")
    return value


def _check_target(url: str) -> None:
    if not _URL.match(url):
        raise bad_request(f"Invalid targetUrl {url!r}: must be an http or https URL.")


def _check_filter(resource: str, text: str) -> None:
    if not _FILTER.match(text):
        raise bad_request(f"Invalid filter {text!r}: expected key=value pairs joined with '&'.")
    allowed = FILTER_KEYS.get(resource)
    if allowed is None:
        return
    for clause in text.split("&"):
        key = clause.partition("=")[0]
        if key not in allowed:
            raise bad_request(f"Invalid filter key {key!r} for resource {resource}: "
                              f"expected one of {', '.join(sorted(allowed))}.")


def _check_owned_by(grant, value: str | None) -> str:
    if value in (None, "creator"):
        return "creator"
    if value != "org":
        raise bad_request("Invalid ownedBy: must be 'creator' or 'org'.")
    if not auth.is_admin_token(grant):
        raise WebexError(403, "Only an administrator can create an org-wide webhook.")
    return "org"


def _own(webhook_id: str) -> dict:
    person_id = auth.current_grant().person_id
    webhook = _state().webhooks.get(webhook_id)
    if webhook is None or webhook["createdBy"] != person_id:
        raise not_found("Webhook not found.")
    return webhook


def app_id(grant) -> str:
    """A stable application id per integration/bot/personal token, like Webex's ``appId``."""
    return seeded_id("APPLICATION", grant.client_id or f"{grant.kind}:{grant.person_id}")


@blueprint.post("/webhooks")
def create_webhook():
    grant = auth.current_grant()
    body = _body()
    name = _text(body, "name", required=True)
    target = _text(body, "targetUrl", required=True)
    resource = _text(body, "resource", required=True)
    event = _text(body, "event", required=True)
    if resource not in RESOURCES:
        raise bad_request(f"Invalid resource {resource!r}: expected one of "
                          f"{', '.join(sorted(RESOURCES))}.")
    if event not in EVENTS:
        raise bad_request(f"Invalid event {event!r}: expected one of {', '.join(sorted(EVENTS))}.")
    _check_target(target)
    scope = READ_SCOPES.get(resource)
    if scope and not (grant.has_scope("spark:all") or grant.has_scope(scope)):
        raise WebexError(403, f"Creating a {resource} webhook needs the {scope} scope.")
    filter_text = _text(body, "filter", required=False)
    if filter_text:
        _check_filter(resource, filter_text)
    secret = _text(body, "secret", required=False)
    owned_by = _check_owned_by(grant, body.get("ownedBy"))
    person = auth.caller()
    webhook = {"id": webex_id("WEBHOOK"), "name": name, "targetUrl": target,
               "resource": resource, "event": event}
    if filter_text:
        webhook["filter"] = filter_text
    if secret:
        webhook["secret"] = secret
    webhook.update({"orgId": person["orgId"], "createdBy": person["id"], "appId": app_id(grant),
                    "ownedBy": owned_by, "status": "active", "created": now_iso()})
    with _state().lock:
        _state().webhooks[webhook["id"]] = webhook
    return jsonify(public(webhook))


@blueprint.get("/webhooks")
def list_webhooks():
    person_id = auth.current_grant().person_id
    owned_by = request.args.get("ownedBy")
    if owned_by not in (None, "org"):
        raise bad_request("Invalid ownedBy: the only allowed value is 'org'.")
    with _state().lock:
        items = [public(w) for w in _state().webhooks.values()
                 if w["createdBy"] == person_id and (owned_by is None or w["ownedBy"] == "org")]
    return paginated(items)


@blueprint.get("/webhooks/<webhook_id>")
def get_webhook(webhook_id: str):
    with _state().lock:
        return jsonify(public(_own(webhook_id)))


@blueprint.put("/webhooks/<webhook_id>")
def update_webhook(webhook_id: str):
    grant = auth.current_grant()
    body = _body()
    name = _text(body, "name", required=True)
    target = _text(body, "targetUrl", required=True)
    _check_target(target)
    secret = _text(body, "secret", required=False)
    status = body.get("status")
    if status not in (None, "active"):
        raise bad_request("Invalid status: the only value a PUT accepts is 'active'.")
    with _state().lock:
        webhook = _own(webhook_id)
        for fixed in ("resource", "event", "filter"):
            if fixed in body and body[fixed] != webhook.get(fixed):
                raise bad_request(f"{fixed} cannot be changed; delete the webhook and create a "
                                  "new one.")
        owned_by = _check_owned_by(grant, body.get("ownedBy", webhook["ownedBy"]))
        webhook.update({"name": name, "targetUrl": target, "ownedBy": owned_by})
        if secret is not None:
            if secret:
                webhook["secret"] = secret
            else:
                webhook.pop("secret", None)
        if status == "active":
            webhook["status"] = "active"
            _state().webhook_failures.pop(webhook_id, None)
        return jsonify(public(webhook))


@blueprint.delete("/webhooks/<webhook_id>")
def delete_webhook(webhook_id: str):
    with _state().lock:
        _own(webhook_id)
        del _state().webhooks[webhook_id]
        _state().webhook_failures.pop(webhook_id, None)
    return "", 204
