"""Every command for every persona of the seed: the right answer for the right people, and a
refusal with no rules data for the others. One table, read across."""

from __future__ import annotations

import json

import pytest

from tests.support.bot_server import Persona, start_bot

# What each persona may do: "change" (Full), "view" (Read-only, User, Location), "none" (no admin
# role, same org), "other-org".
PERSONAS = {"alice": "change", "rita": "view", "ulla": "view", "leo": "view", "nina": "none",
            "otto": "other-org"}
# command -> the least a persona needs, and a phrase that the allowed answer contains
COMMANDS = {
    "help": ("any", "what you can do"),
    "whoami": ("any", "Admin roles"),
    "show": ("view", "Passcodes expire after 100 days"),
    "rules": ("view", "Passcodes expire after 100 days"),
    "history": ("view", "Recent changes"),
    "subscribe": ("view", "Subscribed"),
    "unsubscribe": ("view", "subscribed"),
    "edit": ("change", "expiry_days"),
    "set expiry 50": ("change", "Confirm this change"),
    "undo": ("change", "no change made through the bot to undo"),
}
RANK = {"other-org": -1, "none": 0, "any": 0, "view": 1, "change": 2}
RULES_DATA = ("100 days", "expire", "numberOfDays", "PIN must", "1 day")


@pytest.fixture(scope="module")
def shared_bot(emulator_session, tmp_path_factory):
    emulator_session.reset()
    server = start_bot(emulator_session, tmp_path_factory.mktemp("bot"))
    yield server
    server.stop()


def allowed(role: str, needs: str) -> bool:
    if role == "other-org":
        return False
    return RANK[role] >= RANK[needs]


def everything_said(message: dict) -> str:
    return (message.get("markdown") or message.get("text") or "") + json.dumps(
        message.get("attachments") or [], ensure_ascii=False)


@pytest.mark.parametrize("key", sorted(PERSONAS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_persona_command_table(emulator_session, shared_bot, key, command):
    person = Persona(emulator_session, key)
    person.say(command)
    reply = everything_said(person.wait_reply())
    needs, phrase = COMMANDS[command]
    if allowed(PERSONAS[key], needs):
        assert phrase in reply
    else:
        assert not any(data in reply for data in RULES_DATA), reply
        expected = "organization is not connected" if PERSONAS[key] == "other-org" \
            else "This needs"
        assert expected in reply
