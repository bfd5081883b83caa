"""The pieces that decide what a PUT with no clear answer means, and the retries after it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from tenacity import wait_none

from bot.chat import retries
from bot.chat.applied import patched, reads_as_requested, verifiable
from bot.domain.rules import VoicemailRules
from bot.webex.errors import WebexCallError

SEED = json.loads((Path(__file__).resolve().parents[2] / "emulator" / "seed.json").read_text())
BEFORE = VoicemailRules.from_api(SEED["voicemailRules"])
EXPIRY = {"expirePasscode": {"enabled": True, "numberOfDays": 41}}


def test_rules_that_read_as_asked_show_the_put_landed():
    assert reads_as_requested(patched(BEFORE, EXPIRY), BEFORE, EXPIRY)
    assert not reads_as_requested(BEFORE, BEFORE, EXPIRY)


def test_a_new_pin_alone_cannot_be_verified_by_reading_the_rules():
    enabled = BEFORE.pin_rules.default_pin_enabled
    pin_only = {"defaultVoicemailPinEnabled": enabled}  # the PIN itself is never stored in a patch
    assert not verifiable(BEFORE, pin_only)
    assert not reads_as_requested(BEFORE, BEFORE, pin_only)
    assert verifiable(BEFORE, dict(EXPIRY, **pin_only))


@pytest.mark.parametrize(("status", "refusal"), [
    (400, True), (403, True), (404, True), (429, False), (500, False), (503, False), (None, False)])
def test_only_a_4xx_says_the_put_was_not_carried_out(status, refusal):
    assert WebexCallError(status, "x").is_refusal is refusal


def test_a_post_is_retried_while_webex_may_let_it_through(monkeypatch):
    monkeypatch.setattr(retries, "wait_exponential", lambda **_: wait_none())
    answers = iter([WebexCallError(500, "x"), WebexCallError(None, "x"), "message-id"])

    def post() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert retries.deliver("a test post", post) == "message-id"


def test_a_post_webex_refuses_is_given_up_and_logged(monkeypatch, caplog):
    monkeypatch.setattr(retries, "wait_exponential", lambda **_: wait_none())
    calls = []

    def post() -> str:
        calls.append(1)
        raise WebexCallError(404, "room gone")

    assert retries.deliver("a test post", post) is None
    assert len(calls) == 1 and "a test post not delivered" in caplog.text


def test_a_write_is_retried_until_the_database_answers(monkeypatch):
    monkeypatch.setattr(retries, "wait_exponential", lambda **_: wait_none())
    failures = [OperationalError("INSERT", {}, Exception("database is locked"))] * 3

    def write() -> str:
        if failures:
            raise failures.pop()
        return "written"

    assert retries.durably("a test row", write) == "written"
