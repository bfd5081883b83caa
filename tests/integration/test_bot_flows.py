"""The bot end to end over real HTTP: persona → emulator → signed webhook → bot → emulator."""

from __future__ import annotations

import time

import pytest
import requests

from tests.support.bot_server import Persona, card_of, card_text, start_bot, submit_form
from tests.support.waiting import wait_until


@pytest.fixture
def bot(emulator, tmp_path):
    server = start_bot(emulator, tmp_path, notify_room_ids=emulator.id("notify"))
    yield server
    server.stop()


def persona(emulator, key: str, room: str | None = None) -> Persona:
    return Persona(emulator, key, room or f"dm-{key}")


def rules_now(emulator) -> dict:
    return emulator.control("GET", "voicemail-rules").json()["rules"]



def test_full_admin_sees_the_rules_card(emulator, bot):
    alice = persona(emulator, "alice")
    alice.say("show")
    reply = alice.wait_reply()
    assert "Passcodes expire after 100 days" in card_text(reply)
    assert "No digit more than 3 times in a row" in card_text(reply)
    assert "Passcodes expire after 100 days" in reply["markdown"]


def test_edit_review_confirm_applies_and_notifies(emulator, bot):
    alice = persona(emulator, "alice")
    notify_space = persona(emulator, "alice", "notify")
    alice.say("edit")
    form = alice.wait_reply()
    assert "expiry_enabled" in [element.get("id") for element in card_of(form)["body"]]
    confirmation = submit_form(alice, form, expiry_days="60", change_days="3")
    text = card_text(confirmation)
    assert "100 days" in text and "60 days" in text and "3 days" in text
    change_id = card_of(confirmation)["actions"][0]["data"]["changeId"]
    alice.submit(confirmation, action="confirm", changeId=change_id)
    result = alice.wait_reply()
    assert "Change applied" in card_text(result)
    rules = rules_now(emulator)
    assert rules["expirePasscode"]["numberOfDays"] == 60
    assert rules["changePasscode"]["numberOfDays"] == 3
    assert confirmation["id"] not in emulator.state.messages  # the confirmation card is deleted
    notice = notify_space.wait_reply()
    assert "Alice Fuller" in card_text(notice) and "60 days" in card_text(notice)


def test_confirm_is_single_use(emulator, bot):
    alice = persona(emulator, "alice")
    alice.say("set expiry 30")
    confirmation = alice.wait_reply()
    change_id = card_of(confirmation)["actions"][0]["data"]["changeId"]
    alice.submit(confirmation, action="confirm", changeId=change_id)
    assert "Change applied" in card_text(alice.wait_reply())
    emulator.state.messages[confirmation["id"]] = confirmation  # a stale client still shows it
    alice.submit(confirmation, action="confirm", changeId=change_id)
    quiet = alice.wait_reply()  # a plain line, not an error card
    assert "already applied" in quiet["markdown"] and not quiet.get("attachments")
    puts = emulator.calls()["PUT /v1/telephony/config/voicemail/rules"]
    assert puts == 1


def test_read_only_admin_may_view_but_not_edit(emulator, bot):
    rita = persona(emulator, "rita")
    rita.say("show")
    assert "Passcodes expire" in card_text(rita.wait_reply())
    rita.say("edit")
    refusal = rita.wait_reply()
    assert "Full Administrator" in refusal["markdown"] and not refusal.get("attachments")


@pytest.mark.parametrize("key", ["otto", "nina"])
def test_no_rules_data_for_other_orgs_or_non_admins(emulator, bot, key):
    person = persona(emulator, key)
    person.say("show")
    refusal = person.wait_reply()
    assert not refusal.get("attachments")
    assert "100" not in refusal["markdown"] and "expire" not in refusal["markdown"].lower()


def test_unknown_command_names_the_closest(emulator, bot):
    alice = persona(emulator, "alice")
    alice.say("shw")
    assert "Did you mean `show`?" in alice.wait_reply()["markdown"]


