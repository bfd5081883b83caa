"""The change watcher: changes made outside the bot are announced once, with who. Under gunicorn,
then round by round in this process (a bot change or another round in between), then the
``flask watch`` command."""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import timedelta

import pytest
import requests

from bot.chat.services import build_services
from bot.jobs.watcher import BotAdmin, Watcher, latest_rules_event
from bot.storage.leases import Leases
from bot.storage.store import Store, upgrade
from tests.support.bot_process import BIN, bot_env, free_port, start_gunicorn
from tests.support.bot_server import Persona, card_of, card_text, start_bot
from tests.support.databases import fresh_postgres_database
from tests.support.deliveries import deliver, event_for, say
from tests.support.factories import SECRET, envelope, make_settings, signed
from tests.support.waiting import wait_until


def put_rules(emulator, token: str, body: dict) -> None:
    response = requests.put(f"{emulator.base_url}telephony/config/voicemail/rules", json=body,
                            headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 204, response.text


def bot_said(emulator, room: str) -> list[str]:
    bot_id, room_id = emulator.id("bot"), emulator.id(room)
    with emulator.state.lock:
        return [str(m.get("attachments") or m.get("markdown")) for m in
                emulator.state.messages.values()
                if m["personId"] == bot_id and m["roomId"] == room_id]


WAIT = 45.0  # seconds: rounds of the watcher under gunicorn on a loaded machine


def notices(emulator, room: str) -> list[str]:
    return [text for text in bot_said(emulator, room) if "rules changed" in text]


def start(emulator, tmp_path, *, admin_token: str = "admin-token", workers: int = 2, name="a",
          database_url: str | None = None):
    port = free_port()
    workdir = tmp_path / name
    workdir.mkdir(exist_ok=True)
    extra = {"WATCH_INTERVAL_SECONDS": "1", "NOTIFY_ROOM_IDS": emulator.id("notify"),
             "WEBEX_ADMIN_TOKEN": admin_token}
    if database_url:
        extra["DATABASE_URL"] = database_url
    return start_gunicorn(bot_env(emulator, workdir, SECRET, port, **extra), workdir, port,
                          workers=workers)


def subscribe_rita(emulator, bot) -> None:
    """Rita subscribes the way an admin does: by telling the bot (a signed event to the bot)."""
    message = say(emulator, "subscribe", key="rita", room="dm-rita")
    assert deliver(bot.url, *event_for(emulator, message)) == 202
    wait_until(lambda: any("Subscribed" in t for t in bot_said(emulator, "dm-rita")),
               "rita's subscription confirmed", timeout=WAIT)


def first_look_done(bot) -> None:
    wait_until(lambda: "first look" in bot.log() or
               requests.get(f"{bot.url}/healthz", timeout=5).json()["components"].get("watcher"),
               "the watcher's first look", timeout=WAIT)
    time.sleep(1.5)


def test_a_change_in_control_hub_is_announced_once_with_the_actor(emulator, tmp_path):
    bot = start(emulator, tmp_path)
    try:
        subscribe_rita(emulator, bot)
        first_look_done(bot)
        put_rules(emulator, "fiona-admin-token",
                  {"expirePasscode": {"enabled": True, "numberOfDays": 45}})
        notice = wait_until(lambda: notices(emulator, "notify"), "a notice in the notify space",
                            timeout=WAIT)
        assert "Fiona Field" in notice[0] and "100 days" in notice[0] and "45 days" in notice[0]
        assert "outside the bot" in notice[0]
        direct = wait_until(lambda: notices(emulator, "dm-rita"), "a notice in rita's 1:1 space",
                            timeout=WAIT)
        assert "Fiona Field" in direct[0]
        time.sleep(3)  # three more rounds
        assert len(notices(emulator, "notify")) == 1 and len(notices(emulator, "dm-rita")) == 1
    finally:
        bot.stop()


def test_without_the_audit_scope_the_change_is_anonymous(emulator, tmp_path):
    bot = start(emulator, tmp_path, admin_token="admin-token-no-audit")
    try:
        first_look_done(bot)
        put_rules(emulator, "fiona-admin-token",
                  {"changePasscode": {"enabled": True, "numberOfDays": 6}})
        notice = wait_until(lambda: notices(emulator, "notify"), "a notice in the notify space",
                            timeout=WAIT)[0]
        assert "They were changed outside the bot at" in notice and "Fiona" not in notice
        assert "outside the bot outside the bot" not in notice
        assert "6 days" in notice
    finally:
        bot.stop()


def test_a_change_through_the_bot_is_announced_once(emulator, tmp_path):
    bot = start(emulator, tmp_path)
    try:
        first_look_done(bot)
        message = say(emulator, "set expiry 61")
        assert deliver(bot.url, *event_for(emulator, message)) == 202
        card = wait_until(lambda: [m for m in emulator.state.messages.values()
                                   if m["personId"] == emulator.id("bot") and m.get("attachments")
                                   and "Confirm this change" in str(m["attachments"])],
                          "the bot's confirmation card", timeout=WAIT)[0]
        change_id = card["attachments"][0]["content"]["actions"][0]["data"]["changeId"]
        action = requests.post(f"{emulator.base_url}attachment/actions", timeout=10,
                               headers={"Authorization": "Bearer alice-token"},
                               json={"type": "submit", "messageId": card["id"],
                                     "inputs": {"action": "confirm", "changeId": change_id}}).json()
        body = envelope("attachmentActions", "created", data_id=action["id"],
                        messageId=card["id"], personId=emulator.id("alice"),
                        roomId=emulator.id("dm-alice"))
        assert deliver(bot.url, *signed(body)) == 202
        wait_until(lambda: notices(emulator, "notify"), "a notice in the notify space",
                   timeout=WAIT)
        time.sleep(3)
        assert len(notices(emulator, "notify")) == 1
        assert "through the bot" in notices(emulator, "notify")[0]
    finally:
        bot.stop()


@pytest.mark.postgres
def test_two_instances_announce_a_change_once(emulator, tmp_path):
    with fresh_postgres_database() as (url, _name):
        bots = [start(emulator, tmp_path, name=name, database_url=url) for name in ("a", "b")]
        try:
            first_look_done(bots[0])
            put_rules(emulator, "fiona-admin-token",
                      {"blockPreviousPasscodes": {"enabled": True, "numberOfPasscodes": 3}})
            wait_until(lambda: notices(emulator, "notify"), "a notice in the notify space",
                       timeout=WAIT)
            time.sleep(4)
            assert len(notices(emulator, "notify")) == 1
        finally:
            for bot in bots:
                bot.stop()


def test_failed_checks_announce_nothing_until_a_good_one(emulator, tmp_path):
    bot = start(emulator, tmp_path)
    try:
        first_look_done(bot)
        emulator.add_fault(method="GET", path="/v1/telephony/*", status=503)
        put_rules(emulator, "fiona-admin-token",
                  {"expirePasscode": {"enabled": False}})
        wait_until(lambda: not requests.get(f"{bot.url}/healthz", timeout=5).json()
                   ["components"]["watcher"]["ok"], "healthz to report the watcher failing",
                   timeout=WAIT)
        time.sleep(2)
        assert notices(emulator, "notify") == []
        emulator.control("DELETE", "faults")
        notice = wait_until(lambda: notices(emulator, "notify"), "a notice in the notify space",
                            timeout=WAIT)[0]
        assert "100 days → off" in notice and "Passcode expiry" in notice  # before → after
        assert requests.get(f"{bot.url}/healthz", timeout=5).json()["components"]["watcher"]["ok"]
    finally:
        bot.stop()


# Rounds run one at a time in this process, against the emulator over HTTP, so that the
# interleavings that matter (a bot change, another round) happen at exactly chosen points.

@pytest.fixture
def watchers(emulator, tmp_path, database_url):
    """Build watchers on one database (SQLite, PostgreSQL), each with its own services, as
    separate processes have them."""
    settings = make_settings(tmp_path, webex_base_url=emulator.base_url, watch_interval_seconds=0,
                             notify_room_ids=emulator.id("notify"), database_url=database_url)
    built = []

    def build() -> Watcher:
        store = Store(settings.database_url)
        services = build_services(settings, store)
        built.append((store, services))
        return Watcher(services, store)

    yield build
    for store, services in built:
        services.parallel.shutdown(wait=False)
        store.dispose()


def outside_notices(emulator) -> list[str]:
    return [text for text in notices(emulator, "notify") if "outside the bot" in text]


def stored_rules(services) -> dict:
    org = services.scope(services.orgs.sole_org())
    return org.snapshots.get(org.org_id)[0]


def after_the_next_read(services, step) -> None:
    """The next rules read answers as Webex did, but ``step`` is done before the caller goes
    on: what a slow read (retries) lets happen meanwhile."""
    admin = services.orgs.sole_access()
    real_read = admin.read_rules

    def read(**how) -> dict:
        rules = real_read(**how)
        del admin.read_rules  # only this once
        step()
        return rules

    admin.read_rules = read


def change_through_the_bot(emulator, days: int) -> None:
    alice = Persona(emulator, "alice")
    alice.say(f"set expiry {days}")
    confirmation = alice.wait_reply()
    alice.submit(confirmation, action="confirm",
                 changeId=card_of(confirmation)["actions"][0]["data"]["changeId"])
    assert "Change applied" in card_text(alice.wait_reply())


def test_a_bot_change_saved_during_a_slow_read_is_not_announced_backwards(emulator, tmp_path):
    bot = start_bot(emulator, tmp_path, notify_room_ids=emulator.id("notify"),
                    watch_interval_seconds=0)
    store = Store(bot.settings.database_url)
    services = build_services(bot.settings, store)
    watcher = Watcher(services, store)
    try:
        assert watcher.check() == "first look: rules remembered"
        after_the_next_read(services, lambda: change_through_the_bot(emulator, 61))
        watcher.check()
        assert outside_notices(emulator) == []
        assert stored_rules(services)["expirePasscode"]["numberOfDays"] == 61  # what Webex has
        assert watcher.check() == "no change"
    finally:
        services.parallel.shutdown(wait=False)
        store.dispose()
        bot.stop()


def test_two_overlapping_rounds_announce_a_change_once(emulator, watchers):
    first, second = watchers(), watchers()
    assert first.check() == "first look: rules remembered"
    put_rules(emulator, "fiona-admin-token",
              {"expirePasscode": {"enabled": True, "numberOfDays": 45}})
    # The first round is slow to learn who made the change (its lease may run out meanwhile)...
    emulator.add_fault(method="GET", path="/v1/adminAudit/events", latencyMs=4000, count=1)
    results = {}
    slow = threading.Thread(target=lambda: results.update(first=first.check()))
    slow.start()
    wait_until(lambda: not emulator.control("GET", "faults").json()["items"],
               "every fault used up", timeout=WAIT)
    results["second"] = second.check()  # ... and another round runs in the meantime
    slow.join(timeout=30)
    assert len(outside_notices(emulator)) == 1, results
    assert "Fiona Field" in outside_notices(emulator)[0]
    assert sorted(results.values()) == ["no change", "reported 1 change(s)"]


def test_the_actor_is_the_latest_admin_other_than_the_bot(emulator, watchers):
    watcher = watchers()
    put_rules(emulator, "admin-token", {"changePasscode": {"enabled": True, "numberOfDays": 2}})
    assert watcher.check() == "first look: rules remembered"
    put_rules(emulator, "fiona-admin-token",
              {"expirePasscode": {"enabled": True, "numberOfDays": 45}})
    # The bot's admin token writes too (a change through the bot, or a script using its token).
    put_rules(emulator, "admin-token", {"changePasscode": {"enabled": True, "numberOfDays": 3}})
    assert watcher.check() == "reported 2 change(s)"
    notice = outside_notices(emulator)[0]
    assert "Fiona Field" in notice and "Alice" not in notice


def test_a_change_by_the_bots_own_admin_alone_names_nobody(emulator, watchers):
    watcher = watchers()
    assert watcher.check() == "first look: rules remembered"
    put_rules(emulator, "admin-token", {"expirePasscode": {"enabled": True, "numberOfDays": 30}})
    watcher.check()
    notice = outside_notices(emulator)[0]
    assert "They were changed outside the bot" in notice and "Alice" not in notice


def test_the_latest_event_about_the_rules_is_chosen_whatever_the_order():
    def event(actor: str, created: str, description="Organization voicemail rules updated"):
        return {"actorId": actor, "created": created,
                "data": {"actorName": actor, "actorEmail": f"{actor}@acme.example",
                         "eventDescription": description, "actionText": ""}}

    oldest = event("fiona", "2025-03-01T10:00:00.000Z")
    latest = event("gina", "2025-03-01T10:05:00.000Z")
    by_bot = event("bot-admin", "2025-03-01T10:06:00.000Z")
    other = event("hugo", "2025-03-01T10:07:00.000Z", description="User created")
    for events in ([oldest, latest, by_bot, other], [other, by_bot, latest, oldest]):
        assert latest_rules_event(events, bot_admin=BotAdmin("bot-admin", "")) is latest
    assert latest_rules_event([by_bot, other], bot_admin=BotAdmin("bot-admin", "")) is None
    assert latest_rules_event([event("x", latest["created"]) | {"actorId": "other-id-format"}],
                              bot_admin=BotAdmin("bot-admin", "x@acme.example")) is None


def flask_watch(emulator, tmp_path, *args: str, interval: str = "1",
                **extra: str) -> subprocess.CompletedProcess:
    """``flask --app app watch ARGS`` as an operator runs it (never for more than 30 s here)."""
    workdir = tmp_path / "cli"
    workdir.mkdir(exist_ok=True)
    env = bot_env(emulator, workdir, SECRET, free_port(), WATCH_INTERVAL_SECONDS=interval, **extra)
    upgrade(env["DATABASE_URL"])
    return subprocess.run([str(BIN / "flask"), "--app", "app", "watch", *args], cwd=workdir,
                          env=env, capture_output=True, text=True, timeout=30)


def cli_store(tmp_path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'cli' / 'bot.sqlite3'}")


def test_watch_once_takes_the_watchers_lease_and_hands_it_back(emulator, tmp_path):
    done = flask_watch(emulator, tmp_path, "--once")
    assert "first look: rules remembered" in done.stdout, done.stderr
    store = cli_store(tmp_path)
    try:
        assert Leases(store).acquire("change-watcher", "web-worker", timedelta(minutes=1))
        busy = flask_watch(emulator, tmp_path, "--once")
        assert busy.returncode == 0 and "skipped" in busy.stdout, busy.stdout + busy.stderr
    finally:
        store.dispose()


def test_a_round_before_the_org_is_connected_says_so_in_one_line(emulator, tmp_path):
    done = flask_watch(emulator, tmp_path, "--once", WEBEX_ADMIN_TOKEN="",
                       WEBEX_ADMIN_CLIENT_ID="vmrules-client-id",
                       WEBEX_ADMIN_CLIENT_SECRET="vmrules-client-secret")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "nothing to watch: no org is connected yet"
    assert "Traceback" not in done.stderr


def test_watch_refuses_to_loop_when_the_watcher_is_off(emulator, tmp_path):
    refused = flask_watch(emulator, tmp_path, interval="0")
    assert refused.returncode != 0
    assert "WATCH_INTERVAL_SECONDS" in refused.stderr and len(refused.stderr.splitlines()) == 1
