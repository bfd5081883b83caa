"""The change flow's edges: cancel, expiry, duplicates, revoked roles, Webex refusals and limits."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import select, update

from bot.models import AuditEntry, PendingChange
from tests.bot_server import Persona, card_of, card_text, start_bot
from tests.factories import envelope, signed


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
    alice.say("edit")
    form = alice.wait_reply()
    alice.submit(form, action="review", expiry_enabled="true", expiry_days="100",
                 change_enabled="true", change_days="1", previous_enabled="false",
                 previous_count="10", default_pin_enabled="true", new_pin="908172",
                 generate_pin="false")
    confirmation = alice.wait_reply()
    change_id = card_of(confirmation)["actions"][0]["data"]["changeId"]
    with store(bot).session() as session, session.begin():
        session.execute(update(PendingChange).where(PendingChange.id == change_id)
                        .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
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
    assert "Webex refused the change" in text and "ROUTER_" in text
    tracking_ids = [c["trackingId"] for c in emulator.control("GET", "calls/log").json()["items"]
                    if c["endpoint"] == "PUT /v1/telephony/config/voicemail/rules"]
    assert tracking_ids[-1] in text
    assert "Confirm again" not in text  # a 4xx is not retried


def test_rate_limit_then_success(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    confirmation, change_id = propose(alice)
    emulator.add_fault(method="PUT", path="/v1/telephony/*", status=429, retryAfter=1, count=1)
    alice.submit(confirmation, action="confirm", changeId=change_id)
    assert "Change applied" in card_text(alice.wait_reply(timeout=15))
    assert emulator.calls()["PUT /v1/telephony/config/voicemail/rules"] == 2
