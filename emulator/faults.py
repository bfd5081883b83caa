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
    """Validate a fault from the control API and give it an id; ValueError says what is wrong."""
    fault = {
        "id": 0,
        "method": str(spec.get("method", "*")).upper(),
        "path": str(spec.get("path", "*")),
        "orgId": spec.get("orgId"),
        "status": _whole(spec, "status", low=100, high=599),
        "retryAfter": spec.get("retryAfter"),
        "latencyMs": _whole(spec, "latencyMs", low=0) or 0,
        "delayAfterMs": _whole(spec, "delayAfterMs", low=0) or 0,
        "drop": bool(spec.get("drop", False)),
        "count": _whole(spec, "count", low=1),
        "skip": _whole(spec, "skip", low=0) or 0,
        "seen": 0,
        "hits": 0,
    }
    fault["id"] = next(_ids)  # only a valid fault uses up an id
    return fault


def _whole(spec: dict, name: str, *, low: int, high: int | None = None) -> int | None:
    """``spec[name]`` as a whole number in range, or None when absent (null or empty)."""
    raw = spec.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not str(raw).strip().isdigit():
        raise ValueError(f"{name} must be a whole number, not {raw!r}.")
    value = int(str(raw).strip())
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {bounds}, not {value}.")
    return value


def matching(faults: list[dict], spent: list[dict], method: str, path: str,
             org_id: str | None = None) -> list[dict]:
    """Faults that apply to a call in ``org_id`` (the token's org), consuming one use of each
    counted fault.

    A counted fault that has been used up moves from ``faults`` to ``spent``, so that every call
    the call log shows as faulted stays explained by a fault someone can still see.
    """
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
    spent.extend(f for f in faults if _used_up(f))
    del spent[:-SPENT_KEPT]
    faults[:] = [f for f in faults if not _used_up(f)]
    return chosen


SPENT_KEPT = 200


def _used_up(fault: dict) -> bool:
    return fault["count"] is not None and fault["hits"] >= fault["count"]


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
