"""``notify here`` / ``notify off`` (issue 14, item 4): a Full Administrator makes a group space a
notification space from Webex; ``flask --app app notify list`` shows them; NOTIFY_ROOM_IDS still
works alongside."""

from __future__ import annotations

import pytest

from tests.support.bot_server import Persona, card_of, card_text, start_bot


@pytest.fixture
def bot(emulator, tmp_path):
    server = start_bot(emulator, tmp_path, notify_room_ids=emulator.id("notify"))
    yield server
    server.stop()


def apply_a_change(emulator) -> None:
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("set expiry 50")
    confirmation = alice.wait_reply()
    change_id = card_of(confirmation)["actions"][0]["data"]["changeId"]
    alice.submit(confirmation, action="confirm", changeId=change_id)
    assert "Change applied" in card_text(alice.wait_reply())


def notify_list(bot) -> str:
    result = bot.app.test_cli_runner().invoke(args=["notify", "list"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_notify_here_then_off(emulator, bot):
    admins = Persona(emulator, "alice", "admins")
    admins.say("notify here")
    assert "now told of every change" in admins.wait_reply()["markdown"]
    listed = notify_list(bot)
    assert "Voicemail admins" in listed and "`notify here` by Alice Fuller" in listed
    assert "Voicemail policy changes" in listed and "NOTIFY_ROOM_IDS\tthe home org" in listed

    notify_space = Persona(emulator, "alice", "notify")
    apply_a_change(emulator)
    assert "Alice Fuller" in card_text(admins.wait_reply())
    assert "Alice Fuller" in card_text(notify_space.wait_reply())  # NOTIFY_ROOM_IDS still works

    admins.say("notify off")
    assert "no longer told of changes" in admins.wait_reply()["markdown"]
    assert "Voicemail admins" not in notify_list(bot)


@pytest.mark.parametrize("key", ["rita", "nina"])
def test_only_a_full_administrator_chooses_notification_spaces(emulator, bot, key):
    person = Persona(emulator, key, "admins")
    person.say("notify here")
    person.wait_reply()
    assert "Voicemail admins" not in notify_list(bot)
