"""What ``/healthz`` says of the change watcher: counts per interval, never an org's name or id.

``/healthz``'s details are for operators (``OPS_TOKEN``), but without ``OPS_TOKEN`` anyone who
reaches the port reads them, so they hold counts only: how many orgs were read in this interval
and the last, how many failed, were rate-limited (429) or skipped. Which org failed is in the
warning logged with its id. The report is saved (``status_reports``) so that any process's
``/healthz`` shows it: at once after a failure, a 429, a skip or a read that worked again, and
at most once a second for the other reads that worked (with a thousand orgs a save per read was
one more database write per read, queued with the writes of the people's requests);
``ok`` says whether every org's latest read worked.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from bot.jobs.watch_pacing import Pacer, window_of
from bot.ops import metrics
from bot.storage.reports import save_report
from bot.storage.store import Store

REPORT = "watcher"
SAVE_EVERY_SECONDS = 1.0  # reads that worked: the report is this much behind at most, while busy
READ, FAILED, RATE_LIMITED, SKIPPED = metrics.WATCH_OUTCOMES


class WatchHealth:
    def __init__(self, store: Store, pacer: Pacer, *, interval: float, concurrency: int):
        self._store = store
        self._pacer = pacer
        self._interval = interval
        self._concurrency = concurrency
        self._lock = threading.Lock()  # also keeps the saves in order
        self._tallies: dict[int, Counter[str]] = {}
        self._latest: dict[str, str] = {}  # org -> its latest outcome
        self._orgs = 0
        self._unreachable: str | None = None
        self._saved_at = float("-inf")
        self._unsaved = False

    def planned(self, org_ids: list[str]) -> list[str]:
        """The orgs connected now (a window's, or a round's); an org gone is forgotten."""
        with self._lock:
            self._orgs = len(org_ids)
            self._latest = {o: self._latest[o] for o in org_ids if o in self._latest}
            self._unreachable = None
        return org_ids

    def count(self, org_id: str, outcome: str, now: float) -> None:
        metrics.watch_outcome(outcome)
        window = window_of(now, self._interval)
        with self._lock:
            self._tallies.setdefault(window, Counter())[outcome] += 1
            for old in [w for w in self._tallies if w < window - 1]:
                del self._tallies[old]
            recovered = self._latest.get(org_id) == FAILED  # ``ok`` may turn true: said now
            self._latest[org_id] = outcome
            self._unsaved = True
            if outcome != READ or recovered or now - self._saved_at >= SAVE_EVERY_SECONDS:
                self._save(now)

    def flush(self, now: float, *, now_or_never: bool = False) -> None:
        """Save what is not saved yet, once a second has passed since the last save (or at once:
        ``now_or_never``); the watcher calls this at every step."""
        with self._lock:
            if self._unsaved and (now_or_never or now - self._saved_at >= SAVE_EVERY_SECONDS):
                self._save(now)

    def cannot_list_orgs(self, error: str, now: float) -> None:
        """Which orgs are connected could not be told (the settings' token's org unknown)."""
        with self._lock:
            self._unreachable = error
            self._save(now)

    def _save(self, now: float) -> None:
        window = window_of(now, self._interval)
        failing = sum(outcome == FAILED for outcome in self._latest.values())
        error = self._unreachable or (f"{failing} of {self._orgs} org(s): rules unreadable at "
                                      f"their latest read" if failing else None)
        body: dict[str, Any] = {
            "ok": error is None, "error": error, "orgs": self._orgs,
            "interval_seconds": self._interval, "concurrency": self._concurrency,
            "this_interval": self._figures(window), "last_interval": self._figures(window - 1),
            "waiting_for_retry_after": self._pacer.paused_count(now)}
        save_report(self._store, REPORT, body)
        self._saved_at, self._unsaved = now, False

    def _figures(self, window: int) -> dict[str, Any] | None:
        tally = self._tallies.get(window)
        if tally is None:
            return None
        started = datetime.fromtimestamp(window * self._interval, UTC)
        return {"started_at": started.isoformat(), "read": tally[READ], "failed": tally[FAILED],
                "rate_limited": tally[RATE_LIMITED], "skipped": tally[SKIPPED]}
