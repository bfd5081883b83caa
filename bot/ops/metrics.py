"""Prometheus metrics: what the bot receives, processes and changes, and what it asks of Webex.

gunicorn runs several worker processes and any one of them answers ``GET /metrics``, so each must
report the sum over all of them. prometheus_client's multiprocess mode does that: every process
writes its values to files in ``PROMETHEUS_MULTIPROC_DIR`` and ``render`` adds the files up. The
variable must be set before prometheus_client is first imported in a process, so gunicorn.conf.py
sets it in the master before the workers fork. Without it (tests, ``flask`` commands, a single
process) the default in-process registry is used.

The rest of the bot calls the small functions below. A misspelt outcome raises ValueError (a
programming error, caught by any test that passes there); counting never fails a Webex call.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import requests
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from requests.adapters import BaseAdapter

log = logging.getLogger(__name__)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

RECEIVED_OUTCOMES = ("accepted", "duplicate", "refused_signature", "refused_envelope",
                     "too_large", "timed_out", "unavailable")
PROCESSED_OUTCOMES = ("done", "failed", "retried")
CHANGE_KINDS = ("change", "undo")
# What the change watcher's look at one org came to; no org in any label (orgs are not public).
WATCH_OUTCOMES = ("read", "failed", "rate_limited", "skipped")
# Labels come from outside (webhook envelopes): only known values, so a sender cannot grow them.
RESOURCES = ("messages", "attachmentActions")
EVENTS = ("created",)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def _ensure_dir() -> None:
    # A flask command run with the variable set before gunicorn made the directory must not fail.
    directory = multiprocess_dir()
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)


_ensure_dir()  # before the first metric below opens its file there

EVENTS_RECEIVED = Counter("vmbot_events_received", "Webhook deliveries by what the intake "
                          "answered.", ["resource", "event", "outcome"])
EVENTS_PROCESSED = Counter("vmbot_events_processed", "Events processed from the inbox, by outcome.",
                           ["outcome"])
COMMANDS = Counter("vmbot_commands", "Commands and card actions handled, by name and outcome.",
                   ["command", "outcome"])
CHANGES_APPLIED = Counter("vmbot_changes_applied", "Voicemail rule changes applied.", ["kind"])
WEBEX_CALLS = Counter("vmbot_webex_calls", "HTTP requests to Webex by endpoint and status (every "
                      "answer counts, retried ones too; 'error': no answer).",
                      ["endpoint", "status"])
WATCH_READS = Counter("vmbot_watcher_reads", "The change watcher's looks at an org's rules, by "
                      "outcome (read, failed, rate_limited: a 429, skipped); no org label.",
                      ["outcome"])
EVENT_SECONDS = Histogram("vmbot_event_processing_seconds",
                          "Seconds from an event's receipt to the end of its processing.",
                          buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900))

for _outcome in PROCESSED_OUTCOMES:  # start at 0, so that rates exist before the first event
    EVENTS_PROCESSED.labels(_outcome)
for _kind in CHANGE_KINDS:
    CHANGES_APPLIED.labels(_kind)
for _outcome in WATCH_OUTCOMES:
    WATCH_READS.labels(_outcome)


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}: one of {', '.join(allowed)}")
    return value


def _bounded(value: str | None, known: tuple[str, ...]) -> str:
    if not value:
        return "unknown"
    return value if value in known else "other"


def event_received(resource: str | None, event: str | None, outcome: str) -> None:
    """One webhook delivery; ``resource``/``event`` are None when the body was not parsed."""
    EVENTS_RECEIVED.labels(_bounded(resource, RESOURCES), _bounded(event, EVENTS),
                           _choice(outcome, RECEIVED_OUTCOMES, "outcome")).inc()


def event_processed(outcome: str, seconds: float | None = None) -> None:
    """One processing attempt. ``seconds`` (receipt to now) is observed for final outcomes only,
    so an event retried three times counts once in the histogram."""
    EVENTS_PROCESSED.labels(_choice(outcome, PROCESSED_OUTCOMES, "outcome")).inc()
    if seconds is not None and outcome != "retried":
        EVENT_SECONDS.observe(max(seconds, 0.0))


def command(name: str, outcome: str) -> None:
    """One command or card action (``name`` from the router, never raw user text)."""
    COMMANDS.labels(name, outcome).inc()


def change_applied(kind: str) -> None:
    CHANGES_APPLIED.labels(_choice(kind, CHANGE_KINDS, "kind")).inc()


def watch_outcome(outcome: str) -> None:
    WATCH_READS.labels(_choice(outcome, WATCH_OUTCOMES, "outcome")).inc()


_BASE64_ID = r"Y2lzY29zcGFyazovL[\w+/=%-]*"  # base64 of "ciscospark://..."
_UUID = r"[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}"
_WEBEX_ID = re.compile(f"^(?:{_BASE64_ID}|{_UUID})$")
MAX_SEGMENT = 40  # anything longer is some id too, whatever it looks like


def endpoint(method: str, url: str) -> str:
    """``GET https://webexapis.com/v1/people/Y2lz...?x=1`` -> ``GET /people/{id}``: one label value
    per API operation, not per person or message."""
    path = urlsplit(url).path
    before, v1, after = path.partition("/v1/")
    segments = [s for s in (after if v1 else before).split("/") if s]
    template = ["{id}" if _WEBEX_ID.match(s) or len(s) > MAX_SEGMENT else s for s in segments]
    return f"{method.upper()} /{'/'.join(template)}"


def webex_call(method: str, url: str, status: int | str | None) -> None:
    """One HTTP request to Webex; ``status`` None: no answer came (connection error, timeout)."""
    WEBEX_CALLS.labels(endpoint(method, url), "error" if status is None else str(status)).inc()


def instrument(session: requests.Session) -> requests.Session:
    """Count every request ``session`` sends to Webex, retries included, without touching callers.

    Works for the SDK's session (``api._session._req_session``) and the rules client's alike: each
    adapter mounted on it (call this after ``mount_retries``) is wrapped in one that counts.
    Retries happen inside the adapter (urllib3), so each retried attempt is read from the final
    response's retry history. Idempotent.
    """
    for prefix, adapter in list(session.adapters.items()):
        if not isinstance(adapter, _CountingAdapter):
            session.adapters[prefix] = _CountingAdapter(adapter)  # same key: the order stays
    return session


class _CountingAdapter(BaseAdapter):
    """Sends through ``inner`` and counts each attempt (``webex_call``)."""

    def __init__(self, inner: BaseAdapter) -> None:
        super().__init__()
        self.inner = inner

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: float | tuple[float, float] | tuple[float, None] | None = None,
             verify: bool | str = True, cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
             proxies: Mapping[str, str] | None = None) -> requests.Response:
        try:
            response = self.inner.send(request, stream=stream, timeout=timeout, verify=verify,
                                       cert=cert, proxies=proxies)
        except requests.RequestException:
            _safely(_count, request, None)
            raise
        _safely(_count_response, request, response)
        return response

    def close(self) -> None:
        self.inner.close()


def _count_response(request: requests.PreparedRequest, response: requests.Response) -> None:
    retries = getattr(response.raw, "retries", None)
    for attempt in getattr(retries, "history", ()):
        _count(request, attempt.status)  # status None: no answer
    _count(request, response.status_code)


def _count(request: requests.PreparedRequest, status: int | None) -> None:
    # A request being sent has both; requests types them optional for one still being prepared.
    webex_call(request.method or "", request.url or "", status)


def _safely(record, *args) -> None:
    try:
        record(*args)
    except Exception:  # noqa: BLE001 - counting must never fail a Webex call
        log.warning("could not record a metric", exc_info=True)


def render() -> tuple[bytes, str]:
    """The exposition for ``GET /metrics``: the sum over every process in multiprocess mode."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST

