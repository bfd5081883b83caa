"""Background processing of the inbox, in threads of the web process or of ``flask worker``.

The webhook request stores the event and wakes a worker with its row id (the fast path); workers
also poll for events that are due (retries) or abandoned (a lease that ran out because its process
died), so nothing accepted is lost. While an event is processed its lease is renewed; if the lease
is lost anyway, the outcome is not written over another worker's claim. Once the processor has run
(its reply may be posted), the event stays in flight until its outcome is written: a database blip
then delays the write instead of having the event, and its reply, done again.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.domain.events import WebexEvent
from bot.inbox.queue import Claimed, Inbox

log = logging.getLogger(__name__)

Processor = Callable[[WebexEvent], str]
MAX_ATTEMPTS = 5
MAX_BACKOFF_SECONDS = 300
FIRST_OUTCOME_RETRY_SECONDS = 0.1


def backoff(attempts: int) -> timedelta:
    """2, 4, 8... seconds (with jitter), capped: how long a failed event waits for its next try."""
    seconds = min(2 ** attempts, MAX_BACKOFF_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


class Worker:
    def __init__(self, inbox: Inbox, processor: Processor, *, threads: int = 4,
                 lease_seconds: float = 30, poll_seconds: float = 1.0,
                 retry_delay: Callable[[int], timedelta] = backoff,
                 on_processed: Callable[[str, float], None] | None = None,
                 before_processing: Callable[[datetime], None] | None = None):
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._inbox = inbox
        self._processor = processor
        self._threads = threads
        self._lease = timedelta(seconds=lease_seconds)
        self._poll = poll_seconds
        self._retry_delay = retry_delay
        self._on_processed = on_processed or (lambda outcome, seconds: None)
        # Told when a claimed event arrived, before it is processed (it may wait a moment).
        self._before_processing = before_processing or (lambda received_at: None)
        self._wakeups: queue.Queue[int] = queue.Queue()
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._db_down = threading.Event()
        self._started = False

    def start(self) -> None:
        """Start the threads once per process (after gunicorn forked, never in the master)."""
        with self._lock:
            if self._started:
                return
            self._started = True
            self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        for number in range(self._threads):
            threading.Thread(target=self._loop, name=f"inbox-{number}", daemon=True).start()
        threading.Thread(target=self._heartbeat, name="inbox-leases", daemon=True).start()
        log.info("inbox worker %s started with %d threads", self.owner, self._threads)

    def wake(self, row_id: int) -> None:
        """A new event was stored: process it now rather than at the next poll."""
        self._wakeups.put(row_id)

    def stop(self, timeout: float = 10) -> None:
        self._stopping.set()
        deadline = time.monotonic() + timeout
        while self._in_flight and time.monotonic() < deadline:
            time.sleep(0.05)

    def _loop(self) -> None:
        swept = time.monotonic()
        while not self._stopping.is_set():
            try:
                row_id = self._wakeups.get(timeout=self._poll)
            except queue.Empty:
                row_id = None
            try:
                if row_id is not None:  # a new event: its wakeup names it
                    self._claim_and_run(row_id)
                # Whatever else is due (retries, leases run out, wakeups lost): when idle, and at
                # least once a poll interval while busy, so that a stream of new events delays
                # them by no more than that.
                if row_id is None or time.monotonic() - swept >= self._poll:
                    swept = time.monotonic()
                    while not self._stopping.is_set() and self._claim_and_run(None):
                        pass
            except Exception as exc:  # the database may be down: say so once, retry each poll
                self._database_down(exc)
                self._stopping.wait(self._poll)

    def _claim_and_run(self, row_id: int | None) -> bool:
        """Claim ``row_id`` (None: the oldest due event) and process it; False if none was due."""
        claimed = self._inbox.claim(self.owner, self._lease, row_id)
        self._database_back()
        if claimed is None:
            return False
        # e.g. let the webhook requests in flight be answered first (the lease is held meanwhile,
        # far shorter than its term, and renewed once the event is in flight)
        self._before_processing(claimed.received_at)
        self._run(claimed)
        return True

    def _database_down(self, exc: Exception) -> None:
        if not self._db_down.is_set():
            self._db_down.set()
            log.error("inbox unavailable, retrying every %.0fs: %s", self._poll,
                      exc.__class__.__name__)

    def _database_back(self) -> None:
        if self._db_down.is_set():
            self._db_down.clear()
            log.warning("inbox available again")

    def _run(self, claimed: Claimed) -> None:
        with self._lock:
            if claimed.row_id in self._in_flight:
                # Claimed again by another of our threads (same owner) after its lease ran out
                # while the database was down: the thread processing it records its outcome.
                return
            self._in_flight.add(claimed.row_id)
        try:
            self._process(claimed)
        finally:
            with self._lock:
                self._in_flight.discard(claimed.row_id)

    def _process(self, claimed: Claimed) -> None:
        try:
            outcome = self._processor(claimed.event)
        except Exception as exc:
            self._failed(claimed, exc)
            return
        if self._record(claimed, "done", lambda: self._inbox.done(claimed.row_id, self.owner)):
            self._on_processed("done", time.time() - claimed.received_at.timestamp())
            log.info("event %s processed: %s", claimed.event.key, outcome)

    def _failed(self, claimed: Claimed, exc: Exception) -> None:
        reason = f"{exc.__class__.__name__}: {exc}"
        row_id, owner = claimed.row_id, self.owner
        if claimed.attempts >= MAX_ATTEMPTS:
            if self._record(claimed, "failed", lambda: self._inbox.failed(row_id, owner, reason)):
                self._on_processed("failed", time.time() - claimed.received_at.timestamp())
                log.error("event %s failed for good after %d attempts: %s", claimed.event.key,
                          claimed.attempts, reason)
            return
        delay = self._retry_delay(claimed.attempts)
        if self._record(claimed, "retry later",
                        lambda: self._inbox.retry_later(row_id, owner, reason, delay)):
            self._on_processed("retried", 0.0)
            log.warning("event %s failed (attempt %d), retrying in %.0fs: %s", claimed.event.key,
                        claimed.attempts, delay.total_seconds(), reason)

    def _record(self, claimed: Claimed, outcome: str, write: Callable[[], bool]) -> bool:
        """Write the outcome of a processed event, retrying while the database is down.

        True once written; False if the lease was lost (another worker owns the event now) or
        the worker stopped first. Meanwhile the event stays in flight, so the heartbeat keeps its
        lease: let go, it would be processed (and its reply posted) again when the lease ran out.
        """
        pause = min(FIRST_OUTCOME_RETRY_SECONDS, self._poll)
        while True:
            try:
                written = write()
            except Exception as exc:  # the database may be down: say so once, as the loop does
                self._database_down(exc)
            else:
                self._database_back()
                if not written:
                    log.warning("event %s (inbox row %d) lost its lease before its outcome (%s) "
                                "was recorded: another worker may process it again",
                                claimed.event.key, claimed.row_id, outcome)
                return written
            if self._stopping.wait(pause):  # no lock is held while waiting
                # The at-least-once edge: the lease runs out and the event is processed again.
                log.error("event %s (inbox row %d) processed, but its outcome (%s) was not "
                          "recorded before the worker stopped: it is processed again when its "
                          "lease runs out", claimed.event.key, claimed.row_id, outcome)
                return False
            # Doubling, but never beyond a poll: written soon after the database answers again.
            pause = min(pause * 2, self._poll)

    def _heartbeat(self) -> None:
        interval = self._lease.total_seconds() / 3
        while not self._stopping.wait(interval):
            with self._lock:
                rows = list(self._in_flight)
            for row_id in rows:
                try:
                    self._inbox.renew(row_id, self.owner, self._lease)
                except Exception:
                    log.exception("could not renew the lease of inbox row %s", row_id)
