"""The change flow's edges: cancel, expiry, duplicates, revoked roles, Webex refusals and limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select, update

from bot.storage.models import AuditEntry, PendingChange
from bot.storage.pending import PendingChanges
from bot.storage.secret_box import SecretBox
from tests.support.bot_server import Persona, button_data, card_of, card_text, start_bot
from tests.support.factories import envelope, signed
from tests.support.rendering import card_markdown, visible
from tests.support.waiting import wait_until


@pytest.fixture
def bot(emulator, tmp_path):
    server = start_bot(emulator, tmp_path)
    yield server
    server.stop()


def store(bot):
    return bot.app.extensions["vmbot.store"]


def propose(alice: Persona, command: str = "set expiry 40") -> tuple[dict, str]:
    alice.say(command)
    confirmation = alice.wait_reply()
    return confirmation, card_of(confirmation)["actions"][0]["data"]["changeId"]


def propose_a_pin(alice: Persona) -> tuple[dict, str]:
    """A change that sets a new default PIN (held encrypted in the pending change)."""
    alice.say("edit")
    form = alice.wait_reply()
    alice.submit(form, **button_data(form, "review"), expiry_enabled="true", expiry_days="100",
                 change_enabled="true", change_days="1", previous_enabled="false",
                 previous_count="10", default_pin_enabled="true", new_pin="908172",
                 generate_pin="false")
    confirmation = alice.wait_reply()
    return confirmation, card_of(confirmation)["actions"][0]["data"]["changeId"]


def rules_now(emulator) -> dict:
    return emulator.control("GET", "voicemail-rules").json()["rules"]


def test_cancel_changes_nothing_and_retires_the_card(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    confirmation, change_id = propose(alice)
    alice.submit(confirmation, action="cancel", changeId=change_id)
    assert "Cancelled" in alice.wait_reply()["markdown"]
    assert confirmation["id"] not in emulator.state.messages
    assert rules_now(emulator)["expirePasscode"]["numberOfDays"] == 100
    with store(bot).session() as session:
        assert session.get(PendingChange, change_id).status == "cancelled"


def test_an_expired_request_cannot_be_confirmed_and_loses_its_pin(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    confirmation, change_id = propose_a_pin(alice)
    with store(bot).session() as session, session.begin():
        session.execute(update(PendingChange).where(PendingChange.id == change_id)
                        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    alice.submit(confirmation, action="confirm", changeId=change_id)
    assert "expired" in card_text(alice.wait_reply())
    with store(bot).session() as session:
        row = session.get(PendingChange, change_id)
        assert row.status == "expired" and row.pin_ciphertext is None
    assert emulator.calls().get("PUT /v1/telephony/config/voicemail/rules", 0) == 0


def test_a_duplicated_delivery_of_the_confirm_applies_once(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    confirmation, change_id = propose(alice)
    action = alice.submit(confirmation, action="confirm", changeId=change_id)
    assert "Change applied" in card_text(alice.wait_reply())
    duplicate = envelope("attachmentActions", "created", data_id=action["id"],
                         messageId=confirmation["id"], personId=emulator.id("alice"))
    raw, headers = signed(duplicate)
    answer = requests.post(f"{bot.url}/webhooks/webex", data=raw, headers=headers, timeout=5)
    assert answer.status_code == 200 and answer.json() == {"status": "duplicate"}
    assert emulator.calls()["PUT /v1/telephony/config/voicemail/rules"] == 1
    with store(bot).session() as session:
        entries = session.scalars(select(AuditEntry)).all()
    assert [e.change_id for e in entries] == [change_id]
    assert json.loads(entries[0].changes) == [
        {"label": "Passcode expiry", "before": "100 days", "after": "40 days"}]


def test_a_role_revoked_before_confirm_is_refused(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    confirmation, change_id = propose(alice)
    alice_id = emulator.id("alice")
    emulator.state.people[alice_id]["roles"] = [emulator.id("id_readonly_admin")]
    alice.submit(confirmation, action="confirm", changeId=change_id)
    assert "Full Administrator" in card_text(alice.wait_reply())
    assert rules_now(emulator)["expirePasscode"]["numberOfDays"] == 100


def test_a_webex_refusal_is_shown_with_its_tracking_id(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    confirmation, change_id = propose(alice)
    emulator.add_fault(method="PUT", path="/v1/telephony/*", status=400, count=1)
    alice.submit(confirmation, action="confirm", changeId=change_id)
    refusal = alice.wait_reply()
    text = card_text(refusal)
    # The tracking id is Webex's text, so escaped for the card's markdown: it reads as ROUTER_...
    shown = " ".join(visible(t) for t in card_markdown(card_of(refusal)))
    assert "Webex refused the change" in text and "Webex tracking id: ROUTER_" in shown
    tracking_ids = [c["trackingId"] for c in emulator.control("GET", "calls/log").json()["items"]
                    if c["endpoint"] == "PUT /v1/telephony/config/voicemail/rules"]
    assert tracking_ids[-1] in shown
    assert "Confirm again" not in text  # a 4xx is not retried
    wait_until(lambda: confirmation["id"] not in emulator.state.messages,
               "the refused request's card deleted")


def test_rate_limit_then_success(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    confirmation, change_id = propose(alice)
    emulator.add_fault(method="PUT", path="/v1/telephony/*", status=429, retryAfter=1, count=1)
    alice.submit(confirmation, action="confirm", changeId=change_id)
    assert "Change applied" in card_text(alice.wait_reply(timeout=15))
    assert emulator.calls()["PUT /v1/telephony/config/voicemail/rules"] == 2


def test_a_failed_read_back_after_the_put_still_counts_as_applied(emulator, bot):
    """Webex took the PUT; only reading the rules back fails. The change is applied, recorded and
    said to be applied (never "not applied, try again")."""
    alice = Persona(emulator, "alice", "dm-alice")
    confirmation, change_id = propose(alice)
    # The first GET (the fresh read before the PUT) goes through; the read-back fails, retries too.
    emulator.add_fault(method="GET", path="/v1/telephony/*", status=503, skip=1, count=4)
    alice.submit(confirmation, action="confirm", changeId=change_id)
    result = card_text(alice.wait_reply(timeout=20))
    assert "Change applied" in result and "reading the rules back failed" in result
    assert rules_now(emulator)["expirePasscode"]["numberOfDays"] == 40
    with store(bot).session() as session:
        assert session.get(PendingChange, change_id).status == "applied"
        entry = session.scalars(select(AuditEntry).where(AuditEntry.change_id == change_id)).one()
        assert json.loads(entry.after)["expirePasscode"]["numberOfDays"] == 40
    assert confirmation["id"] not in emulator.state.messages  # its buttons are gone
    assert emulator.calls()["PUT /v1/telephony/config/voicemail/rules"] == 1


def test_another_full_administrator_cannot_confirm_or_cancel(emulator, bot):
    emulator.state.add_membership(emulator.id("admins"), emulator.id("fiona"))
    alice = Persona(emulator, "alice", "admins")
    confirmation, change_id = propose(alice)
    fiona = Persona(emulator, "fiona", "admins")
    fiona.seen = set(alice.seen)
    for action in ("confirm", "cancel"):
        fiona.submit(confirmation, action=action, changeId=change_id)
        assert "Only Alice Fuller" in card_text(fiona.wait_reply())
    assert rules_now(emulator)["expirePasscode"]["numberOfDays"] == 100
    with store(bot).session() as session:
        assert session.get(PendingChange, change_id).status == "pending"


def test_someone_without_the_change_role_cannot_remove_an_edit_form(emulator, bot):
    alice = Persona(emulator, "alice", "admins")
    alice.say("edit")
    form = alice.wait_reply()
    nina = Persona(emulator, "nina", "admins")
    nina.seen = set(alice.seen)
    nina.submit(form, action="cancel_edit")
    nina.wait_reply()
    assert form["id"] in emulator.state.messages


def test_a_pin_that_can_no_longer_be_read_is_never_applied_without_it(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    confirmation, change_id = propose_a_pin(alice)
    with store(bot).session() as session, session.begin():  # as if sealed with another key
        session.execute(update(PendingChange).where(PendingChange.id == change_id)
                        .values(pin_ciphertext="gAAAAAnot-a-token"))
    alice.submit(confirmation, action="confirm", changeId=change_id)
    assert "can no longer be read" in card_text(alice.wait_reply())
    assert emulator.calls().get("PUT /v1/telephony/config/voicemail/rules", 0) == 0
    with store(bot).session() as session:
        assert session.get(PendingChange, change_id).status == "failed"


def card_remembered(bot, change_id: str) -> bool:
    with store(bot).session() as session:
        return session.get(PendingChange, change_id).card_message_id is not None


def test_a_change_cut_off_while_applying_is_closed_and_loses_its_pin(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    confirmation, change_id = propose(alice)
    # The card is live once posted; its request is complete once the bot remembers it.
    wait_until(lambda: card_remembered(bot, change_id), "the confirmation card remembered")
    long_ago = datetime.now(UTC) - timedelta(minutes=6)
    with store(bot).session() as session, session.begin():  # a process died mid-way, long ago
        session.execute(update(PendingChange).where(PendingChange.id == change_id)
                        .values(status="applying", expires_at=long_ago,
                                pin_ciphertext="sealed"))
    settings = bot.app.extensions["vmbot.settings"]
    assert PendingChanges(store(bot), SecretBox.from_settings(settings),
                          emulator.id("acme")).expire_old() == 1
    with store(bot).session() as session:
        row = session.get(PendingChange, change_id)
        assert row.status == "interrupted" and row.pin_ciphertext is None
    alice.submit(confirmation, action="confirm", changeId=change_id)
    assert "interrupted" in card_text(alice.wait_reply())


def test_confirm_on_rules_that_already_read_as_asked_is_already_applied(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    confirmation, change_id = propose(alice)  # expiry 40
    response = requests.put(f"{emulator.base_url}telephony/config/voicemail/rules", timeout=10,
                            headers={"Authorization": "Bearer fiona-admin-token"},
                            json={"expirePasscode": {"enabled": True, "numberOfDays": 40}})
    assert response.status_code == 204
    alice.submit(confirmation, action="confirm", changeId=change_id)
    answer = alice.wait_reply()
    assert "Already applied" in answer["markdown"] and "Someone" not in answer["markdown"]
    assert emulator.calls()["PUT /v1/telephony/config/voicemail/rules"] == 1  # Fiona's alone
    with store(bot).session() as session:
        assert session.get(PendingChange, change_id).status == "already"


def test_an_ended_request_after_a_set_asks_again_with_that_set(emulator, bot):
    """Its buttons say nothing misleading: no "start again with edit" after a `set`."""
    alice = Persona(emulator, "alice", "dm-alice")
    confirmation, change_id = propose(alice, "set expiry 40")
    with store(bot).session() as session, session.begin():
        session.execute(update(PendingChange).where(PendingChange.id == change_id)
                        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    alice.submit(confirmation, action="confirm", changeId=change_id)
    text = card_text(alice.wait_reply())
    assert "expired" in text and "Ask again with `set expiry 40`" in text and "`edit`" not in text
    wait_until(lambda: confirmation["id"] not in emulator.state.messages,
               "the expired request's card deleted")


def test_a_second_confirm_while_applying_is_answered_quietly(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    confirmation, change_id = propose(alice)
    emulator.add_fault(method="PUT", path="/v1/telephony/*", latencyMs=2000, count=1)
    alice.submit(confirmation, action="confirm", changeId=change_id)
    wait_until(lambda: status_of(bot, change_id) == "applying", "the first Confirm applying")
    for action in ("confirm", "cancel"):
        alice.submit(confirmation, action=action, changeId=change_id)
        quiet = alice.wait_reply()
        assert "being applied right now" in quiet["markdown"] and not quiet.get("attachments")
    assert "Change applied" in card_text(alice.wait_reply())
    assert emulator.calls()["PUT /v1/telephony/config/voicemail/rules"] == 1
    assert not [m for m in alice.bot_messages() if "did not work" in str(m)]


def test_a_press_before_the_card_is_remembered_still_retires_it(emulator, bot):
    """The confirmation card is live as soon as it is posted: a Confirm that ends the request
    before the bot has stored the card's id must not leave its buttons behind."""
    alice = Persona(emulator, "alice", "dm-alice")
    # the bot's post of the card is answered late (the first POST is Alice's own message)
    emulator.add_fault(method="POST", path="/v1/messages", delayAfterMs=2000, skip=1, count=1)
    alice.say("set expiry 40")
    confirmation = alice.wait_reply()  # posted; the bot has not heard back yet
    alice.submit(confirmation, action="confirm",
                 changeId=card_of(confirmation)["actions"][0]["data"]["changeId"])
    assert "Change applied" in card_text(alice.wait_reply())
    wait_until(lambda: confirmation["id"] not in emulator.state.messages,
               "the confirmation card deleted")


def status_of(bot, change_id: str) -> str:
    with store(bot).session() as session:
        return session.get(PendingChange, change_id).status


def test_a_confirmation_applies_only_its_own_fields_over_a_change_made_since(emulator, bot):
    """A change to another field made after the request is kept: only the request's sections
    are sent, so nothing of the rules it was made on is put back."""
    alice = Persona(emulator, "alice", "dm-alice")
    first, first_id = propose(alice, "set change-interval 3")
    second, second_id = propose(alice, "set expiry 60")
    alice.submit(second, action="confirm", changeId=second_id)
    assert "Change applied" in card_text(alice.wait_reply())
    alice.submit(first, action="confirm", changeId=first_id)
    assert "Change applied" in card_text(alice.wait_reply())
    rules = rules_now(emulator)
    assert rules["expirePasscode"]["numberOfDays"] == 60
    assert rules["changePasscode"]["numberOfDays"] == 3
