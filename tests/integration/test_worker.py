"""The inbox worker: processes what the intake stored, retries failures with backoff, then keeps
them as failed with the reason (never dropped); an outcome the database cannot take at once is
written later, without processing the event again."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.domain.events import parse_envelope
from bot.inbox.queue import Inbox
from bot.inbox.worker import MAX_ATTEMPTS, Worker, backoff
from bot.storage.models import InboxEvent
from bot.storage.store import Store
from bot.webhook.intake import InFlight
from tests.support.factories import envelope
from tests.support.waiting import wait_until


@pytest.fixture
def inbox(database_url):
    store = Store(database_url)
    yield Inbox(store)
    store.dispose()


def stored_event(inbox: Inbox, data_id: str) -> int:
    raw = json.dumps(envelope(data_id=data_id)).encode()
    return inbox.record(parse_envelope(raw), raw)


def status_is(inbox: Inbox, status: str) -> Callable[[], bool]:
    return lambda: inbox.counts().get(status, 0) > 0


def process_until(inbox: Inbox, data_id: str, processor, until: Callable[[], object],
                  **options) -> None:
    """Store one event, run a worker (two threads unless told) until ``until()``, stop it."""
    worker = Worker(inbox, processor, **{"threads": 2, "poll_seconds": 0.05, **options})
    worker.start()
    try:
        worker.wake(stored_event(inbox, data_id))
        wait_until(until, f"event {data_id} processed", detail=inbox.counts)
    finally:
        worker.stop()


def failing(monkeypatch, inbox: Inbox, method: str, still_down: Callable[[int], bool]) -> list:
    """Make ``inbox.<method>`` raise as if the database were down while ``still_down(failures so
    far)``, then work; returns the failures."""
    real = getattr(inbox, method)
    raised = []

    def flaky(*args, **kwargs):
        if still_down(len(raised)):
            raised.append(method)
            raise OperationalError(f"UPDATE inbox_events ({method})", {}, ConnectionError("down"))
        return real(*args, **kwargs)

    monkeypatch.setattr(inbox, method, flaky)
    return raised


def failing_first(monkeypatch, inbox: Inbox, method: str, times: int) -> list:
    return failing(monkeypatch, inbox, method, lambda failures: failures < times)


def replying(calls: list) -> Callable:
    """A processor that notes each event it is given (as if it posted a reply)."""
    return lambda event: calls.append(event.data_id) or "replied"


def test_a_reply_is_not_posted_again_when_recording_it_fails_for_a_while(inbox, monkeypatch):
    raised = failing_first(monkeypatch, inbox, "done", times=2)
    calls = []
    # A short lease: were the event let go when recording failed, it would be taken again at once.
    process_until(inbox, "reply-once", replying(calls), status_is(inbox, "done"),
                  lease_seconds=0.5)
    time.sleep(0.6)  # longer than the lease: nobody takes it again
    assert raised == ["done", "done"] and calls == ["reply-once"]
    assert inbox.counts() == {"done": 1}


def test_a_lease_run_out_during_an_outage_is_not_processed_again_by_a_sibling_thread(
        inbox, monkeypatch):
    back_at = time.monotonic() + 1.0  # longer than the lease, which cannot be renewed meanwhile
    for method in ("renew", "done"):
        failing(monkeypatch, inbox, method, lambda failures: time.monotonic() < back_at)
    calls = []
    process_until(inbox, "outlived-its-lease", replying(calls), status_is(inbox, "done"),
                  lease_seconds=0.3)
    assert calls == ["outlived-its-lease"]


def test_a_final_failure_is_recorded_without_another_attempt_when_recording_fails(inbox,
                                                                                  monkeypatch):
    raised = failing_first(monkeypatch, inbox, "failed", times=2)
    calls = []

    def explode(event):
        calls.append(event.data_id)
        raise RuntimeError("Webex HTTP 503: still down")

    process_until(inbox, "doomed-once", explode, status_is(inbox, "failed"), lease_seconds=0.5,
                  retry_delay=lambda attempts: timedelta(milliseconds=10))
    assert raised == ["failed", "failed"] and calls == ["doomed-once"] * MAX_ATTEMPTS
    with inbox._store.session() as session:
        assert session.scalars(select(InboxEvent)).one().attempts == MAX_ATTEMPTS


def test_a_lost_lease_is_logged_with_the_event(inbox, monkeypatch, caplog):
    monkeypatch.setattr(inbox, "done", lambda row_id, owner: False)  # another worker took it

    def lost_leases():
        return [r for r in caplog.records if "lost its lease" in r.getMessage()]

    process_until(inbox, "taken-over", replying([]), lost_leases, threads=1)
    assert lost_leases()[0].levelname == "WARNING" and "taken-over" in lost_leases()[0].getMessage()


def test_an_outcome_not_recorded_by_stop_is_logged_and_the_event_let_go(inbox, monkeypatch,
                                                                          caplog):
    failing_first(monkeypatch, inbox, "done", times=10**6)  # the database never comes back
    calls = []
    worker = Worker(inbox, replying(calls), threads=1, poll_seconds=0.05)
    worker.start()
    worker.wake(stored_event(inbox, "unrecorded"))
    wait_until(lambda: calls, "the event handed to the processor")
    started = time.monotonic()
    worker.stop(timeout=5)
    assert time.monotonic() - started < 2 and not worker._in_flight
    assert any("not recorded" in r.getMessage() and "unrecorded" in r.getMessage()
               for r in caplog.records)
    assert calls == ["unrecorded"] and inbox.counts() == {"processing": 1}


def test_a_failing_event_is_retried_then_kept_as_failed_with_its_reason(inbox):
    calls = []

    def explode(event):
        calls.append(event.data_id)
        raise RuntimeError("Webex HTTP 503: still down")

    process_until(inbox, "doomed", explode, status_is(inbox, "failed"),
                  retry_delay=lambda attempts: timedelta(milliseconds=10))
    assert calls == ["doomed"] * MAX_ATTEMPTS
    with inbox._store.session() as session:
        row = session.scalars(select(InboxEvent)).one()
    assert row.attempts == MAX_ATTEMPTS and "still down" in row.last_error


def test_a_transient_failure_is_retried_until_it_works(inbox):
    attempts = []

    def flaky(event):
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("no answer")
        return "ok"

    process_until(inbox, "flaky", flaky, status_is(inbox, "done"), threads=1,
                  retry_delay=lambda attempts: timedelta(milliseconds=10))
    assert len(attempts) == 3


def test_backoff_grows_and_is_capped():
    delays = [backoff(n).total_seconds() for n in (1, 2, 3, 20)]
    assert delays[0] < delays[1] < delays[2] and delays[3] <= 360


def test_webhook_requests_in_flight_go_first_but_only_for_a_moment():
    in_flight = InFlight()
    started = time.monotonic()
    in_flight.wait_quiet(5)
    assert time.monotonic() - started < 0.5  # nothing in flight: no wait
    with in_flight.request():
        started = time.monotonic()
        in_flight.wait_quiet(0.2)
        assert 0.15 <= time.monotonic() - started < 2  # bounded: processing is never starved

    def answer_soon():
        with in_flight.request():
            time.sleep(0.2)

    thread = threading.Thread(target=answer_soon)
    thread.start()
    time.sleep(0.05)
    started = time.monotonic()
    in_flight.wait_quiet(5)
    assert 0.05 <= time.monotonic() - started < 2  # until the request is answered
    thread.join()


def test_an_event_without_a_wakeup_is_taken_by_the_next_sweep(inbox):
    seen = []
    worker = Worker(inbox, lambda event: seen.append(event.data_id) or "ok", threads=1,
                    poll_seconds=0.2)
    worker.start()
    try:
        late = stored_event(inbox, "stored-without-a-wakeup")  # as after a restart
        worker.wake(stored_event(inbox, "new"))
        wait_until(lambda: len(seen) >= 2, "both events processed, the one without a wakeup too",
                   detail=lambda: seen)
    finally:
        worker.stop()
    assert late and set(seen) == {"new", "stored-without-a-wakeup"}


def test_a_stream_of_requests_keeps_the_work_waiting_until_its_bound():
    """Between two requests of a burst none is in flight; under gevent that is every moment the
    work could look. The work goes on only after a gap with no new request, or at its bound."""
    in_flight = InFlight(quiet_gap=0.5)  # far above a loaded machine's scheduling hiccups
    stop = threading.Event()

    def stream():  # a request every 5 ms, each answered at once
        while not stop.is_set():
            with in_flight.request():
                pass
            time.sleep(0.005)

    thread = threading.Thread(target=stream)
    thread.start()
    try:
        time.sleep(0.05)
        started = time.monotonic()
        in_flight.wait_quiet(0.3)
        assert 0.25 <= time.monotonic() - started < 2  # waited for its bound, not for a gap
    finally:
        stop.set()
        thread.join()
    started = time.monotonic()
    in_flight.wait_quiet(5)
    assert time.monotonic() - started < 2  # the stream stopped: quiet after the gap


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_under_a_flood_that_never_goes_quiet_the_work_keeps_up(inbox):
    """Acknowledging first bounds how long an event waits from its arrival, not each claim: under
    deliveries that never leave a quiet moment, events are taken as soon as they are old enough,
    so one thread clears eight events in about the bound, not eight times it."""
    from bot.app import ACK_FIRST_SECONDS, _ack_first_wait

    in_flight = InFlight(quiet_gap=0.5)
    stop = threading.Event()

    def flood():
        while not stop.is_set():
            with in_flight.request():
                pass
            time.sleep(0.005)

    processed: list[str] = []
    worker = Worker(inbox, lambda event: processed.append(event.data_id) or "done", threads=1,
                    poll_seconds=0.05,
                    before_processing=lambda received_at: in_flight.wait_quiet(
                        _ack_first_wait(received_at)))
    thread = threading.Thread(target=flood)
    thread.start()
    worker.start()
    try:
        started = time.monotonic()
        for n in range(8):
            worker.wake(stored_event(inbox, f"flood-{n}"))
        wait_until(lambda: len(processed) == 8, "eight events processed", timeout=30)
        took = time.monotonic() - started
        assert ACK_FIRST_SECONDS * 0.9 <= took < ACK_FIRST_SECONDS * 3, took
    finally:
        worker.stop()
        stop.set()
        thread.join()
