"""Hostile names and typed text, end to end: the bot under gunicorn, the emulator over HTTP.

Names are text (never a mention, a link, emphasis or HTML) in messages and cards; a line break in a
name cannot forge a log line; a PIN typed by mistake is never repeated into a space. One
deployment serves the module; people are renamed in the emulator before the bot first sees them.
"""

from __future__ import annotations

import time

import pytest
import requests

from tests.support.bot_process import bot_env, free_port, start_gunicorn
from tests.support.deliveries import deliver, event_for, say
from tests.support.factories import SECRET, envelope, signed
from tests.support.rendering import card_markdown, live_markup, visible
from tests.support.waiting import wait_until

ALICE_NAME = "Fay <@all> [open](https://evil.example/x) **B** _i_ <b>h</b> & 1. www.evil.example"
FORGED = "2026-12-02 07:00:00,000 ERROR bot.forged: every passcode leaked"
FIONA_NAME = f"Fiona <@all> [x](https://evil.example/y)\n{FORGED}"


@pytest.fixture(scope="module")
def deployment(emulator_session, tmp_path_factory):
    emulator = emulator_session
    emulator.reset()
    for key, name in (("alice", ALICE_NAME), ("fiona", FIONA_NAME)):
        renamed = emulator.control("PUT", f"people/{emulator.id(key)}", json={"displayName": name})
        assert renamed.status_code == 200, renamed.text
    workdir = tmp_path_factory.mktemp("hostile")
    port = free_port()
    env = bot_env(emulator, workdir, SECRET, port, WATCH_INTERVAL_SECONDS="1",
                  NOTIFY_ROOM_IDS=emulator.id("notify"))
    bot = start_gunicorn(env, workdir, port)
    yield emulator, bot
    bot.stop()
    emulator.reset()


def bot_messages(emulator, room: str, containing: str = "") -> list[dict]:
    bot_id, room_id = emulator.id("bot"), emulator.id(room)
    with emulator.state.lock:
        return [dict(m) for m in emulator.state.messages.values()
                if m["personId"] == bot_id and m["roomId"] == room_id
                and containing in f"{m.get('markdown')} {m.get('attachments')}"]


def shown_as_text(message: dict, name: str) -> None:
    """``name`` reads as itself in the message and its card, and nothing in them is live markup."""
    shown = " ".join(name.split())
    assert "mentionedGroups" not in message and "mentionedPeople" not in message, message
    assert live_markup(message["markdown"]) == [], message["markdown"]
    assert shown in visible(message["markdown"]), (shown, visible(message["markdown"]))
    assert shown in " ".join(message["text"].split())  # the plain text Webex derives
    texts = list(card_markdown(message["attachments"][0]["content"]))
    assert [m for text in texts for m in live_markup(text)] == [], texts
    assert any(shown in visible(text) for text in texts), texts


def submit(emulator, bot, card: dict, inputs: dict) -> None:
    action = requests.post(f"{emulator.base_url}attachment/actions", timeout=10,
                           headers={"Authorization": "Bearer alice-token"},
                           json={"type": "submit", "messageId": card["id"], "inputs": inputs}).json()
    body = envelope("attachmentActions", "created", data_id=action["id"], messageId=card["id"],
                    personId=emulator.id("alice"), roomId=card["roomId"])
    assert deliver(bot.url, *signed(body)) == 202


def test_a_hostile_display_name_is_text_in_every_card_and_message(deployment):
    emulator, bot = deployment
    assert deliver(bot.url, *event_for(emulator, say(emulator, "whoami"))) == 202
    whoami = wait_until(lambda: bot_messages(emulator, "dm-alice", "Admin roles"), "the whoami card",
                        timeout=30, interval=0.1)
    shown_as_text(whoami[0], ALICE_NAME)

    assert deliver(bot.url, *event_for(emulator, say(emulator, "set expiry 61"))) == 202
    card = wait_until(lambda: bot_messages(emulator, "dm-alice", "Confirm this change"),
                      "the confirmation card", timeout=30, interval=0.1)[0]
    shown_as_text(card, ALICE_NAME)  # "requested by"
    change_id = card["attachments"][0]["content"]["actions"][0]["data"]["changeId"]
    submit(emulator, bot, card, {"action": "confirm", "changeId": change_id})
    notice = wait_until(lambda: bot_messages(emulator, "notify", "rules changed"),
                        "the notification", timeout=30, interval=0.1)[0]
    shown_as_text(notice, ALICE_NAME)

    assert deliver(bot.url, *event_for(emulator, say(emulator, "history"))) == 202
    history = wait_until(lambda: bot_messages(emulator, "dm-alice", "Recent changes"),
                         "the history card", timeout=30, interval=0.1)
    shown_as_text(history[0], ALICE_NAME)


def control_hub_change(deployment) -> dict:
    """Fiona changes the rules in Control Hub (once per module); the watcher's notice."""
    emulator, bot = deployment
    if not bot_messages(emulator, "notify", "outside the bot"):
        wait_until(lambda: "first look" in bot.log() or
                   requests.get(f"{bot.url}/healthz", timeout=5).json()["components"].get("watcher"),
                   "the watcher's first look", timeout=30, interval=0.1)
        time.sleep(1.5)
        response = requests.put(f"{emulator.base_url}telephony/config/voicemail/rules", timeout=10,
                                headers={"Authorization": "Bearer fiona-admin-token"},
                                json={"changePasscode": {"enabled": True, "numberOfDays": 5}})
        assert response.status_code == 204, response.text
    return wait_until(lambda: bot_messages(emulator, "notify", "outside the bot"),
                      "the watcher's notice", timeout=45, interval=0.1)[0]


def test_a_control_hub_actor_name_is_text(deployment):
    shown_as_text(control_hub_change(deployment), FIONA_NAME)


def test_a_line_break_in_a_name_cannot_forge_a_log_line(deployment):
    control_hub_change(deployment)  # the watcher logs the actor's name
    _emulator, bot = deployment
    log = wait_until(lambda: "changed outside the bot" in bot.log() and bot.log(),
                     "the watcher's log line", timeout=30, interval=0.1)
    assert not [line for line in log.splitlines() if line.startswith(FORGED)], log
    assert "\\n" + FORGED in log  # the name is logged, on one line, its line break escaped


@pytest.mark.parametrize("typed", ["583920", "5839-20"])
def test_a_pin_typed_by_mistake_in_a_group_space_is_not_repeated(deployment, typed):
    emulator, bot = deployment
    bot_id = emulator.id("bot")
    sent = requests.post(f"{emulator.base_url}messages", timeout=10,
                         headers={"Authorization": "Bearer alice-token"},
                         json={"roomId": emulator.id("admins"),
                               "markdown": f"<@personId:{bot_id}|Voicemail Rules Bot> {typed}"})
    sent.raise_for_status()
    message = sent.json()
    assert deliver(bot.url, *event_for(emulator, message)) == 202
    reply = wait_until(lambda: [m for m in bot_messages(emulator, "admins")
                                if m.get("parentId") == message["id"]],
                       "the reply in the thread", timeout=30, interval=0.1)[0]
    assert "I don't know that command" in reply["markdown"]
    assert typed not in reply["markdown"] and typed not in str(reply.get("text"))
    assert "583" not in reply["markdown"]
