"""The HTTP surface: a thin Flask adapter over the intake pipeline, plus health."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from sqlalchemy.exc import SQLAlchemyError

from . import metrics
from .intake import Intake
from .store import Store, StoreUnavailable
from .reports import read_report

blueprint = Blueprint("web", __name__)


@blueprint.post("/webhooks/webex")
def webex_webhook():
    intake: Intake = current_app.extensions["vmbot.intake"]
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        metrics.event_received(None, None, "too_large")
        return jsonify(error="body is larger than 1 MiB"), 413
    result = intake.receive(body, request.headers.get("X-Spark-Signature"))
    if result.status >= 400:
        return jsonify(error=result.message), result.status
    return jsonify(status=result.message), result.status


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


@blueprint.app_errorhandler(RequestEntityTooLarge)
def too_large(_error):
    metrics.event_received(None, None, "too_large")
    return jsonify(error="body is larger than 1 MiB"), 413
