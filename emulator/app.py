"""The emulator's Flask app: Webex's ``/v1`` API plus a control API under ``/_emulator``."""

from __future__ import annotations

import logging
import re
import time

from flask import Flask, Response, g, request
from flask.json.provider import DefaultJSONProvider

from . import (
    access_tokens,
    admin_audit,
    control,
    faults,
    messages,
    oauth_control,
    organizations,
    people,
    rooms,
    space,
    voicemail,
    webhooks,
)
from .errors import WebexError, error_response
from .ids import now_iso, tracking_id
from .state import STATE_KEY, Grant, State, app_state

log = logging.getLogger(__name__)
ALL = "*"  # every endpoint, in the in-flight counts


def _json_in_given_order(app: Flask) -> DefaultJSONProvider:
    provider = DefaultJSONProvider(app)
    provider.sort_keys = False  # fields in the order Webex sends them
    return provider


def create_app(state: State | None = None, *, seed_path: str | None = None) -> Flask:
    """Build the emulator around ``state`` (or a fresh one from ``seed_path``/the default seed)."""
    app = Flask(__name__)
    app.config[STATE_KEY] = state or State.from_file(seed_path)
    app.json = _json_in_given_order(app)
    _register_blueprints(app)
    app.before_request(_before)
    app.after_request(_after)
    app.teardown_request(_finished)
    app.register_error_handler(WebexError, error_response)
    app.register_error_handler(faults.DroppedConnection, lambda _e: Response(status=599))
    app.register_error_handler(404, _not_found)
    app.register_error_handler(405, _not_allowed)
    return app


def _register_blueprints(app: Flask) -> None:
    for module in (people, organizations, rooms, messages, webhooks, voicemail, access_tokens,
                   admin_audit, control, space):
        app.register_blueprint(module.blueprint)
    oauth_control.register_blueprints(app)  # /v1/authorize, applications token, control


def endpoint_name() -> str:
    """``GET /v1/people/{personId}``: the method and the route template, for call counts."""
    rule = request.url_rule.rule if request.url_rule else request.path
    template = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)
    return f"{request.method} {template}"


def _before():
    g.tracking_id = tracking_id()
    g.started = time.monotonic()
    if not request.path.startswith("/v1/"):
        return None
    state: State = app_state()
    with state.lock:
        state.calls[endpoint_name()] += 1
        _arrived(state, endpoint_name())
        chosen = faults.matching(state.faults, state.spent_faults, request.method, request.path,
                                 _caller_org(state))
    g.faults = [f["id"] for f in chosen]
    g.late = [f for f in chosen if f["delayAfterMs"]]
    faults.apply(chosen)
    return None


def _after(response: Response) -> Response:
    response.headers["TrackingID"] = g.get("tracking_id", "")
    faults.answer_late(g.get("late", []))  # the call is done; only its answer waits
    if request.path.startswith("/v1/"):
        state = app_state()
        with state.lock:
            state.call_log.append({
                "time": now_iso(),
                "method": request.method,
                "endpoint": endpoint_name(),
                "path": request.full_path.rstrip("?"),
                "status": response.status_code,
                "ms": round((time.monotonic() - g.get("started", time.monotonic())) * 1000, 1),
                "faults": g.get("faults", []),
                "trackingId": g.get("tracking_id", ""),
                "caller": _caller(state),
                "callerOrgId": _caller_org(state),
            })
            del state.call_log[:-state.call_log_size]
    return response


def _arrived(state: State, endpoint: str) -> None:
    """Count a call as in flight (until ``_finished``), and the most ever at once."""
    g.in_flight = endpoint
    state.in_flight[endpoint] += 1
    state.in_flight[ALL] += 1
    for key in (endpoint, ALL):
        state.peak[key] = max(state.peak[key], state.in_flight[key])


def _finished(_error: BaseException | None) -> None:
    """A call is answered (faults, a late answer and errors included): no longer in flight."""
    endpoint = g.pop("in_flight", None)
    if endpoint is None:
        return
    state = app_state()
    with state.lock:
        for key in (endpoint, ALL):  # a reset meanwhile zeroed them: never below zero
            state.in_flight[key] = max(state.in_flight[key] - 1, 0)


def _bearer_grant(state: State) -> Grant | None:
    """The grant of the call's bearer token, expired or not; None without a known token."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return state.grants.get(token.strip()) if scheme.lower() == "bearer" else None


def _caller(state: State) -> str:
    """Who made the call, for the call log: ``Alice Fuller (user)``; '' without a known token."""
    grant = _bearer_grant(state)
    if grant is None:
        return ""
    return f"{state.people[grant.person_id]['displayName']} ({grant.kind})"


def _caller_org(state: State) -> str | None:
    """The org the call's token belongs to, which an ``orgId`` fault matches."""
    grant = _bearer_grant(state)
    return None if grant is None else state.people[grant.person_id]["orgId"]


def _not_found(_error):
    return error_response(WebexError(404, "The requested resource could not be found."))


def _not_allowed(_error):
    return error_response(WebexError(405, "The request was made to a resource using an HTTP "
                                          "request method that is not supported."))
