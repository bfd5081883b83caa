"""When the change watcher reads each org: spread over each interval, an org asked to wait later.

Time is cut into *windows* of ``WATCH_INTERVAL_SECONDS``, counted from the epoch, so that every
process and instance agrees on them (a process taking the watcher over mid-window goes on with the
same window). The orgs connected when a window starts are each due once in it, evenly spaced
(``interval / n`` apart) in a stable order (a hash of the org id, not the order orgs connected):
with the same orgs, each org is read at the same offset of every window, one interval apart, and
Webex sees a steady trickle instead of every org at once.

An org that Webex rate-limits (429) is not due before its ``Retry-After`` has passed: later in the
same window when that is still in it, else at its turn of the first window that starts after it.
Nothing here does I/O or reads the clock; the watcher passes the time in.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Turn:
    """``org_id`` is due at ``at`` (epoch seconds) in window number ``window``."""

    at: float
    org_id: str
    window: int


def window_of(moment: float, interval: float) -> int:
    return int(moment // interval)


def stable_order(org_ids: list[str]) -> list[str]:
    return sorted(org_ids, key=lambda org_id: hashlib.sha256(org_id.encode()).hexdigest())


class Pacer:
    """The turns of the current window, handed out as they come due (thread-safe)."""

    def __init__(self, interval: float):
        self._interval = interval
        self._lock = threading.Lock()
        self._window: int | None = None
        self._turns: list[Turn] = []  # not yet handed out, by time
        self._not_before: dict[str, float] = {}  # org -> end of its Retry-After

    def due(self, now: float, connected: Callable[[], list[str]]) -> list[Turn]:
        """The turns due by ``now``, each handed out once; a new window is planned from
        ``connected()`` when ``now`` enters it (turns of the old window still waiting come
        first: late, but not lost)."""
        with self._lock:
            window = window_of(now, self._interval)
            late: list[Turn] = []
            if window != self._window:
                turns = self._plan(window, connected())  # if it raises, planned at the next call
                late, self._turns, self._window = self._turns, turns, window
            ready = bisect.bisect_right(self._turns, now, key=lambda turn: turn.at)
            due, self._turns = self._turns[:ready], self._turns[ready:]
            return late + due

    def next_at(self) -> float:
        """When the next turn is due: the first waiting one, else the next window's start."""
        with self._lock:
            if self._turns:
                return self._turns[0].at
            window = self._window if self._window is not None else 0
            return (window + 1) * self._interval

    def defer(self, org_id: str, until: float) -> None:
        """``org_id`` may not be read before ``until`` (its Retry-After): again in this window
        when ``until`` is in it, else at its turn of a later window."""
        with self._lock:
            self._not_before[org_id] = until
            if self._window is not None and window_of(until, self._interval) == self._window:
                bisect.insort(self._turns, Turn(until, org_id, self._window))

    def paused(self, org_id: str, now: float) -> float | None:
        """The end of ``org_id``'s Retry-After, while it lasts."""
        with self._lock:
            until = self._not_before.get(org_id)
            if until is not None and until <= now:
                del self._not_before[org_id]
                return None
            return until

    def paused_count(self, now: float) -> int:
        """How many orgs wait for their Retry-After at ``now``."""
        with self._lock:
            return sum(until > now for until in self._not_before.values())

    def _plan(self, window: int, org_ids: list[str]) -> list[Turn]:
        start, spacing = window * self._interval, self._interval / max(len(org_ids), 1)
        end = start + self._interval
        turns = []
        for number, org_id in enumerate(stable_order(org_ids)):
            at = max(start + number * spacing, self._not_before.get(org_id, 0.0))
            if at < end:  # else still paused by its Retry-After for this whole window
                turns.append(Turn(at, org_id, window))
        return sorted(turns)
