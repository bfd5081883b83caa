"""Injected faults: make matching calls slow, fail with a status, or drop the connection.

``latencyMs`` holds a call before it is carried out; ``delayAfterMs`` carries it out and then
holds its answer, as Webex does when it takes a request but answers late (a client that gives up
first cannot tell whether the call was made).

A fault matches a method (or ``*``) and a path glob such as ``/v1/telephony/*``, and, with
``orgId``, only calls made with a token of that org (the org of the person or machine account the
bearer token belongs to; a call without a known token is in no org): Webex limits each token on its
own, so one org's token can be answered 429 while every other org's is served. It lets the first
``skip`` matching calls through (default 0), then applies to the next ``count`` matching calls, or
to every call until cleared when ``count`` is null.
"""

from __future__ import annotations

import itertools
import socket
import time
from fnmatch import fnmatchcase

from flask import request

from .errors import WebexError

_ids = itertools.count(1)

STATUS_MESSAGES = {  # as Webex words them
    400: "The request was invalid or cannot be otherwise served.",
    403: "The server understood the request, but refused to fulfill it because the access token "
         "is missing required scopes or the user is missing required roles or licenses.",
    404: "The requested resource could not be found.",
    409: "The request could not be processed because it conflicts with some established rule of "
         "the system.",
    410: "The requested resource is no longer available.",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class DroppedConnection(Exception):
    """The connection was closed on purpose; nothing more may be written."""


def new_fault(spec: dict) -> dict:
    """Validate a fault from the control API and give it an id."""
    fault = {
        "id": next(_ids),
        "method": str(spec.get("method", "*")).upper(),
        "path": str(spec.get("path", "*")),
        "orgId": spec.get("orgId"),
        "status": spec.get("status"),
        "retryAfter": spec.get("retryAfter"),
        "latencyMs": int(spec.get("latencyMs", 0) or 0),
        "delayAfterMs": int(spec.get("delayAfterMs", 0) or 0),
        "drop": bool(spec.get("drop", False)),
        "count": spec.get("count"),
        "skip": int(spec.get("skip", 0) or 0),
        "seen": 0,
        "hits": 0,
    }
    if fault["status"] is not None:
        fault["status"] = int(fault["status"])
    if fault["count"] is not None:
        fault["count"] = int(fault["count"])
    return fault


def matching(faults: list[dict], method: str, path: str, org_id: str | None = None) -> list[dict]:
    """Faults that apply to a call in ``org_id`` (the token's org), consuming one use of each
    counted fault."""
    chosen = []
    for fault in faults:
        if fault["method"] not in ("*", method) or not fnmatchcase(path, fault["path"]):
            continue
        if fault["orgId"] is not None and fault["orgId"] != org_id:
            continue
        fault["seen"] += 1
        if fault["seen"] <= fault["skip"]:
            continue
        if fault["count"] is not None and fault["hits"] >= fault["count"]:
            continue
        fault["hits"] += 1
        chosen.append(fault)
    faults[:] = [f for f in faults if f["count"] is None or f["hits"] < f["count"]]
    return chosen


def apply(chosen: list[dict]) -> None:
    """Carry out the chosen faults for the current request (called outside the state lock)."""
    delay = sum(f["latencyMs"] for f in chosen) / 1000
    if delay:
        time.sleep(delay)
    for fault in chosen:
        if fault["drop"]:
            _drop_connection()
        if fault["status"]:
            status = fault["status"]
            raise WebexError(status, STATUS_MESSAGES.get(status, "Injected failure"),
                             retry_after=fault["retryAfter"])


def answer_late(chosen: list[dict]) -> None:
    """Hold the answer of a call already carried out (``delayAfterMs``)."""
    delay = sum(f["delayAfterMs"] for f in chosen) / 1000
    if delay:
        time.sleep(delay)


def _drop_connection() -> None:
    conn = request.environ.get("werkzeug.socket")
    if conn is not None:
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()
    raise DroppedConnection()
