"""The one place accepted events go: processed off the request thread, outcome kept in the inbox.

The webhook request only stores the event and hands its id here; a small pool of worker threads in
the same process does the Webex calls, so ``gunicorn app:app`` alone is a complete deployment.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from .events import WebexEvent
from .store import Store

log = logging.getLogger(__name__)

Processor = Callable[[WebexEvent], str]


class Dispatcher:
    """Runs ``processor`` for each accepted event in background threads."""

    def __init__(self, store: Store, processor: Processor, *, threads: int = 8):
        self._store = store
        self._processor = processor
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="events")
        self._stopping = threading.Event()

    def __call__(self, event: WebexEvent) -> Future:
        return self._pool.submit(self._process, event)

    def _process(self, event: WebexEvent) -> None:
        try:
            outcome = self._processor(event)
        except Exception as exc:  # anything unexpected: logged once, kept as failed
            log.exception("event %s failed", event.key)
            self._store.mark_event(event, "failed", f"{exc.__class__.__name__}: {exc}")
            return
        self._store.mark_event(event, "done", None)
        log.info("event %s processed: %s", event.key, outcome)

    def every(self, seconds: float, job: Callable[[], object], name: str) -> None:
        """Run ``job`` every ``seconds`` in a daemon thread (housekeeping such as expiring changes)."""
        stop = self._stopping

        def loop() -> None:
            while not stop.wait(seconds):
                try:
                    job()
                except Exception:  # housekeeping must never die; the next round tries again
                    log.exception("periodic job %s failed", name)

        threading.Thread(target=loop, name=name, daemon=True).start()

    def shutdown(self) -> None:
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=False)
