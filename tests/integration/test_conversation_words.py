"""The bot's words over HTTP against the emulator: a range named instead of "I could not read
that", the organization named by ``whoami``, a PIN shown for what it is, an undo that says what it
undoes and is not undone into a redo, changes found by the watcher in ``history`` and in
notices in the same before → after words as the bot's own, and what anyone is told before any org
is connected."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from bot.storage.models import RulesSnapshot
from tests.support.bot_server import Persona, card_of, card_text, start_bot, submit_form
from tests.support.orgs import SERVICE_APP
from tests.support.waiting import wait_until


@pytest.fixture
def bot(emulator, tmp_path):
    server = start_bot(emulator, tmp_path, notify_room_ids=emulator.id("notify"))
    yield server
    server.stop()


def confirm(person: Persona, confirmation: dict) -> dict:
    person.submit(confirmation, action="confirm",
                  changeId=card_of(confirmation)["actions"][0]["data"]["changeId"])
    return person.wait_reply()


def test_a_value_out_of_range_names_the_range(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("set expiry 200")
    text = card_text(alice.wait_reply())
    assert "Passcode expiry must be 15 to 100 days (you gave 200)." in text
    assert "I could not read that" not in text


def test_whoami_names_the_organization(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("whoami")
    assert "Acme Telephony (the organization this bot manages)" in card_text(alice.wait_reply())


def test_before_any_org_is_connected_connect_is_told_what_the_operator_runs(emulator, tmp_path):
    # No way to connect from the chat (no Service App id, no PUBLIC_URL for a link): the operator
    # connects the first org. (With one, `connect` does it: tests/e2e/test_connect.py.)
    server = start_bot(emulator, tmp_path, **SERVICE_APP, public_url=None)
    try:
        alice = Persona(emulator, "alice", "dm-alice")
        alice.say("connect")
        text = alice.wait_reply()["text"]  # as a reader sees it
    finally:
        server.stop()
    assert text.count("not yet authorized") == 1, text
    assert "No organization is connected to it yet" in text
    assert "`flask --app app admin authorize` (or `admin service-app` for a Service App)" in text


@pytest.mark.parametrize("inputs, yours", [
    ({"new_pin": "908172"}, "new PIN (typed)"),
    ({"generate_pin": "true"}, "new PIN (generated, sent to you privately)"),
])
def test_a_default_pin_shows_for_what_it_is_never_hidden(emulator, bot, inputs, yours):
    alice = Persona(emulator, "alice", "dm-alice")
    notify = Persona(emulator, "alice", "notify")
    alice.say("edit")
    form = alice.wait_reply()
    confirmation = submit_form(alice, form, **inputs)
    assert "current PIN" in card_text(confirmation) and "hidden" not in card_text(confirmation)
    result = confirm(alice, confirmation)
    if "generate_pin" in inputs:
        result = next(m for m in (result, alice.wait_reply()) if m.get("attachments"))
    assert f"Default PIN: current PIN → {yours}" in result["markdown"]
    notice = notify.wait_reply()
    assert "Default PIN: current PIN → new PIN (not shown)" in notice["markdown"]
    assert "908172" not in notice["markdown"] and "hidden" not in notice["markdown"]


def test_an_undo_says_what_it_undoes_and_a_second_undo_is_not_a_redo(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("set expiry 60")
    assert "Change applied" in card_text(confirm(alice, alice.wait_reply()))
    alice.say("undo")
    undo_card = alice.wait_reply()
    assert "to undo the change Alice Fuller made at 20" in undo_card["markdown"]
    assert "Passcode expiry: 60 days → 100 days" in undo_card["markdown"]
    assert "Change applied" in card_text(confirm(alice, undo_card))
    alice.say("undo")
    refusal = card_text(alice.wait_reply())
    assert "was itself an undo" in refusal and "would apply the undone change again" in refusal
    rules = emulator.control("GET", "voicemail-rules").json()["rules"]
    assert rules["expirePasscode"]["numberOfDays"] == 100


def first_look(bot) -> bool:
    with bot.app.extensions["vmbot.store"].session() as session:
        return session.scalar(select(RulesSnapshot.org_id)) is not None


def test_history_tells_changes_made_outside_the_bot_beside_its_own(emulator, tmp_path):
    bot = start_bot(emulator, tmp_path, notify_room_ids=emulator.id("notify"),
                    watch_interval_seconds=1)
    try:
        alice = Persona(emulator, "alice", "dm-alice")
        notify = Persona(emulator, "rita", "notify")
        requests.get(f"{bot.url}/healthz", timeout=10)  # the first request starts the jobs
        wait_until(lambda: first_look(bot), "the watcher's first look", timeout=20)
        alice.say("set expiry 60")
        assert "Change applied" in card_text(confirm(alice, alice.wait_reply()))
        assert "Alice Fuller" in notify.wait_reply()["markdown"]
        requests.put(f"{emulator.base_url}telephony/config/voicemail/rules", timeout=10,
                     headers={"Authorization": "Bearer fiona-admin-token"},
                     json={"expirePasscode": {"enabled": True, "numberOfDays": 90}}
                     ).raise_for_status()
        notice = notify.wait_reply(timeout=20)["text"]  # as Webex derives it from the markdown
        assert "Fiona Field (fiona@acme.example) changed them outside the bot" in notice
        assert "- Passcode expiry: 60 days → 90 days" in notice  # the bot's own words
        alice.say("history")
        history = alice.wait_reply()["text"]
    finally:
        bot.stop()
    outside = history.index("Fiona Field, outside the bot: Passcode expiry: 60 days → 90 days")
    own = history.index("Alice Fuller: Passcode expiry: 100 days → 60 days")
    assert outside < own  # newest first, in time order
