"""The HTTP surface besides the webhook (``bot/webhook/endpoint.py``): metrics and health.

Both share the webhook's public port (a platform gives one). With ``OPS_TOKEN`` set, ``/metrics``
answers only requests carrying ``Authorization: Bearer <OPS_TOKEN>`` (401 otherwise), and
``/healthz`` tells anyone else only its status code and ``{"status": ...}`` (enough for a load
balancer), keeping the components for the token's holders.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from bot.ops import metrics
from bot.ops.admin_health import admin_token_health
from bot.storage.reports import read_report
from bot.storage.store import Store, StoreUnavailable

blueprint = Blueprint("web", __name__)


def _operator() -> bool:
    """Whether the request may see operators' details: no OPS_TOKEN set, or its bearer token."""
    token = current_app.extensions["vmbot.settings"].ops_token
    if token is None:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.get_secret_value().encode())


@blueprint.get("/metrics")
def prometheus_metrics():
    """Prometheus text format, summed over every gunicorn worker (multiprocess mode)."""
    if not _operator():
        response = jsonify(error="a bearer token (OPS_TOKEN) is required")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="operators"'
        return response
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)


@blueprint.get("/healthz")
def healthz():
    """200 when the database answers (503 otherwise), with what else is known, from the database:
    the inbox by status, the last webhook check, the last watcher round and every connected org's
    admin access (counted). It never calls Webex, and names no org."""
    store: Store = current_app.extensions["vmbot.store"]
    try:
        store.ping()
        components = {"database": {"ok": True},
                      "inbox": current_app.extensions["vmbot.inbox"].counts()}
        webhooks = read_report(store, "webhooks")
        watcher = read_report(store, "watcher")
    except (StoreUnavailable, SQLAlchemyError) as exc:
        body = {"status": "unavailable",
                "components": {"database": {"ok": False, "error": exc.__class__.__name__}}}
        return jsonify(body if _operator() else {"status": "unavailable"}), 503
    if not _operator():
        return jsonify(status="ok"), 200
    if webhooks is not None:
        components["webhooks"] = {
            "checked_at": webhooks["checked_at"],
            "ok": all(w["status"] == "active" and w.get("secret_matches") is not False
                      for w in webhooks["webhooks"]),
            "items": [{"resource": w["resource"], "event": w["event"], "status": w["status"],
                       "secret_matches": w.get("secret_matches")}
                      for w in webhooks["webhooks"]]}
    if watcher is not None:
        components["watcher"] = watcher
    components["admin_token"] = admin_token_health(current_app.extensions["vmbot.settings"], store)
    return jsonify(status="ok", components=components), 200
