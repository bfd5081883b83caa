"""``POST /webhooks/webex`` as a thin WSGI layer in front of the Flask app.

Every Webex delivery comes here, and under a burst the acknowledgements are the bot's hot path:
Flask's request and response objects, routing and JSON provider cost about as much CPU per
delivery as storing the event. This layer reads the raw body, hands it to the intake (which
verifies the signature, parses and stores) and answers in JSON; every other path and method goes
to Flask unchanged. What a 2xx promises does not change: the event is stored first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from bot.ops import metrics
from bot.webhook.intake import MAX_BODY_BYTES, Intake

log = logging.getLogger(__name__)

PATH = "/webhooks/webex"
WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


class WebhookEndpoint:
    """Answers ``POST /webhooks/webex`` itself; passes everything else to ``app``."""

    def __init__(self, app: WSGIApp, intake: Intake, *, before: Callable[[], None]):
        self._app = app
        self._intake = intake
        self._before = before  # e.g. start the background workers (idempotent)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            return self._app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, 405, {"error": "only POST is accepted here"},
                           [("Allow", "POST")])
        self._before()
        try:
            status, payload = self._receive(environ)
        except Exception:  # answered like any server error; Webex delivers again later
            log.exception("webhook request failed")
            status, payload = 500, {"error": "internal error"}
        return _answer(start_response, status, payload)

    def _receive(self, environ: dict) -> tuple[int, dict[str, str]]:
        length = environ.get("CONTENT_LENGTH") or ""
        if length and not length.isdigit():
            return 400, {"error": "malformed Content-Length"}
        if length and int(length) > MAX_BODY_BYTES:  # refused unread
            metrics.event_received(None, None, "too_large")
            return 413, {"error": "body is larger than 1 MiB"}
        try:
            body = _read(environ, int(length) if length else None)
        except TimeoutError:  # the server's deadline for the body (bot/ops/server.py)
            metrics.event_received(None, None, "timed_out")
            return 408, {"error": "request body not received in time"}
        result = self._intake.receive(body, environ.get("HTTP_X_SPARK_SIGNATURE"))
        key = "error" if result.status >= 400 else "status"
        return result.status, {key: result.message}


def _read(environ: dict, length: int | None) -> bytes:
    """The raw body; without a Content-Length (chunked), at most one byte past the limit, so the
    intake can refuse it as too large."""
    stream = environ["wsgi.input"]
    if length is not None:
        return stream.read(length)
    if environ.get("wsgi.input_terminated"):
        return stream.read(MAX_BODY_BYTES + 1)
    return b""


def _answer(start_response: Callable, status: int, payload: dict[str, Any],
            headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = json.dumps(payload).encode() + b"\n"
    start_response(f"{status} {HTTPStatus(status).phrase}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                    *(headers or [])])
    return [body]
