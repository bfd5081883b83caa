"""The HTTP surface: a thin Flask adapter over the intake pipeline, plus health."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from .intake import Intake
from .store import Store, StoreUnavailable

blueprint = Blueprint("web", __name__)


@blueprint.post("/webhooks/webex")
def webex_webhook():
    intake: Intake = current_app.extensions["vmbot.intake"]
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return jsonify(error="body is larger than 1 MiB"), 413
    result = intake.receive(body, request.headers.get("X-Spark-Signature"))
    if result.status >= 400:
        return jsonify(error=result.message), result.status
    return jsonify(status=result.message), result.status


@blueprint.get("/healthz")
def healthz():
    store: Store = current_app.extensions["vmbot.store"]
    components = {}
    try:
        store.ping()
        components["database"] = {"ok": True}
    except StoreUnavailable as exc:
        components["database"] = {"ok": False, "error": str(exc)}
    healthy = all(c["ok"] for c in components.values())
    return jsonify(status="ok" if healthy else "unavailable", components=components), \
        200 if healthy else 503


@blueprint.app_errorhandler(RequestEntityTooLarge)
def too_large(_error):
    return jsonify(error="body is larger than 1 MiB"), 413
