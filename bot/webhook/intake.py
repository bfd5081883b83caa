"""Webhook intake, free of Flask: verify → parse → store (deduplicate) → acknowledge → wake a worker.

Each step can stop the chain with the status Webex should get. The signature is checked over the
raw bytes before anything is parsed, so an unsigned body never reaches the JSON parser. Nothing
here waits on Webex: the event is stored durably and processed by the inbox workers afterwards.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bot.domain.events import InvalidEnvelope, WebexEvent, parse_envelope
from bot.inbox.queue import Inbox
from bot.ops import metrics
from bot.storage.store import StoreUnavailable
from bot.webhook import signature

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024

Accepted = Callable[[int], None]  # told the inbox row id of each new event


@dataclass(frozen=True)
class IntakeResult:
    status: int
    message: str
    event: WebexEvent | None = None


class InFlight:
    """The webhook requests this process is answering, and when the last one began.

    The inbox workers wait for a quiet moment (``wait_quiet``, bounded) before they take the
    next event: under a burst, Webex gets its acknowledgements first and the work follows; with
    ordinary traffic there is nothing to wait for. Quiet means no request in flight and none begun
    for ``QUIET_GAP_SECONDS``: under gevent a request runs to its answer without yielding, so the
    count alone drops to zero between any two requests of a burst and would let the work in.
    """

    QUIET_GAP_SECONDS = 0.02

    def __init__(self, quiet_gap: float = QUIET_GAP_SECONDS) -> None:
        self._quiet_gap = quiet_gap
        self._count = 0
        self._last_began = float("-inf")
        self._quiet = threading.Condition()

    @contextmanager
    def request(self) -> Iterator[None]:
        with self._quiet:
            self._count += 1
            self._last_began = time.monotonic()
        try:
            yield
        finally:
            with self._quiet:
                self._count -= 1
                if not self._count:
                    self._quiet.notify_all()

    def wait_quiet(self, limit: float) -> None:
        deadline = time.monotonic() + limit
        with self._quiet:
            while True:
                now = time.monotonic()
                quiet_at = self._last_began + self._quiet_gap
                if (not self._count and now >= quiet_at) or now >= deadline:
                    return
                self._quiet.wait(timeout=min(max(quiet_at - now, 0.001), deadline - now))


class Intake:
    """Turns one webhook request into an answer for Webex; new events go to ``on_accepted``."""

    def __init__(self, *, secret: str, inbox: Inbox, on_accepted: Accepted,
                 in_flight: InFlight | None = None):
        self._secret = secret
        self._inbox = inbox
        self._on_accepted = on_accepted
        self.in_flight = in_flight or InFlight()

    def receive(self, body: bytes, signature_header: str | None) -> IntakeResult:
        if len(body) > MAX_BODY_BYTES:
            metrics.event_received(None, None, "too_large")
            return IntakeResult(413, "body is larger than 1 MiB")
        if not signature.is_valid(self._secret, body, signature_header):
            log.warning("webhook refused: %s X-Spark-Signature",
                        "wrong" if signature_header else "missing")
            metrics.event_received(None, None, "refused_signature")
            return IntakeResult(401, "missing or wrong X-Spark-Signature")
        # Only a signed request makes the inbox workers wait (acknowledging first): a stream of
        # unsigned ones from anyone must not slow the bot's answers down.
        with self.in_flight.request():
            return self._receive(body)

    def _receive(self, body: bytes) -> IntakeResult:
        try:
            event = parse_envelope(body)
        except InvalidEnvelope as exc:
            log.warning("webhook refused: %s", exc)
            metrics.event_received(None, None, "refused_envelope")
            return IntakeResult(400, str(exc))
        try:
            row_id = self._inbox.record(event, body)
        except StoreUnavailable as exc:
            log.error("webhook not stored, database unavailable (%s): %s", exc, event.key)
            metrics.event_received(event.resource, event.event, "unavailable")
            return IntakeResult(503, "database unavailable, try again")
        if row_id is None:
            log.info("event %s duplicate, dropped", event.key)
            metrics.event_received(event.resource, event.event, "duplicate")
            return IntakeResult(200, "duplicate", event)
        log.info("event %s accepted (actor %s)", event.key, event.actor_id)
        metrics.event_received(event.resource, event.event, "accepted")
        self._on_accepted(row_id)
        return IntakeResult(202, "accepted", event)
