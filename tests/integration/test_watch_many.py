"""The change watcher over the seed's four orgs (acme, globex, initech, umbrella, each connected by
its own Service App pair), against the emulator over HTTP: each org read once per interval at its
own offset, at most WATCH_CONCURRENCY calls in flight (the emulator's peak), a rate-limited org
leaving the others on time, a 429's Retry-After honoured for that org alone, and two processes
that both think they run the round reading each org once per interval. A failing and a hanging
org, under gunicorn: tests/e2e/test_watch_orgs.py."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

import pytest
from sqlalchemy import event

from bot.chat.services import build_services
from bot.jobs.scheduler import run_paced
from bot.jobs.watcher import LEASE, LEASE_TTL, Watcher
from bot.storage.leases import Leases
from bot.storage.reports import read_report
from bot.storage.store import Store
from tests.support.factories import make_settings
from tests.support.orgs import SERVICE_APP, connect
from tests.support.waiting import wait_until
from tests.support.watch_reads import (
    ON_TIME,
    ORGS,
    RULES_READ,
    assert_read_on_time,
    full_windows,
    in_window,
    nothing_in_flight,
    rules_reads,
    turns,
)

# They live through several of the watcher's windows (seconds each): in make test, not test-fast.
pytestmark = pytest.mark.slow


@dataclass
class Watching:
    """A watcher running its paced round in a thread, as a process's scheduler runs it."""

    watcher: Watcher
    store: Store
    services: object
    interval: int
    stopping: threading.Event
    thread: threading.Thread
    started_at: float
    stopped_at: float = 0.0

    def stop(self) -> None:
        if not self.stopping.is_set():
            self.stopped_at = time.time()
            self.stopping.set()
            self.thread.join(timeout=10)
            self.watcher.stop()

    def full_windows(self) -> list[int]:
        return full_windows(self.started_at, self.stopped_at, self.interval)

    def report(self) -> dict:
        return read_report(self.store, "watcher")


@pytest.fixture
def watch(emulator, tmp_path):
    """Start watchers (each with its own services and database connections, as processes have
    them) of the four connected orgs; each runs until the test ends or stops it."""
    connect(emulator, tmp_path, *ORGS)
    emulator.control("DELETE", "calls")  # connecting's calls out of the log and the peak
    running: list[Watching] = []

    def start(*, interval: int, concurrency: int = 8, timeout: float = 10.0,
              lease: str = LEASE) -> Watching:
        settings = make_settings(tmp_path, webex_base_url=emulator.base_url,
                                 watch_interval_seconds=interval, watch_concurrency=concurrency,
                                 webex_timeout_seconds=timeout, **SERVICE_APP)
        store = Store(settings.database_url)
        services = build_services(settings, store)
        watcher, stopping = Watcher(services, store), threading.Event()
        thread = threading.Thread(
            target=run_paced, daemon=True,
            args=(Leases(store), lease, f"test-{len(running)}", watcher.step, stopping),
            kwargs={"lease": LEASE_TTL, "idle_seconds": 0.2})
        watching = Watching(watcher, store, services, interval, stopping, thread, time.time())
        running.append(watching)
        thread.start()
        return watching

    yield start
    for watching in running:
        watching.stop()
        watching.services.parallel.shutdown(wait=False)
        watching.store.dispose()


def test_every_org_is_read_once_per_interval_spread_over_it(emulator, watch):
    watching = watch(interval=2)
    time.sleep(7)
    watching.stop()

    assert_read_on_time(emulator, watching.full_windows(), watching.interval, ORGS)
    assert sorted(turns(emulator, 2).values()) == [0, 0.5, 1, 1.5]  # a quarter apart
    report = watching.report()
    assert report["ok"] and report["orgs"] == 4 and report["error"] is None
    assert report["last_interval"]["read"] == 4
    assert report["last_interval"]["failed"] == report["last_interval"]["rate_limited"] == 0


def test_the_calls_in_flight_never_exceed_the_concurrency(emulator, watch):
    # Every read takes 1.2 s and a turn comes every 0.5 s: unbounded, three would be in flight.
    emulator.add_fault(method="GET", path="/v1/telephony/*", latencyMs=1200)
    watching = watch(interval=2, concurrency=2)
    time.sleep(7)
    watching.stop()
    nothing_in_flight(emulator)

    peak = emulator.control("GET", "calls/peak").json()
    assert peak["peak"] == 2, peak  # the bound, reached and never passed
    assert peak["byEndpoint"] == {RULES_READ: 2}
    assert {read.org for read in rules_reads(emulator)} == set(ORGS)


