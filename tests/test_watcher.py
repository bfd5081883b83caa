"""The change watcher under gunicorn: changes made outside the bot are announced once, with who."""

from __future__ import annotations

import time

import requests

from tests.bot_process import bot_env, free_port, start_gunicorn
from tests.databases import fresh_postgres_database
from tests.deliveries import deliver, event_for, say
from tests.factories import SECRET, envelope, signed


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


def wait_for(predicate, timeout: float = 45.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("not in time")


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
    wait_for(lambda: any("Subscribed" in t for t in bot_said(emulator, "dm-rita")))


def first_look_done(bot) -> None:
    wait_for(lambda: "first look" in bot.log() or
             requests.get(f"{bot.url}/healthz", timeout=5).json()["components"].get("watcher"))
    time.sleep(1.5)


def test_a_change_in_control_hub_is_announced_once_with_the_actor(emulator, tmp_path):
    bot = start(emulator, tmp_path)
    try:
        subscribe_rita(emulator, bot)
        first_look_done(bot)
        put_rules(emulator, "fiona-admin-token",
                  {"expirePasscode": {"enabled": True, "numberOfDays": 45}})
        notice = wait_for(lambda: notices(emulator, "notify"))
        assert "Fiona Field" in notice[0] and "100 days" in notice[0] and "45 days" in notice[0]
        assert "outside the bot" in notice[0]
        direct = wait_for(lambda: notices(emulator, "dm-rita"))
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
        notice = wait_for(lambda: notices(emulator, "notify"))[0]
        assert "Someone changed them outside the bot" in notice and "Fiona" not in notice
        assert "6 days" in notice
    finally:
        bot.stop()


def test_a_change_through_the_bot_is_announced_once(emulator, tmp_path):
    bot = start(emulator, tmp_path)
    try:
        first_look_done(bot)
        message = say(emulator, "set expiry 61")
        assert deliver(bot.url, *event_for(emulator, message)) == 202
        card = wait_for(lambda: [m for m in emulator.state.messages.values()
                                 if m["personId"] == emulator.id("bot") and m.get("attachments")
                                 and "Confirm this change" in str(m["attachments"])])[0]
        change_id = card["attachments"][0]["content"]["actions"][0]["data"]["changeId"]
        action = requests.post(f"{emulator.base_url}attachment/actions", timeout=10,
                               headers={"Authorization": "Bearer alice-token"},
                               json={"type": "submit", "messageId": card["id"],
                                     "inputs": {"action": "confirm", "changeId": change_id}}).json()
        body = envelope("attachmentActions", "created", data_id=action["id"],
                        messageId=card["id"], personId=emulator.id("alice"),
                        roomId=emulator.id("dm-alice"))
        assert deliver(bot.url, *signed(body)) == 202
        wait_for(lambda: notices(emulator, "notify"))
        time.sleep(3)
        assert len(notices(emulator, "notify")) == 1
        assert "through the bot" in notices(emulator, "notify")[0]
    finally:
        bot.stop()


def test_two_instances_announce_a_change_once(emulator, tmp_path):
    with fresh_postgres_database() as (url, _name):
        bots = [start(emulator, tmp_path, name=name, database_url=url) for name in ("a", "b")]
        try:
            first_look_done(bots[0])
            put_rules(emulator, "fiona-admin-token",
                      {"blockPreviousPasscodes": {"enabled": True, "numberOfPasscodes": 3}})
            wait_for(lambda: notices(emulator, "notify"))
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
        wait_for(lambda: not requests.get(f"{bot.url}/healthz", timeout=5).json()
                 ["components"]["watcher"]["ok"])
        time.sleep(2)
        assert notices(emulator, "notify") == []
        emulator.control("DELETE", "faults")
        notice = wait_for(lambda: notices(emulator, "notify"))[0]
        assert "Passcodes expire after 100 days" in notice and "never expire" in notice
        assert requests.get(f"{bot.url}/healthz", timeout=5).json()["components"]["watcher"]["ok"]
    finally:
        bot.stop()
