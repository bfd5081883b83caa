"""The edit form over HTTP: a form knows the rules it was filled from, and a request has one live
form (an answered form is deleted, whatever else fails)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.storage.models import PendingChange
from tests.integration.test_bot_flows import rules_now, submit_form
from tests.support.bot_server import UNCHANGED_FORM, Persona, button_data, card_of, card_text, start_bot
from tests.support.waiting import NotInTime, wait_until

DELETE_MESSAGE = "DELETE /v1/messages/{message_id}"


@pytest.fixture
def bot(emulator, tmp_path):
    server = start_bot(emulator, tmp_path)
    yield server
    server.stop()


def live_forms(person: Persona) -> list[dict]:
    """The bot's edit forms still in the space (a deleted message is gone from it)."""
    return [m for m in person.bot_messages()
            if m.get("attachments") and any(a.get("data", {}).get("action") == "review"
                                            for a in card_of(m).get("actions", []))]


def live_form_ids(person: Persona, expected: list[str]) -> list[str]:
    """The ids of the live forms, once they are ``expected`` (the old form is deleted just after
    the answer is posted), or as they are after a few seconds."""
    def ids() -> list[str]:
        return [m["id"] for m in live_forms(person)]
    try:
        wait_until(lambda: ids() == expected, "the live forms to settle", timeout=5)
    except NotInTime:
        pass
    return ids()


def pending_count(bot) -> int:
    with bot.app.extensions["vmbot.store"].session() as session:
        return session.scalar(select(func.count()).select_from(PendingChange))


def apply_through_set(alice: Persona, command: str) -> None:
    alice.say(command)
    confirmation = alice.wait_reply()
    alice.submit(confirmation, action="confirm",
                 changeId=card_of(confirmation)["actions"][0]["data"]["changeId"])
    assert "Change applied" in card_text(alice.wait_reply())


def test_an_untouched_old_form_does_not_put_back_what_it_showed(emulator, bot):
    """Alice opens the form (expiry 100), changes expiry to 60 with `set`, then presses Review on
    the old form untouched: not a request for 100, but a fresh form saying what changed."""
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("edit")
    old_form = alice.wait_reply()
    apply_through_set(alice, "set expiry 60")
    fresh = submit_form(alice, old_form)  # every field as the old form showed it
    text = card_text(fresh)
    assert "The rules changed after your form was made, so nothing was proposed" in text
    assert "Passcode expiry: 100 days → 60 days" in text
    assert '"value": "60"' in text  # the fresh form shows the rules as they are now
    assert "100 days → 60 days" in fresh["markdown"]  # the text fallback says it too
    assert rules_now(emulator)["expirePasscode"]["numberOfDays"] == 60
    assert pending_count(bot) == 1  # the `set` alone: nothing was proposed from the old form
    assert live_form_ids(alice, [fresh["id"]]) == [fresh["id"]]  # the old form is gone


