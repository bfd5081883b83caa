"""The inbox worker: processes what the intake stored, retries failures with backoff, then keeps
them as failed with the reason (never dropped)."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.events import parse_envelope
from bot.inbox import Inbox
from bot.intake import InFlight
from bot.models import InboxEvent
from bot.store import Store
from bot.worker import MAX_ATTEMPTS, Worker, backoff
from tests.factories import envelope


@pytest.fixture
def inbox(database_url):
    store = Store(database_url)
    yield Inbox(store)
    store.dispose()


def stored_event(inbox: Inbox, data_id: str) -> int:
    raw = json.dumps(envelope(data_id=data_id)).encode()
    return inbox.record(parse_envelope(raw), raw)


def wait_for_status(inbox: Inbox, status: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while inbox.counts().get(status, 0) == 0:
        assert time.monotonic() < deadline, f"no event became {status}: {inbox.counts()}"
        time.sleep(0.02)


def test_a_failing_event_is_retried_then_kept_as_failed_with_its_reason(inbox):
    calls = []

    def explode(event):
        calls.append(event.data_id)
        raise RuntimeError("Webex HTTP 503: still down")

    worker = Worker(inbox, explode, threads=2, poll_seconds=0.05,
                    retry_delay=lambda attempts: timedelta(milliseconds=10))
    worker.start()
    try:
        worker.wake(stored_event(inbox, "doomed"))
        wait_for_status(inbox, "failed")
    finally:
        worker.stop()
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

    worker = Worker(inbox, flaky, threads=1, poll_seconds=0.05,
                    retry_delay=lambda attempts: timedelta(milliseconds=10))
    worker.start()
    try:
        worker.wake(stored_event(inbox, "flaky"))
        wait_for_status(inbox, "done")
    finally:
        worker.stop()
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
        deadline = time.monotonic() + 10
        while len(seen) < 2:
            assert time.monotonic() < deadline, seen
            time.sleep(0.02)
    finally:
        worker.stop()
    assert late and set(seen) == {"new", "stored-without-a-wakeup"}
