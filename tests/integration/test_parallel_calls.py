"""Independent Webex calls at the same time, seen in the emulator's call log (times, durations),
and what that must never change: a refused requester gets nothing of the rules, and the card a
submit is judged by is the one its action names."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
import requests

from bot.chat.services import build_services, warm_up
from bot.storage.store import Store, upgrade
from tests.support.bot_server import Persona, card_of, card_text, start_bot
from tests.support.factories import make_settings
from tests.support.waiting import wait_until

PERSON = "GET /v1/people/{person_id}"
ROLES = "GET /v1/roles"
RULES = "GET /v1/telephony/config/voicemail/rules"
ME = "GET /v1/people/me"
SLOW_MS = 400


def log(emulator) -> list[dict]:
    return emulator.control("GET", "calls/log").json()["items"]


def span(call: dict) -> tuple[float, float]:
    end = datetime.fromisoformat(call["time"].replace("Z", "+00:00")).timestamp()
    return end - call["ms"] / 1000, end


def overlap_ms(first: dict, second: dict) -> float:
    (a_start, a_end), (b_start, b_end) = span(first), span(second)
    return (min(a_end, b_end) - max(a_start, b_start)) * 1000


def only(calls: list[dict], endpoint: str) -> dict:
    found = [c for c in calls if c["endpoint"] == endpoint]
    assert len(found) == 1, f"{endpoint}: {len(found)} calls in {[c['endpoint'] for c in calls]}"
    return found[0]


def slow(emulator, method: str, path: str) -> None:
    emulator.add_fault(method=method, path=path, latencyMs=SLOW_MS)


@pytest.fixture
def bot(emulator, tmp_path):
    """The bot after its start-up reads (identity, org, role names), with the call log cleared."""
    server = start_bot(emulator, tmp_path, notify_room_ids=emulator.id("notify"))
    requests.get(f"{server.url}/healthz", timeout=10)  # the first request starts the background
    wait_until(lambda: emulator.calls().get(ME) == 2 and emulator.calls().get(ROLES) == 1,
               "the bot's start-up reads (identity twice, roles once)", detail=emulator.calls)
    emulator.control("DELETE", "calls")
    yield server
    server.stop()


def test_start_up_reads_identity_org_and_roles_at_once(emulator, tmp_path):
    settings = make_settings(tmp_path, webex_base_url=emulator.base_url)
    upgrade(settings.database_url)
    services = build_services(settings, Store(settings.database_url))
    for path in ("/v1/people/me", "/v1/roles"):
        slow(emulator, "GET", path)
    warm_up(services)
    calls = log(emulator)
    assert sorted(c["endpoint"] for c in calls) == [ME, ME, ROLES]  # bot and admin identity
    assert min(overlap_ms(a, b) for a in calls for b in calls if a is not b) > SLOW_MS / 2
    assert services.orgs.home_org_id() == emulator.id("acme")
    assert services.orgs.connected() == [emulator.id("acme")]
    assert len(log(emulator)) == 3  # nothing asked again


def test_a_cold_show_reads_the_requester_and_the_rules_at_once(emulator, bot):
    slow(emulator, "GET", "/v1/people/*")
    slow(emulator, "GET", "/v1/telephony/*")
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("show")
    assert "Passcodes expire after 100 days" in card_text(alice.wait_reply())
    calls = [c for c in log(emulator) if c["endpoint"] != "POST /v1/messages"]
    assert sorted(c["endpoint"] for c in calls) == sorted(
        ["GET /v1/messages/{message_id}", PERSON, RULES])
    assert overlap_ms(only(calls, PERSON), only(calls, RULES)) > SLOW_MS / 2


def test_a_warm_show_makes_three_webex_calls(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("show")
    alice.wait_reply()
    emulator.control("DELETE", "calls")
    alice.say("show")
    alice.wait_reply()
    assert emulator.calls() == {"POST /v1/messages": 2,  # alice's message, the bot's answer
                                "GET /v1/messages/{message_id}": 1, RULES: 1}


@pytest.mark.parametrize("key, refusal", [
    ("nina", "This needs a Full, Read-only, User or Location Administrator"),
    ("otto", "Your organization is not connected to this bot"),
])
def test_a_refused_requester_gets_nothing_of_the_rules(emulator, bot, key, refusal):
    slow(emulator, "GET", "/v1/telephony/*")  # the rules read finishes after the refusal
    person = Persona(emulator, key, f"dm-{key}")
    person.say("show")
    reply = person.wait_reply()
    assert refusal in reply["markdown"] and not reply.get("attachments")
    time.sleep(SLOW_MS / 1000 + 0.3)  # the dropped read is over: still nothing more was posted
    assert [m["id"] for m in person.bot_messages()] == [reply["id"]]
    rules = emulator.control("GET", "voicemail-rules").json()["rules"]
    posted = str(reply)
    for value in ("Passcode", "passcode", "digits", str(rules["expirePasscode"]["numberOfDays"])):
        assert value not in posted


def test_a_card_submit_reads_the_action_and_its_card_at_once(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("show")
    card = alice.wait_reply()
    refresh = next(a for a in card_of(card)["actions"] if a.get("data", {}).get("action") == "show")
    emulator.control("DELETE", "calls")
    slow(emulator, "GET", "/v1/attachment/actions/*")
    slow(emulator, "GET", "/v1/messages/*")
    alice.submit(card, **refresh["data"])
    assert "Passcodes expire after 100 days" in card_text(alice.wait_reply())
    calls = log(emulator)
    action = only(calls, "GET /v1/attachment/actions/{action_id}")
    read_card = only(calls, "GET /v1/messages/{message_id}")
    assert card["id"] in read_card["path"]
    assert overlap_ms(action, read_card) > SLOW_MS / 2


def test_confirm_reads_the_rules_alongside_the_fresh_role_check(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("set expiry 60")
    confirmation = alice.wait_reply()
    emulator.control("DELETE", "calls")
    for path in ("/v1/people/*", "/v1/roles", "/v1/telephony/*"):
        slow(emulator, "GET", path)
    alice.submit(confirmation, **card_of(confirmation)["actions"][0]["data"])
    assert "Change applied" in card_text(alice.wait_reply(timeout=15))
    calls = log(emulator)
    person, roles = only(calls, PERSON), only(calls, ROLES)  # the fresh check: no cache
    before_put = [c for c in calls if c["endpoint"] == RULES][0]
    assert overlap_ms(person, roles) > SLOW_MS / 2
    assert overlap_ms(person, before_put) > SLOW_MS / 2