def test_a_field_changed_on_a_fresh_form_is_the_whole_request(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("edit")
    old_form = alice.wait_reply()
    apply_through_set(alice, "set expiry 60")
    fresh = submit_form(alice, old_form, change_days="3")
    confirmation = submit_form(alice, fresh, expiry_days="60", change_days="3")
    text = card_text(confirmation)
    assert "Confirm this change" in text and "1 day" in text and "3 days" in text
    assert "Passcode expiry" not in text  # left as the fresh form showed it: not asked for
    assert live_form_ids(alice, []) == []  # the form's work is done: the confirmation card took over


def test_refused_submits_leave_exactly_one_live_form(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("edit")
    form = alice.wait_reply()
    for wrong in ({"expiry_days": "120"}, {"change_days": "9"}, {"new_pin": "121212"}):
        form = submit_form(alice, form, **wrong)
        assert "Please correct the following" in card_text(form)
        assert live_form_ids(alice, [form["id"]]) == [form["id"]]
    submit_form(alice, form, expiry_days="50")
    assert live_form_ids(alice, []) == []


def test_refused_submits_in_a_group_space_leave_one_live_form_in_the_thread(emulator, bot):
    alice = Persona(emulator, "alice", "admins")
    asked = alice.say("edit")
    form = alice.wait_reply()
    for _ in range(3):
        form = submit_form(alice, form, expiry_days="7")
        assert form["parentId"] == asked["id"]
    assert live_form_ids(alice, [form["id"]]) == [form["id"]]


def test_a_form_that_does_not_say_what_it_showed_is_answered_with_a_fresh_one(emulator, bot):
    """A form posted before forms carried what they showed (or a forged submit): nothing is
    proposed from it, whatever its fields say."""
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("edit")
    form = alice.wait_reply()
    for shown in ("", "expiry=on:100", "<b>anything</b>"):
        form_before, form = form, submit_form(alice, form, shown=shown, expiry_days="40")
        assert "made by an earlier version of the bot, so nothing was proposed" in card_text(form)
        assert live_form_ids(alice, [form["id"]]) == [form["id"]]
        assert form_before["id"] not in emulator.state.messages
    assert pending_count(bot) == 0


def test_a_failed_delete_of_the_old_form_does_not_lose_the_answer(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("edit")
    form = alice.wait_reply()
    emulator.add_fault(method="DELETE", path="/v1/messages/*", status=500, count=1)
    again = submit_form(alice, form, expiry_days="120")
    assert "you gave 120" in card_text(again)  # answered first: the delete failed after
    wait_until(lambda: [c["status"] for c in emulator.control("GET", "calls/log").json()["items"]
                        if c["endpoint"] == DELETE_MESSAGE] == [500], "the refused delete")
    assert form["id"] in emulator.state.messages
    submit_form(alice, again, expiry_days="50")  # the next answer works as ever
    assert live_form_ids(alice, [form["id"]]) == [form["id"]]  # only the one whose delete failed


def test_cancel_on_the_form_deletes_it(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("edit")
    form = alice.wait_reply()
    alice.submit(form, action="cancel_edit")
    assert "Editing cancelled" in alice.wait_reply()["markdown"]
    assert live_form_ids(alice, []) == []


def test_a_forged_press_cannot_delete_another_admins_confirmation_card(emulator, bot):
    """A submit's data is written by the client: Fiona, a Full Administrator in the space, sends
    the form's Cancel (``cancel_edit``, which deletes the card it is pressed on) on Alice's
    confirmation card. The card has no such button: it is refused and stays."""
    emulator.state.add_membership(emulator.id("admins"), emulator.id("fiona"))
    alice = Persona(emulator, "alice", "admins")
    alice.say("set expiry 60")
    confirmation = alice.wait_reply()
    fiona = Persona(emulator, "fiona", "admins")
    fiona.seen = set(alice.seen)
    for forged in ({"action": "cancel_edit"}, {"action": "review", "shown": "x"}):
        fiona.submit(confirmation, **forged)
        assert "That card button is not one I know" in fiona.wait_reply()["markdown"]
    assert confirmation["id"] in emulator.state.messages
    change_id = card_of(confirmation)["actions"][0]["data"]["changeId"]
    alice.seen |= fiona.seen
    alice.submit(confirmation, action="confirm", changeId=change_id)  # the real button works
    assert "Change applied" in card_text(alice.wait_reply())


def test_a_press_naming_another_change_than_its_cards_is_refused(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("set expiry 60")
    first = alice.wait_reply()
    alice.say("set change-interval 5")
    second = alice.wait_reply()
    other_id = card_of(second)["actions"][0]["data"]["changeId"]
    alice.submit(first, action="confirm", changeId=other_id)
    assert "That card button is not one I know" in alice.wait_reply()["markdown"]
    assert rules_now(emulator)["changePasscode"]["numberOfDays"] != 5


def test_a_form_pressed_twice_makes_one_request(emulator, bot):
    """A double click (or two devices) sends the form twice before the bot answers either: one
    request, one confirmation card; the second press is told the first was taken."""
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("edit")
    form = alice.wait_reply()
    inputs = UNCHANGED_FORM | button_data(form, "review") | {"expiry_days": "60"}
    alice.submit(form, **inputs)
    alice.submit(form, **inputs)
    answers = [alice.wait_reply(), alice.wait_reply()]
    confirmations = [m for m in answers if m.get("attachments")]
    assert len(confirmations) == 1 and "Confirm this change" in card_text(confirmations[0])
    [quiet] = [m for m in answers if not m.get("attachments")]
    assert "already sent" in quiet["markdown"]
    assert pending_count(bot) == 1


def test_a_press_that_failed_lets_the_form_be_pressed_again(emulator, bot):
    """Webex failing the first press (nothing proposed) must not lock the form for the ten
    minutes a request lasts."""
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("edit")
    form = alice.wait_reply()
    inputs = UNCHANGED_FORM | button_data(form, "review") | {"expiry_days": "60"}
    emulator.add_fault(method="GET", path="/v1/telephony/config/voicemail/rules", status=400,
                       count=1)
    alice.submit(form, **inputs)
    assert "Confirm this change" not in card_text(alice.wait_reply())
    alice.submit(form, **inputs)
    assert "Confirm this change" in card_text(alice.wait_reply())
