"""What the admin is told, and what is recorded, when things fail around the PUT (issue 12).

One deployment under gunicorn for the module, its webhooks registered at the emulator (whose state
is kept from test to test: each test asks for its own expiry value). The change watcher is off in
gunicorn; its rounds run here, one at a time, on the same database, so that they happen exactly
when a test wants them. The bot's rules calls time out after ``TIMEOUT`` seconds: a PUT answered
later than that is "lost" (carried out by the emulator, its answer held: ``delayAfterMs``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.chat.services import build_services
from bot.jobs.watcher import Watcher
from bot.storage.models import AuditEntry, PendingChange
from bot.storage.store import Store
from tests.support.bot_process import BotProcess, bot_env, flask_cli, free_port, start_gunicorn
from tests.support.bot_server import Persona, card_of, card_text
from tests.support.emulator_server import EmulatorServer
from tests.support.factories import SECRET, make_settings
from tests.support.waiting import wait_until

TIMEOUT = 3  # WEBEX_TIMEOUT_SECONDS of the deployment
LOST = TIMEOUT * 1000 + 2000  # an answer held this long never reaches the bot
LATE = 1500  # an answer held this long does, leaving the test time to act in between
RULES = "/v1/telephony/*"


@dataclass
class Deployment:
    emulator: EmulatorServer
    bot: BotProcess
    database: Path
    store: Store
    watcher: Watcher


@pytest.fixture(scope="module")
def deployment(emulator_session, tmp_path_factory):
    emulator = emulator_session
    emulator.reset()
    workdir = tmp_path_factory.mktemp("after-put")
    port = free_port()
    env = bot_env(emulator, workdir, SECRET, port, WEBEX_TIMEOUT_SECONDS=str(TIMEOUT),
                  NOTIFY_ROOM_IDS=emulator.id("notify"), WATCH_INTERVAL_SECONDS="0")
    bot = start_gunicorn(env, workdir, port, workers=1)
    sync = flask_cli(env, workdir, "webhooks", "sync")
    assert sync.returncode == 0, sync.stderr
    settings = make_settings(workdir, webex_base_url=emulator.base_url,
                             database_url=env["DATABASE_URL"], watch_interval_seconds=0,
                             notify_room_ids=emulator.id("notify"))
    store = Store(settings.database_url)
    services = build_services(settings, store)
    yield Deployment(emulator, bot, workdir / "bot.sqlite3", store, Watcher(services, store))
    services.parallel.shutdown(wait=False)
    store.dispose()
    bot.stop()


@pytest.fixture
def world(deployment):
    """The deployment; whatever a test injected into the emulator is cleared after it."""
    yield deployment
    deployment.emulator.control("DELETE", "faults")
    with deployment.emulator.state.lock:
        deployment.emulator.state.grants["admin-token"].expired = False


def propose(world: Deployment, days: int) -> tuple[Persona, dict, str]:
    alice = Persona(world.emulator, "alice", "dm-alice")
    alice.say(f"set expiry {days}")
    confirmation = alice.wait_reply(timeout=30)
    return alice, confirmation, card_of(confirmation)["actions"][0]["data"]["changeId"]


def answers_until(alice: Persona, words: str, timeout: float = 90.0) -> list[str]:
    """Every answer the bot gives until one contains ``words`` (the earlier ones included)."""
    said: list[str] = []
    deadline = time.monotonic() + timeout
    while not said or words not in said[-1]:
        try:
            said.append(text_of(alice.wait_reply(timeout=max(deadline - time.monotonic(), 0.1))))
        except AssertionError:
            raise AssertionError(f"the bot never said {words!r}; it said: {said}") from None
    return said


def text_of(message: dict) -> str:
    return card_text(message) if message.get("attachments") else str(message.get("markdown"))


def expiry_now(world: Deployment) -> int | None:
    rules = world.emulator.control("GET", "voicemail-rules").json()["rules"]["expirePasscode"]
    return rules.get("numberOfDays") if rules.get("enabled") else None


def status(world: Deployment, change_id: str) -> str:
    with world.store.session() as session:
        return session.get(PendingChange, change_id).status


def audited(world: Deployment, change_id: str) -> int:
    with world.store.session() as session:
        return len(session.scalars(select(AuditEntry).where(AuditEntry.change_id == change_id))
                   .all())


def notices(world: Deployment, days: int, where: str) -> list[str]:
    bot_id, room_id = world.emulator.id("bot"), world.emulator.id("notify")
    with world.emulator.state.lock:
        texts = [str(m.get("attachments")) for m in world.emulator.state.messages.values()
                 if m["personId"] == bot_id and m["roomId"] == room_id]
    return [text for text in texts if f"{days} days" in text and where in text]


def puts(world: Deployment) -> int:
    return world.emulator.calls().get("PUT /v1/telephony/config/voicemail/rules", 0)


def applied_through_the_bot(world: Deployment, change_id: str, days: int) -> None:
    """Recorded once, the request closed, the notify space told, the watcher silent about it."""
    assert expiry_now(world) == days
    assert audited(world, change_id) == 1
    assert status(world, change_id) == "applied"
    wait_until(lambda: notices(world, days, "through the bot"), "the notification", timeout=60)
    outcome = world.watcher.check()
    assert outcome in ("no change", "the bot's own change"), outcome
    assert notices(world, days, "outside the bot") == []


def test_a_put_whose_answer_is_lost_but_landed_is_applied(world):
    alice, confirmation, change_id = propose(world, 41)
    world.emulator.add_fault(method="PUT", path=RULES, delayAfterMs=LOST)  # every try
    alice.submit(confirmation, action="confirm", changeId=change_id)
    answer = card_text(alice.wait_reply(timeout=60))
    assert "Change applied" in answer, answer
    assert puts(world) >= 2  # the lost answers were retried, the rules read back
    applied_through_the_bot(world, change_id, 41)


def test_a_put_that_failed_with_a_5xx_and_did_not_land_is_plainly_not_applied(world):
    alice, confirmation, change_id = propose(world, 42)
    before = expiry_now(world)
    world.emulator.add_fault(method="PUT", path=RULES, status=500)
    alice.submit(confirmation, action="confirm", changeId=change_id)
    failure = alice.wait_reply(timeout=60)
    text = card_text(failure)
    assert "read back show that the change was not applied" in text, text
    assert "may have been" not in text and "Confirm again" in text
    assert expiry_now(world) == before and audited(world, change_id) == 0
    assert status(world, change_id) == "pending"  # Confirm again may apply it
    world.emulator.control("DELETE", "faults")
    alice.submit(failure, action="confirm", changeId=change_id)
    assert "Change applied" in card_text(alice.wait_reply(timeout=30))
    applied_through_the_bot(world, change_id, 42)


def lost_and_unreadable(world: Deployment, days: int) -> tuple[Persona, dict, str]:
    """Confirm a change whose PUT lands but whose answers are lost, and whose read-back fails."""
    alice, confirmation, change_id = propose(world, days)
    world.emulator.add_fault(method="PUT", path=RULES, delayAfterMs=LOST)
    alice.submit(confirmation, action="confirm", changeId=change_id)
    # the first PUT landed; its answer is held
    wait_until(lambda: expiry_now(world) == days, "the first PUT to land", timeout=60)
    world.emulator.add_fault(method="GET", path=RULES, status=503)  # so will the read-back be
    failure = alice.wait_reply(timeout=90)
    text = card_text(failure)
    assert "may have been applied" in text and "Confirm again" in text, text
    assert status(world, change_id) == "unknown" and audited(world, change_id) == 0
    world.emulator.control("DELETE", "faults")
    return alice, failure, change_id


def test_an_unknown_put_is_settled_by_confirm_again_as_already_applied(world):
    alice, failure, change_id = lost_and_unreadable(world, 43)
    sent = puts(world)
    alice.submit(failure, action="confirm", changeId=change_id)
    result = card_text(alice.wait_reply(timeout=30))
    assert "already applied" in result and "someone" not in result.lower(), result
    assert puts(world) == sent  # nothing sent again
    applied_through_the_bot(world, change_id, 43)


def test_an_unknown_put_is_settled_by_the_watcher(world):
    alice, _failure, change_id = lost_and_unreadable(world, 44)
    world.watcher.check()
    assert "Your change was applied" in card_text(alice.wait_reply(timeout=30))
    applied_through_the_bot(world, change_id, 44)


def test_the_watcher_tells_the_admin_when_an_unknown_put_did_not_land(world):
    alice, confirmation, change_id = propose(world, 48)
    before, sent = expiry_now(world), puts(world)
    # Every try is held a second, then its connection dropped: unanswered, never carried out.
    world.emulator.add_fault(method="PUT", path=RULES, latencyMs=1000, drop=True)
    alice.submit(confirmation, action="confirm", changeId=change_id)
    wait_until(lambda: puts(world) > sent, "another PUT", timeout=60)
    world.emulator.add_fault(method="GET", path=RULES, status=503)  # the read-back fails
    failure = alice.wait_reply(timeout=90)
    assert "may have been applied" in card_text(failure), card_text(failure)
    world.emulator.control("DELETE", "faults")
    world.watcher.check()
    told = text_of(alice.wait_reply(timeout=30))
    assert "not applied" in told and "Confirm again" in told, told
    assert status(world, change_id) == "pending" and audited(world, change_id) == 0
    assert expiry_now(world) == before
    alice.submit(failure, action="confirm", changeId=change_id)
    assert "Change applied" in card_text(alice.wait_reply(timeout=30))
    applied_through_the_bot(world, change_id, 48)


def test_a_failed_result_post_is_retried_and_never_reads_nothing_was_changed(world):
    alice, confirmation, change_id = propose(world, 45)
    # After the confirmation card, the bot posts the notification, then the result: that one fails.
    world.emulator.add_fault(method="POST", path="/v1/messages", status=500, skip=1, count=1)
    alice.submit(confirmation, action="confirm", changeId=change_id)
    said = answers_until(alice, "Change applied")
    assert not any("Nothing was changed" in text for text in said), said
    assert [c["status"] for c in world.emulator.control("GET", "calls/log").json()["items"]
            if c["endpoint"] == "POST /v1/messages"][-2:] == [500, 200]
    applied_through_the_bot(world, change_id, 45)


@pytest.mark.timeout(300)  # the database stays locked for 20 s
def test_a_database_locked_right_after_the_put_still_records_and_answers(world):
    alice, confirmation, change_id = propose(world, 46)
    world.emulator.add_fault(method="PUT", path=RULES, delayAfterMs=LATE, count=1)
    alice.submit(confirmation, action="confirm", changeId=change_id)
    wait_until(lambda: expiry_now(world) == 46, "the expiry to read 46", timeout=60)
    locked = threading.Event()
    holder = threading.Thread(target=hold_the_database, args=(world.database, locked, 20.0))
    holder.start()  # longer than the bot's SQLite busy timeout (15 s)
    try:
        assert locked.wait(timeout=10)
        said = answers_until(alice, "Change applied", timeout=120)
    finally:
        holder.join(timeout=60)
    assert not any("being applied right now" in text for text in said), said
    applied_through_the_bot(world, change_id, 46)


def hold_the_database(path: Path, locked: threading.Event, seconds: float) -> None:
    """An EXCLUSIVE transaction on the bot's database, as a backup or a stuck writer holds it."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)  # the fault being injected, not an assertion
        connection.execute("COMMIT")
    finally:
        connection.close()


def test_the_admin_token_expiring_between_put_and_read_back_still_records_it(world):
    alice, confirmation, change_id = propose(world, 47)
    world.emulator.add_fault(method="PUT", path=RULES, delayAfterMs=LATE, count=1)
    alice.submit(confirmation, action="confirm", changeId=change_id)
    wait_until(lambda: expiry_now(world) == 47, "the expiry to read 47", timeout=60)
    world.emulator.control("POST", "tokens/admin-token/expire")
    said = answers_until(alice, "Change applied")
    assert not any("authorization has expired" in text for text in said), said
    assert "reading the rules back failed" in said[-1]
    with world.emulator.state.lock:  # the operator re-authorizes the bot
        world.emulator.state.grants["admin-token"].expired = False
    applied_through_the_bot(world, change_id, 47)