def test_group_space_replies_in_the_thread(emulator, bot):
    alice = persona(emulator, "alice", "admins")
    sent = alice.say("show")
    reply = alice.wait_reply()
    assert reply["parentId"] == sent["id"]


def test_invalid_form_comes_back_with_one_message_per_field(emulator, bot):
    alice = persona(emulator, "alice")
    alice.say("edit")
    again = submit_form(alice, alice.wait_reply(), expiry_days="120", change_days="9",
                        new_pin="121212")
    text = card_text(again)
    assert "Passcode expiry must be 15 to 100 days (you gave 120)" in text
    assert "Minimum days between changes must be 1 to 7 days (you gave 9)" in text
    assert "repeated pattern" in text
    assert '"value": "120"' in text  # the admin's values are kept
    assert emulator.calls().get("PUT /v1/telephony/config/voicemail/rules", 0) == 0


def test_an_empty_number_for_a_rule_switched_off_is_accepted_and_means_nothing(emulator, bot):
    """The form lets a number be left empty when its rule is off: the bot takes the switch, and
    Webex keeps the number it had (the PUT sends only ``enabled: false``)."""
    alice = persona(emulator, "alice")
    alice.say("edit")
    confirmation = submit_form(alice, alice.wait_reply(), expiry_enabled="false", expiry_days="",
                               previous_enabled="false", previous_count="")
    text = card_text(confirmation)
    assert "Confirm this change" in text and "Please correct" not in text
    assert "Passcode expiry" in text  # the one change: previous passcodes were off already
    assert "Previous passcodes" not in text
    change_id = card_of(confirmation)["actions"][0]["data"]["changeId"]
    alice.submit(confirmation, action="confirm", changeId=change_id)
    assert "Change applied" in card_text(alice.wait_reply())
    rules = rules_now(emulator)
    assert rules["expirePasscode"] == {"enabled": False, "numberOfDays": 100}
    assert rules["blockPreviousPasscodes"] == {"enabled": False, "numberOfPasscodes": 10}


def test_an_empty_number_for_a_rule_switched_on_is_refused_by_name(emulator, bot):
    alice = persona(emulator, "alice")
    alice.say("edit")
    again = submit_form(alice, alice.wait_reply(), change_days=" ")
    text = card_text(again)
    assert "Please correct the following" in text
    assert "Minimum days between changes must be a whole number from 1 to 7" in text
    assert emulator.calls().get("PUT /v1/telephony/config/voicemail/rules", 0) == 0


def test_only_the_requester_may_confirm(emulator, bot):
    alice = persona(emulator, "alice", "admins")
    alice.say("set change-interval 5")
    confirmation = alice.wait_reply()
    rita = persona(emulator, "rita", "admins")
    rita.seen = set(alice.seen)
    rita.submit(confirmation, action="confirm",
                changeId=card_of(confirmation)["actions"][0]["data"]["changeId"])
    refusal = rita.wait_reply()
    assert "Full Administrator" in refusal["markdown"]
    assert rules_now(emulator)["changePasscode"]["numberOfDays"] == 1


def test_a_change_made_meanwhile_wins(emulator, bot):
    alice = persona(emulator, "alice")
    alice.say("set expiry 45")
    confirmation = alice.wait_reply()
    requests.put(f"{emulator.base_url}telephony/config/voicemail/rules", timeout=5,
                 headers={"Authorization": "Bearer admin-token"},
                 json={"expirePasscode": {"enabled": True, "numberOfDays": 50}}).raise_for_status()
    alice.submit(confirmation, action="confirm",
                 changeId=card_of(confirmation)["actions"][0]["data"]["changeId"])
    shown = alice.wait_reply()
    assert "Passcodes expire after 50 days" in card_text(shown)
    assert "changed these rules after you asked" in card_text(alice.wait_reply())
    assert rules_now(emulator)["expirePasscode"]["numberOfDays"] == 50


def test_webex_unavailable_then_confirm_again(emulator, bot):
    alice = persona(emulator, "alice")
    alice.say("set block-previous 4")
    confirmation = alice.wait_reply()
    change_id = card_of(confirmation)["actions"][0]["data"]["changeId"]
    emulator.add_fault(method="PUT", path="/v1/telephony/*", status=503)
    alice.submit(confirmation, action="confirm", changeId=change_id)
    failure = alice.wait_reply(timeout=20)
    assert "Webex is not answering" in card_text(failure) and "Confirm again" in card_text(failure)
    emulator.control("DELETE", "faults")
    alice.submit(failure, action="confirm", changeId=change_id)
    assert "Change applied" in card_text(alice.wait_reply())
    assert rules_now(emulator)["blockPreviousPasscodes"] == {"enabled": True, "numberOfPasscodes": 4}


def test_generated_pin_goes_only_to_the_requester_privately(emulator, bot):
    alice = persona(emulator, "alice", "admins")
    alice_direct = persona(emulator, "alice", "dm-alice")
    alice.say("edit")
    confirmation = submit_form(alice, alice.wait_reply(), generate_pin="true")
    assert "new PIN (generated, sent to you privately once applied)" in card_text(confirmation)
    alice.submit(confirmation, action="confirm",
                 changeId=card_of(confirmation)["actions"][0]["data"]["changeId"])
    assert "Change applied" in card_text(alice.wait_reply())
    private = alice_direct.wait_reply()
    pin = emulator.state.default_pins[emulator.id("acme")]
    assert pin and pin in private["markdown"]
    for message in emulator.state.messages.values():
        if message["roomId"] != emulator.id("dm-alice"):
            assert pin not in str(message)


def test_default_pin_is_never_accepted_in_text(emulator, bot):
    alice = persona(emulator, "alice")
    alice.say("set default-pin 908172")
    assert "use `edit`" in card_text(alice.wait_reply())


def test_history_undo_and_subscribers(emulator, bot):
    rita = persona(emulator, "rita")
    rita.say("subscribe")
    assert "Subscribed" in rita.wait_reply()["markdown"]
    alice = persona(emulator, "alice")
    alice.say("set expiry 20")
    confirmation = alice.wait_reply()
    alice.submit(confirmation, action="confirm",
                 changeId=card_of(confirmation)["actions"][0]["data"]["changeId"])
    alice.wait_reply()
    assert "20 days" in card_text(rita.wait_reply())
    alice.say("history")
    assert "Passcode expiry: 100 days → 20 days" in card_text(alice.wait_reply())
    alice.say("undo")
    undo = alice.wait_reply()
    assert "20 days" in card_text(undo) and "100 days" in card_text(undo)
    alice.submit(undo, action="confirm", changeId=card_of(undo)["actions"][0]["data"]["changeId"])
    alice.wait_reply()
    assert rules_now(emulator)["expirePasscode"]["numberOfDays"] == 100


def test_a_subscriber_who_lost_their_role_is_told_nothing(emulator, bot):
    rita = persona(emulator, "rita")
    rita.say("subscribe")
    rita.wait_reply()
    emulator.state.people[emulator.id("rita")]["roles"] = []
    alice = persona(emulator, "alice")
    alice.say("set expiry 20")
    confirmation = alice.wait_reply()
    alice.submit(confirmation, action="confirm",
                 changeId=card_of(confirmation)["actions"][0]["data"]["changeId"])
    assert "Change applied" in card_text(alice.wait_reply())
    # Notifications go out before the result is posted.
    assert [m for m in rita.bot_messages() if m["id"] not in rita.seen] == []


def test_bots_and_own_messages_are_ignored(emulator, bot):
    other = Persona(emulator, "otherbot", "admins")
    other.say("show")
    alice = persona(emulator, "alice", "admins")
    alice.say("whoami")
    reply = alice.wait_reply()
    assert "Alice Fuller" in card_text(reply)
    # Webex tells the bot about its own reply, unmentioned in a group space too: it must reach the bot
    assert emulator.control("POST", "deliveries/wait").status_code == 200
    delivered = emulator.control("GET", "deliveries").json()["items"]
    assert [d["ok"] for d in delivered if d["dataId"] == reply["id"]] == [True]
    inbox = bot.app.extensions["vmbot.inbox"]
    wait_until(lambda: set(inbox.counts()) == {"done"}, "every event in the inbox done",
               detail=inbox.counts)
    assert len(alice.bot_messages()) == 1  # nothing for the other bot, nothing for itself


def test_expired_admin_token_is_refreshed_once(emulator, tmp_path):
    server = start_bot(emulator, tmp_path, webex_admin_token="refreshable-admin-token",
                       webex_admin_client_id="vmrules-client-id",
                       webex_admin_client_secret="vmrules-client-secret",
                       webex_admin_refresh_token="admin-refresh-token")
    try:
        emulator.control("POST", "tokens/refreshable-admin-token/expire")
        alice = persona(emulator, "alice")
        alice.say("show")
        assert "Passcodes expire after 100 days" in card_text(alice.wait_reply())
        assert emulator.calls()["POST /v1/access_token"] == 1
        alice.say("show")
        assert "Passcodes expire after 100 days" in card_text(alice.wait_reply())
        assert emulator.calls()["POST /v1/access_token"] == 1  # refreshed once, then reused
    finally:
        server.stop()
    # the new token survives a restart: a new process finds it in the database, encrypted
    restarted = start_bot(emulator, tmp_path, webex_admin_token="refreshable-admin-token",
                          webex_admin_client_id="vmrules-client-id",
                          webex_admin_client_secret="vmrules-client-secret",
                          webex_admin_refresh_token="admin-refresh-token")
    try:
        alice.say("show")
        assert "Passcodes expire after 100 days" in card_text(alice.wait_reply())
        assert emulator.calls()["POST /v1/access_token"] == 1
        database = (tmp_path / "bot.sqlite3").read_bytes()
        new_tokens = [t for t in emulator.state.grants if len(t) > 40]
        assert new_tokens and all(t.encode() not in database for t in new_tokens)
    finally:
        restarted.stop()


def test_refresh_settings_alone_stand_in_for_the_admin_token(emulator, tmp_path):
    """No WEBEX_ADMIN_TOKEN: the first admin call gets a token with the refresh settings."""
    server = start_bot(emulator, tmp_path, webex_admin_token=None,
                       webex_admin_client_id="vmrules-client-id",
                       webex_admin_client_secret="vmrules-client-secret",
                       webex_admin_refresh_token="admin-refresh-token")
    try:
        alice = persona(emulator, "alice")
        alice.say("show")
        assert "Passcodes expire after 100 days" in card_text(alice.wait_reply())
        assert emulator.calls()["POST /v1/access_token"] == 1
    finally:
        server.stop()


def test_admin_token_without_refresh_settings_is_reported(emulator, tmp_path):
    server = start_bot(emulator, tmp_path, webex_admin_token="revoked-token")
    try:
        alice = persona(emulator, "alice")
        alice.say("show")
        assert "admin authorization has expired" in card_text(alice.wait_reply())
    finally:
        server.stop()


def test_never_twice_in_one_space(emulator, tmp_path):
    """The change is made in the notify space by a subscriber: one result there, no notification."""
    server = start_bot(emulator, tmp_path, notify_room_ids=f"{emulator.id('notify')},"
                                                          f"{emulator.id('notify')}")
    try:
        alice = persona(emulator, "alice", "notify")
        alice_direct = persona(emulator, "alice", "dm-alice")
        alice.say("subscribe")
        alice.wait_reply()
        alice.say("set expiry 33")
        confirmation = alice.wait_reply()
        alice.submit(confirmation, action="confirm",
                     changeId=card_of(confirmation)["actions"][0]["data"]["changeId"])
        assert "Change applied" in card_text(alice.wait_reply())
        notice = alice_direct.wait_reply()  # the subscriber hears of it in their 1:1 space
        assert "33 days" in card_text(notice)
        time.sleep(1)
        after = [m for m in alice.bot_messages() if m["id"] not in alice.seen]
        assert after == []  # nothing more in the notify space
        assert [m for m in alice_direct.bot_messages() if m["id"] not in alice_direct.seen] == []
    finally:
        server.stop()
