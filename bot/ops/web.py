"""The HTTP surface besides the webhook (``bot/webhook/endpoint.py``): metrics and health."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from bot.ops import metrics
from bot.storage.reports import read_report
from bot.storage.store import Store, StoreUnavailable

blueprint = Blueprint("web", __name__)


@blueprint.get("/metrics")
def prometheus_metrics():
    """Prometheus text format, summed over every gunicorn worker (multiprocess mode)."""
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)


@blueprint.get("/healthz")
def healthz():
    """200 when the database answers (503 otherwise), with what else is known, from the database:
    the inbox by status, the last webhook check and the last watcher round. It never calls Webex."""
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
        return jsonify(body), 503
    if webhooks is not None:
        components["webhooks"] = {
            "checked_at": webhooks["checked_at"],
            "ok": all(w["status"] == "active" for w in webhooks["webhooks"]),
            "items": [{"resource": w["resource"], "event": w["event"], "status": w["status"]}
                      for w in webhooks["webhooks"]]}
    if watcher is not None:
        components["watcher"] = watcher
    return jsonify(status="ok", components=components), 200
