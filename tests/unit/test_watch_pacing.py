"""The watcher's turns: evenly spread in each window, handed out once, an org's Retry-After
honoured for that org alone; and a 429's Retry-After as Webex may write it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import requests

from bot.jobs.watch_pacing import Pacer, stable_order
from bot.webex.errors import WebexCallError

ORGS = ["org-a", "org-b", "org-c", "org-d"]
WINDOW = 1000  # the window number the tests start in; interval 100 s: it starts at 100,000 s


def offsets(turns, interval=100.0) -> dict[str, float]:
    return {turn.org_id: turn.at - WINDOW * interval for turn in turns}


def test_each_org_has_one_turn_per_window_evenly_spaced_in_a_stable_order():
    pacer = Pacer(100)
    everything = pacer.due(WINDOW * 100 + 99.9, lambda: ORGS)
    assert sorted(offsets(everything).values()) == [0, 25, 50, 75]
    assert [turn.org_id for turn in everything] == stable_order(ORGS)
    assert stable_order(list(reversed(ORGS))) == stable_order(ORGS)
    assert pacer.due(WINDOW * 100 + 99.95, lambda: ORGS) == []  # each handed out once
    assert pacer.next_at() == (WINDOW + 1) * 100


def test_turns_come_due_one_at_a_time():
    pacer = Pacer(100)
    assert len(pacer.due(WINDOW * 100, lambda: ORGS)) == 1  # the first, at the window's start
    assert pacer.next_at() == WINDOW * 100 + 25
    assert len(pacer.due(WINDOW * 100 + 30, lambda: ORGS)) == 1
    # A step that comes late into the next window hands out the old window's turns first.
    late_and_new = pacer.due((WINDOW + 1) * 100 + 1, lambda: ORGS)
    assert [turn.window for turn in late_and_new] == [WINDOW, WINDOW, WINDOW + 1]


def test_a_retry_after_within_the_window_gives_that_org_a_later_turn_in_it():
    pacer = Pacer(100)
    first = pacer.due(WINDOW * 100, lambda: ORGS)[0]
    pacer.defer(first.org_id, WINDOW * 100 + 40)
    assert pacer.paused(first.org_id, WINDOW * 100 + 39) == WINDOW * 100 + 40
    assert [turn.org_id for turn in pacer.due(WINDOW * 100 + 39, lambda: ORGS)] == [
        stable_order(ORGS)[1]]  # the next org's turn, at 25: not delayed by the pause
    again = pacer.due(WINDOW * 100 + 40, lambda: ORGS)
    assert [(turn.org_id, turn.at) for turn in again] == [(first.org_id, WINDOW * 100 + 40)]
    assert pacer.paused(first.org_id, WINDOW * 100 + 40) is None


def test_a_retry_after_past_the_window_skips_that_org_until_it_ends():
    pacer = Pacer(100)
    pacer.due(WINDOW * 100 + 99, lambda: ORGS)
    limited = stable_order(ORGS)[0]  # its turn is at offset 0
    pacer.defer(limited, (WINDOW + 1) * 100 + 150)  # past the whole next window
    assert pacer.paused_count((WINDOW + 1) * 100) == 1
    next_window = pacer.due((WINDOW + 1) * 100 + 99, lambda: ORGS)
    assert limited not in {turn.org_id for turn in next_window} and len(next_window) == 3
    after = pacer.due((WINDOW + 2) * 100 + 60, lambda: ORGS)
    assert offsets(after)[limited] == 250  # at max(its turn, the Retry-After's end)


def test_a_window_whose_orgs_cannot_be_listed_is_planned_at_the_next_step():
    pacer = Pacer(100)

    def unknown() -> list[str]:
        raise WebexCallError(None, "no answer")

    try:
        pacer.due(WINDOW * 100, unknown)
    except WebexCallError:
        pass
    assert len(pacer.due(WINDOW * 100 + 60, lambda: ORGS)) == 3


def response_429(retry_after: str | None) -> requests.Response:
    response = requests.Response()
    response.status_code = 429
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response


def test_a_429_carries_its_retry_after_in_seconds_or_as_a_date():
    assert WebexCallError.from_response(response_429("30")).retry_after == 30
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= WebexCallError.from_response(response_429(in_a_minute)).retry_after <= 60
    assert WebexCallError.from_response(response_429("soon")).retry_after is None
    assert WebexCallError.from_response(response_429(None)).retry_after is None