def test_a_429_pauses_that_org_alone_until_its_retry_after(emulator, watch):
    emulator.add_fault(method="GET", path="/v1/telephony/*", orgId="initech", status=429,
                       retryAfter=5, count=1)
    watching = watch(interval=2, concurrency=1)  # one worker: a wait inside it would hold all
    limited = wait_until(lambda: [r for r in rules_reads(emulator) if r.status == 429],
                         "initech rate-limited", timeout=10)[0]
    report = wait_until(lambda: watching.report() if (watching.report() or {}).get(
        "waiting_for_retry_after") else None, "the pause in the watcher's report", timeout=5)
    time.sleep(8)
    watching.stop()

    others = ("acme", "globex", "umbrella")
    assert_read_on_time(emulator, watching.full_windows(), 2, others)
    initech = [read.at for read in rules_reads(emulator)
               if read.org == "initech" and read.at > limited.at]
    assert initech, "initech was never read again"
    assert limited.at + 5 <= initech[0] < limited.at + 5 + 2 + ON_TIME  # its next turn after 5 s
    counted = [report[name]["rate_limited"] for name in ("this_interval", "last_interval")
               if report[name]]
    assert sum(counted) == 1 and report["waiting_for_retry_after"] == 1 and report["ok"]


def test_two_rounds_at_once_read_each_org_once_per_interval(emulator, watch):
    # Two processes that each hold a round lease (one that ran out, taken over while the first
    # still runs): each org's look is claimed for its window, so neither reads it a second time.
    first = watch(interval=2, lease="round-a")
    second = watch(interval=2, lease="round-b")
    time.sleep(7)
    first.stop()
    second.stop()
    watching = first if first.started_at > second.started_at else second

    assert_read_on_time(emulator, watching.full_windows(), watching.interval, ORGS)


def test_a_backlog_into_the_next_window_reads_no_org_twice_in_it(emulator, watch):
    # Started 2 s into a 3 s window, one worker, reads of 0.6 s: the three orgs whose turn passed
    # are due at once and the last of them, with the fourth, are read in the next window. Each
    # such late look counts for the window it ran in: the org's own turn there reads nothing more.
    emulator.add_fault(method="GET", path="/v1/telephony/*", latencyMs=600)
    interval = 3
    time.sleep(interval - time.time() % interval + 2.0)
    watching = watch(interval=interval, concurrency=1)
    first = int(watching.started_at // interval)
    time.sleep((first + 3) * interval + 0.8 - time.time())
    watching.stop()
    nothing_in_flight(emulator)

    reads = rules_reads(emulator)
    assert len(in_window(reads, first, interval)) >= 2  # the catch-up began in the first window
    for window in (first + 1, first + 2):
        assert Counter(read.org for read in in_window(reads, window, interval)) == Counter(ORGS), \
            (window, in_window(reads, window, interval))


def test_the_watchers_database_writes_are_one_claim_per_read_and_a_few_a_second(emulator, watch):
    # The writes queue with those of the people's requests (SQLite: one writer at a time): a
    # claim per read is needed across instances, but the round's lease and the /healthz report
    # are written at most once a second however fast the turns come (4 a second here).
    writes: list[tuple[str, str]] = []
    watching = watch(interval=1)
    event.listen(watching.store.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, parameters, *_rest: writes.append(
                     (statement.split()[0].upper(), f"{statement} {parameters}")))
    began = time.time()
    time.sleep(5)
    watching.stop()
    seconds = time.time() - began

    written = [text for verb, text in writes if verb in ("INSERT", "UPDATE")]
    reads = len([read for read in rules_reads(emulator) if read.at >= began])
    round_lease = [text for text in written if "leases" in text and f"'{LEASE}'" in text]
    reports = [text for text in written if "status_reports" in text]
    claims = [text for text in written if "leases" in text and "watch-org:" in text]
    assert reads >= 16
    assert len(claims) <= reads + 2 * len(ORGS)  # the first of each org: an UPDATE, then its INSERT
    assert len(round_lease) <= seconds + 1, len(round_lease)
    assert len(reports) <= seconds + 1, len(reports)
