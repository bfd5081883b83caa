"""Webex answers that retrying cannot change, under gunicorn against the emulator over HTTP.

A message or submit that is gone (404/410), a card deleted meanwhile, a space the bot may not post
in (403): the event ends at once, done, with the reason logged at INFO, and no error card. Webex
busy (503) is retried with backoff. A second press of an already used Confirm is answered quietly.
"""

from __future__ import annotations

import sqlite3
import time

import pytest
import requests

from tests.support.bot_process import start_one_worker_bot
from tests.support.bot_server import Persona, card_of, card_text
from tests.support.deliveries import deliver, event_for, say
from tests.support.factories import SECRET, envelope, signed
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def deployment(emulator_session, tmp_path_factory):
    """One gunicorn for the module; no webhooks are registered: each test delivers its events."""
    workdir = tmp_path_factory.mktemp("permanent")
    bot = start_one_worker_bot(emulator_session, workdir, SECRET)
    yield bot, workdir
    bot.stop()


@pytest.fixture
def bot(deployment, emulator):
    return deployment


def inbox_row(workdir, data_id: str) -> tuple | None:
    with sqlite3.connect(workdir / "bot.sqlite3") as db:
        return db.execute("SELECT status, attempts FROM inbox_events WHERE data_id = ?",
                          (data_id,)).fetchone()


def wait_status(workdir, data_id: str, status: str, timeout: float = 10) -> tuple:
    def in_status() -> tuple | None:
        row = inbox_row(workdir, data_id)
        return row if row is not None and row[0] == status else None

    return wait_until(in_status, f"event {data_id} to be {status}", timeout=timeout, interval=0.05,
                      detail=lambda: inbox_row(workdir, data_id))


def bot_replies(emulator, room: str = "dm-alice") -> list[dict]:
    bot_id, room_id = emulator.id("bot"), emulator.id(room)
    with emulator.state.lock:
        return [dict(m) for m in emulator.state.messages.values()
                if m["personId"] == bot_id and m["roomId"] == room_id]


def action_event(emulator, action: dict) -> tuple[bytes, dict]:
    body = envelope("attachmentActions", "created", data_id=action["id"],
                    messageId=action["messageId"], personId=emulator.id("alice"),
                    roomId=action["roomId"])
    body["actorId"] = emulator.id("alice")
    return signed(body)


def ended_at_once(bot, workdir, data_id: str) -> None:
    """Done after one attempt, still one attempt a backoff later, the reason at INFO."""
    assert wait_status(workdir, data_id, "done") == ("done", 1)
    time.sleep(2.5)  # the first retry would have come by now
    assert inbox_row(workdir, data_id) == ("done", 1)
    lines = [line for line in bot.log().splitlines() if data_id in line]
    ended = [line for line in lines if "ended without retrying: Webex HTTP 4" in line]
    assert ended and all(" INFO " in line for line in ended), lines
    assert not [line for line in lines if " ERROR " in line or " WARNING " in line], lines


@pytest.mark.parametrize("status", [404, 410])
def test_a_message_that_is_gone_ends_its_event_at_once(emulator, bot, status):
    process, workdir = bot
    message = say(emulator, "show")
    emulator.add_fault(method="GET", path=f"/v1/messages/{message['id']}", status=status)
    before = len(bot_replies(emulator))

    assert deliver(process.url, *event_for(emulator, message)) == 202

    ended_at_once(process, workdir, message["id"])
    assert len(bot_replies(emulator)) == before  # nothing to say about a message that is gone


def test_a_submit_that_is_gone_ends_its_event_at_once(emulator, bot):
    process, workdir = bot
    emulator.add_fault(method="GET", path="/v1/attachment/actions/*", status=404)
    body = envelope("attachmentActions", "created",
                    data_id="Y2lzY29zcGFyazovL3VzL0FUVEFDSE1FTlRfQUNUSU9OL2dvbmU",
                    messageId="Y2lzY29zcGFyazovL3VzL01FU1NBR0UvZ29uZQ", personId=emulator.id("alice"))

    assert deliver(process.url, *signed(body)) == 202

    ended_at_once(process, workdir, body["data"]["id"])


def test_a_space_the_bot_may_not_post_in_ends_the_event(emulator, bot):
    process, workdir = bot
    message = say(emulator, "help")
    emulator.add_fault(method="POST", path="/v1/messages", status=403)

    assert deliver(process.url, *event_for(emulator, message)) == 202

    ended_at_once(process, workdir, message["id"])


def test_webex_busy_is_still_retried_with_backoff(emulator, bot):
    process, workdir = bot
    message = say(emulator, "help")
    # More 503s than the client's own bounded retries: the first attempt of the event fails.
    emulator.add_fault(method="GET", path=f"/v1/messages/{message['id']}", status=503, count=4)

    assert deliver(process.url, *event_for(emulator, message)) == 202

    assert wait_status(workdir, message["id"], "done", timeout=15) == ("done", 2)
    assert "retrying in" in process.log()


def test_a_second_press_is_answered_quietly_and_a_press_on_a_deleted_card_ends(emulator, bot):
    process, workdir = bot
    alice = Persona(emulator, "alice", "dm-alice")
    message = say(emulator, "set expiry 40")
    assert deliver(process.url, *event_for(emulator, message)) == 202
    confirmation = alice.wait_reply()
    change_id = card_of(confirmation)["actions"][0]["data"]["changeId"]
    # Three presses of Confirm, their events delivered one after another.
    presses = [alice.submit(confirmation, action="confirm", changeId=change_id) for _ in range(3)]
    # The card cannot be deleted at first (so the second press finds it), then it can.
    emulator.add_fault(method="DELETE", path=f"/v1/messages/{confirmation['id']}", status=500,
                       count=1)

    assert deliver(process.url, *action_event(emulator, presses[0])) == 202
    assert "Change applied" in card_text(alice.wait_reply())
    wait_status(workdir, presses[0]["id"], "done")

    assert deliver(process.url, *action_event(emulator, presses[1])) == 202
    quiet = alice.wait_reply()
    assert quiet.get("attachments") is None, card_text(quiet)  # no error card
    assert "already applied" in quiet["markdown"]
    assert wait_status(workdir, presses[1]["id"], "done") == ("done", 1)

    requests.delete(f"{emulator.base_url}messages/{confirmation['id']}", timeout=5,
                    headers={"Authorization": "Bearer bot-token"}).raise_for_status()
    assert deliver(process.url, *action_event(emulator, presses[2])) == 202
    ended_at_once(process, workdir, presses[2]["id"])
    assert emulator.calls()["PUT /v1/telephony/config/voicemail/rules"] == 1


def test_webex_down_for_good_leaves_the_event_failed_loudly_and_in_healthz(emulator, bot):
    """Retried five times over about half a minute (2+4+8+16 s), then failed with an ERROR line
    and counted in /healthz."""
    process, workdir = bot
    message = say(emulator, "help")
    emulator.add_fault(method="GET", path=f"/v1/messages/{message['id']}", status=503)

    assert deliver(process.url, *event_for(emulator, message)) == 202

    assert wait_status(workdir, message["id"], "failed", timeout=60) == ("failed", 5)
    errors = [line for line in process.log().splitlines()
              if message["id"] in line and " ERROR " in line]
    assert errors and "failed for good after 5 attempts: WebexCallError: Webex HTTP 503" in errors[0]
    health = requests.get(f"{process.url}/healthz", timeout=10).json()
    assert health["components"]["inbox"]["failed"] >= 1
