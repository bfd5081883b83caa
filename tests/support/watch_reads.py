"""The watcher's reads of each org's rules as the emulator saw them (its call log): when each
arrived, for which org, in which of the watcher's windows, and whether each org's came at its turn."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from bot.jobs.watch_pacing import stable_order
from tests.support.waiting import wait_until

ORGS = ("acme", "globex", "initech", "umbrella")
RULES_READ = "GET /v1/telephony/config/voicemail/rules"
ON_TIME = 0.5  # seconds a read may come after its turn, on a loaded machine


@dataclass
class Read:
    at: float  # when the read reached the emulator (epoch seconds)
    org: str  # the org's seed key
    status: int


def rules_reads(emulator) -> list[Read]:
    keys = {emulator.id(key): key for key in ORGS}
    return [Read(arrival(call), keys[call["callerOrgId"]], call["status"])
            for call in emulator.control("GET", "calls/log").json()["items"]
            if call["endpoint"] == RULES_READ]


def arrival(call: dict) -> float:
    """When a call reached the emulator: the log's time is when it was answered."""
    answered = datetime.fromisoformat(call["time"].replace("Z", "+00:00")).timestamp()
    return answered - call["ms"] / 1000


def nothing_in_flight(emulator) -> None:
    wait_until(lambda: emulator.control("GET", "calls/peak").json()["inFlight"] == 0,
               "every call answered", timeout=10)


def full_windows(started: float, stopped: float, interval: int) -> list[int]:
    """The windows wholly watched: the first that started after the start to the last that
    ended before the stop."""
    return list(range(int(started // interval) + 1, int(stopped // interval)))


def turns(emulator, interval: int) -> dict[str, float]:
    """Each org's offset in the window: evenly spaced, in the watcher's stable order."""
    order = stable_order([emulator.id(key) for key in ORGS])
    keys = {emulator.id(key): key for key in ORGS}
    return {keys[org_id]: number * interval / len(order) for number, org_id in enumerate(order)}


def in_window(reads: list[Read], window: int, interval: int) -> list[Read]:
    return [read for read in reads if window * interval <= read.at < (window + 1) * interval]


def assert_read_on_time(emulator, windows: list[int], interval: int,
                        orgs: tuple[str, ...]) -> None:
    """Each of ``orgs`` read once, at its turn, in every window of ``windows``."""
    assert len(windows) >= 2, "the test watched less than two whole windows"
    reads = [read for read in rules_reads(emulator) if read.org in orgs]
    offsets = turns(emulator, interval)
    for window in windows:
        seen = in_window(reads, window, interval)
        assert Counter(read.org for read in seen) == Counter(orgs), (window, seen)
        for read in seen:
            late = read.at - window * interval - offsets[read.org]
            assert 0 <= late < ON_TIME, f"{read.org} read {late:.2f} s after its turn"
            assert read.status == 200


