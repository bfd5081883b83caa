"""The control API outside ``/v1``: for tests, benchmarks and the demo, never for the bot.

- ``GET /_emulator/directory``: seed keys to ids, and the tokens of each person
- ``GET /_emulator/orgs[?generated=true|false]``: each org with its seed key, whether ``--orgs``
  made it, the Service Apps authorized in it, and its people with their roles, tokens and 1:1
  space with the bot (what a benchmark needs to act as each org's admin)
- ``POST /_emulator/faults`` ``{method, path, orgId, status, retryAfter, latencyMs, delayAfterMs,
  drop, count, skip}`` (``delayAfterMs``: carried out, then answered late; ``orgId``, an org id or
  seed key: only calls made with a token of that org); ``GET`` lists them (``items``; ``spent``:
  counted faults already used up, with their hits); ``DELETE`` clears them all. Any status is
  answered in Webex's error shape (``{message, errors, trackingId}``): e.g.
  ``{"method": "GET", "path": "/v1/messages/*", "status": 404}`` makes a message look deleted,
  ``/v1/attachment/actions/*`` a submit gone, ``{"orgId": "initech", "status": 429,
  "retryAfter": 30}`` rate-limits one org's tokens
- ``GET /_emulator/calls``: call counts per endpoint; ``DELETE`` zeroes them (and the peaks);
  ``GET /_emulator/calls/log`` (each call with its caller and the caller's org, ``callerOrgId``;
  the latest 2000 calls, or ``--call-log-size``)
- ``GET /_emulator/calls/peak``: the most calls to ``/v1`` answered at once since the last
  ``DELETE /_emulator/calls`` (``peak``, and ``byEndpoint``), and how many are in flight now
  (``inFlight``): a call counts from its arrival until its answer is ready, injected latency
  and a late answer (``delayAfterMs``) included
- ``GET /_emulator/deliveries``: webhook delivery results, newest last
- ``POST /_emulator/deliveries/wait?timeout=S``: wait until no webhook delivery is pending
- ``GET /_emulator/voicemail-rules[?orgId=]``: an org's rules as stored (default: the managed
  org; an org id or seed key), with whether a PIN is set
- ``PUT /_emulator/webhooks/<id>/status`` ``{status}``: force a webhook inactive, as Webex does
- ``PUT /_emulator/people/<id>`` ``{displayName}``: rename a person at run time (any text Webex
  would take: an admin may type anything into a name, markup and line breaks included)
- ``POST /_emulator/tokens/<token>/expire``: the access token answers 401 from now on
- ``POST /_emulator/reset[?keepWebhooks=true]``: back to the seed (keeping the webhooks if asked)
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from . import delivery, faults
from .errors import bad_request, not_found
from .state import State, app_state

blueprint = Blueprint("control", __name__, url_prefix="/_emulator")


@blueprint.get("/directory")
def directory():
    state = app_state()
    tokens = _tokens_by_person(state)
    people = [
        {"key": p["_key"], "id": p["id"], "displayName": p["displayName"], "email": p["emails"][0],
         "type": p["type"], "orgId": p["orgId"], "persona": p["_persona"],
         "tokens": tokens.get(p["id"], [])}
        for p in state.people.values()
    ]
    rooms = [dict(room, members=state.room_members(room["id"])) for room in state.rooms.values()]
    return jsonify({"ids": state.keys, "managedOrgId": state.managed_org_id, "people": people,
                    "rooms": rooms, "orgs": list(state.orgs.values())})


@blueprint.get("/orgs")
def orgs():
    state = app_state()
    wanted = request.args.get("generated", "").lower()
    if wanted not in ("", "true", "false"):
        raise bad_request("generated must be true or false.")
    with state.lock:
        tokens = _tokens_by_person(state)
        people: dict[str, list[dict]] = {}
        for person in state.people.values():
            people.setdefault(person["orgId"], []).append(_org_person(state, person, tokens))
        items = [_org_entry(state, org_id, people.get(org_id, [])) for org_id in state.orgs
                 if wanted == "" or (org_id in state.generated_orgs) == (wanted == "true")]
    return jsonify({"items": items})


def _tokens_by_person(state: State) -> dict[str, list[dict]]:
    tokens: dict[str, list[dict]] = {}
    for grant in state.grants.values():
        tokens.setdefault(grant.person_id, []).append({"token": grant.token, "kind": grant.kind})
    return tokens


def _org_entry(state: State, org_id: str, people: list[dict]) -> dict:
    apps = [app.id for app in state.oauth.service_apps.values() if org_id in app.authorized_orgs]
    return {"id": org_id, "key": state.org_keys[org_id],
            "displayName": state.orgs[org_id]["displayName"],
            "generated": org_id in state.generated_orgs, "serviceAppIds": apps, "people": people}


def _org_person(state: State, person: dict, tokens: dict[str, list[dict]]) -> dict:
    return {"key": person["_key"], "id": person["id"], "displayName": person["displayName"],
            "email": person["emails"][0], "type": person["type"], "persona": person["_persona"],
            "roles": sorted(state.roles[r]["name"] for r in person["roles"] if r in state.roles),
            "tokens": tokens.get(person["id"], []),
            "botRoomId": _bot_room(state, person["id"])}


def _bot_room(state: State, person_id: str) -> str | None:
    """The person's 1:1 space with the seed's bot (key ``bot``), if they have one."""
    bot_id = state.keys.get("bot")
    if bot_id is None or person_id == bot_id:
        return None
    for room_id in state.person_rooms(person_id):
        if state.rooms[room_id]["type"] == "direct" and bot_id in state.room_members(room_id):
            return room_id
    return None


def org_id_of(state: State, org: str) -> str:
    """An org named by id or seed key; 400 naming it when there is no such org."""
    org_id = state.keys.get(org, org)
    if org_id not in state.orgs:
        raise bad_request(f"Unknown org: {org}.")
    return org_id


@blueprint.get("/faults")
def list_faults():
    with app_state().lock:
        return jsonify({"items": list(app_state().faults),
                        "spent": list(app_state().spent_faults)})


@blueprint.post("/faults")
def add_fault():
    spec = request.get_json(silent=True)
    if not isinstance(spec, dict):
        raise bad_request("A fault is a JSON object.")
    with app_state().lock:
        if spec.get("orgId") is not None:
            spec = spec | {"orgId": org_id_of(app_state(), str(spec["orgId"]))}
        try:
            fault = faults.new_fault(spec)
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        app_state().faults.append(fault)
    return jsonify(fault), 201


@blueprint.delete("/faults")
def clear_faults():
    with app_state().lock:
        app_state().faults.clear()
        app_state().spent_faults.clear()
    return "", 204


@blueprint.get("/calls")
def calls():
    with app_state().lock:
        counts = dict(app_state().calls)
    return jsonify({"counts": counts, "total": sum(counts.values())})


@blueprint.delete("/calls")
def reset_calls():
    state = app_state()
    with state.lock:
        state.calls.clear()
        state.call_log.clear()
        state.peak = +state.in_flight  # the calls still being answered count in the next peak
    return "", 204


@blueprint.get("/calls/peak")
def calls_peak():
    state = app_state()
    with state.lock:
        return jsonify({"peak": state.peak["*"], "inFlight": state.in_flight["*"],
                        "byEndpoint": {k: v for k, v in state.peak.items() if k != "*"}})


@blueprint.get("/calls/log")
def call_log():
    with app_state().lock:
        return jsonify({"items": list(app_state().call_log)})


@blueprint.get("/deliveries")
def deliveries():
    with app_state().lock:
        return jsonify({"items": list(app_state().deliveries)})


@blueprint.post("/deliveries/wait")
def wait_for_deliveries():
    try:
        timeout = float(request.args.get("timeout", "10"))
    except ValueError as exc:
        raise bad_request("timeout must be a number of seconds.") from exc
    idle = delivery.wait_idle(app_state(), min(timeout, 60.0))
    return jsonify({"idle": idle}), (200 if idle else 504)


@blueprint.get("/voicemail-rules")
def voicemail_rules():
    state = app_state()
    org = request.args.get("orgId", state.managed_org_id)
    org_id = state.keys.get(org, org)
    with state.lock:
        if org_id not in state.voicemail_rules:
            raise not_found("Unknown org.")
        return jsonify({"rules": state.voicemail_rules[org_id],
                        "defaultPinSet": bool(state.default_pins.get(org_id))})


@blueprint.put("/webhooks/<webhook_id>/status")
def force_webhook_status(webhook_id: str):
    status = (request.get_json(silent=True) or {}).get("status")
    if status not in ("active", "inactive"):
        raise bad_request("status must be active or inactive.")
    with app_state().lock:
        webhook = app_state().webhooks.get(webhook_id)
        if webhook is None:
            raise not_found("Unknown webhook.")
        webhook["status"] = status
    return jsonify({k: v for k, v in webhook.items() if k != "secret"})


@blueprint.put("/people/<person_id>")
def rename_person(person_id: str):
    name = (request.get_json(silent=True) or {}).get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("displayName must be a non-empty string.")
    with app_state().lock:
        if person_id not in app_state().people:
            raise not_found("Unknown person.")
        person = app_state().rename(person_id, name)
        return jsonify({"id": person_id, "displayName": person["displayName"]})


@blueprint.post("/tokens/<token>/expire")
def expire_token(token: str):
    """Make an access token expire, as Webex's do after about 14 days; a refresh still works."""
    with app_state().lock:
        grant = app_state().grants.get(token)
        if grant is None:
            raise not_found("Unknown token.")
        grant.expired = True
    return "", 204


@blueprint.post("/reset")
def reset():
    app_state().reset(keep_webhooks=request.args.get("keepWebhooks", "").lower() == "true")
    return "", 204
