"""Periodic housekeeping in daemon threads: some jobs anywhere, some in one place only; and
start-up jobs that run once per process.

A ``singleton`` job runs only where its database lease is held, so with several workers and
instances it still runs once per round. A ``paced`` job (the change watcher) runs step by step
for as long as its process holds its lease, each step saying when the next is due.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from bot.storage.leases import Leases

log = logging.getLogger(__name__)
RENEW_AT_MOST_EVERY_SECONDS = 1.0  # a paced job's lease, while its steps come faster


class Scheduler:
    def __init__(self, leases: Leases, owner: Callable[[], str]):
        self._leases = leases
        self._owner = owner
        self._jobs: list[tuple[str, float, Callable[[], object], bool]] = []
        self._paced: list[tuple[str, Callable[[], float], timedelta, float]] = []
        self._on_stop: list[Callable[[], object]] = []
        self._at_start: list[tuple[str, Callable[[], object]]] = []
        self._stopping = threading.Event()
        self._started = False

    def every(self, seconds: float, job: Callable[[], object], name: str, *,
              singleton: bool = False) -> None:
        if seconds > 0:
            self._jobs.append((name, seconds, job, singleton))

    def paced(self, name: str, step: Callable[[], float], *, lease: timedelta,
              idle_seconds: float, on_stop: Callable[[], object] | None = None) -> None:
        """Run ``step`` in one process at a time, again after the seconds it returns (see
        ``run_paced``); ``on_stop`` ends what the steps started (their queued work)."""
        self._paced.append((name, step, lease, idle_seconds))
        if on_stop is not None:
            self._on_stop.append(on_stop)

    def once(self, job: Callable[[], object], name: str) -> None:
        """Run ``job`` once, in its own thread, when the process starts its background work."""
        self._at_start.append((name, job))

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        for name, job in self._at_start:
            threading.Thread(target=self._run_once, args=(name, job), name=name,
                             daemon=True).start()
        for name, seconds, job, singleton in self._jobs:
            threading.Thread(target=self._loop, args=(name, seconds, job, singleton),
                             name=name, daemon=True).start()
        for name, step, lease, idle in self._paced:
            threading.Thread(target=run_paced, name=name, daemon=True,
                             args=(self._leases, name, self._owner(), step, self._stopping),
                             kwargs={"lease": lease, "idle_seconds": idle}).start()

    def _run_once(self, name: str, job: Callable[[], object]) -> None:
        try:
            job()
        except Exception:  # start-up work is an optimization; the process runs without it
            log.exception("start-up job %s failed", name)

    def stop(self) -> None:
        self._stopping.set()
        for stop in self._on_stop:
            stop()

    def _loop(self, name: str, seconds: float, job: Callable[[], object], singleton: bool) -> None:
        ttl = timedelta(seconds=seconds * 2 + 5)
        while not self._stopping.wait(seconds):
            try:
                if singleton and not self._leases.acquire(name, self._owner(), ttl):
                    continue
                job()
            except Exception:  # housekeeping must never die; the next round tries again
                log.exception("periodic job %s failed", name)


def run_paced(leases: Leases, name: str, owner: str, step: Callable[[], float],
              stopping: threading.Event, *, lease: timedelta, idle_seconds: float) -> None:
    """Until ``stopping``: while ``owner`` holds the lease ``name`` (taken, or renewed for
    ``lease``, before a step, at most once a second), run ``step`` and wait the seconds it
    returns, which must stay well under ``lease``; otherwise look again after ``idle_seconds``."""
    renew_every = min(RENEW_AT_MOST_EVERY_SECONDS, lease.total_seconds() / 10)
    renewed_at = float("-inf")  # monotonic: when the lease was last taken or renewed
    while not stopping.is_set():
        wait = idle_seconds
        try:
            # Renewed at most every ``renew_every``: a step per turn of a thousand orgs would
            # otherwise write the lease 30 times a second, queued with the people's writes.
            held = time.monotonic() - renewed_at < renew_every
            if not held and leases.acquire(name, owner, lease):
                renewed_at, held = time.monotonic(), True
            if held:
                wait = step()
        except Exception:  # a database blip ends a step, not the job
            log.exception("paced job %s failed", name)
        stopping.wait(wait)
