"""``notify here`` / ``notify off`` with the bot under gunicorn, as operators run it: authorized like
any change (a Full Administrator only), and a chosen space hears of the next change."""

from __future__ import annotations

import pytest

from tests.support.bot_process import bot_env, flask_cli, free_port, start_gunicorn
from tests.support.bot_server import Persona, card_of, card_text

SECRET = "e2e-notify-secret-2468"


@pytest.fixture
def deployment(emulator, tmp_path):
    port = free_port()
    env = bot_env(emulator, tmp_path, SECRET, port)
    bot = start_gunicorn(env, tmp_path, port)
    sync = flask_cli(env, tmp_path, "webhooks", "sync")
    assert sync.returncode == 0, sync.stderr
    yield env
    bot.stop()


def apply_expiry(emulator, days: int) -> None:
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say(f"set expiry {days}")
    confirmation = alice.wait_reply(timeout=20)
    alice.submit(confirmation, action="confirm",
                 changeId=card_of(confirmation)["actions"][0]["data"]["changeId"])
    assert "Change applied" in card_text(alice.wait_reply(timeout=20))


def test_notify_here_and_off_are_a_full_administrators_and_take_effect(emulator, deployment,
                                                                      tmp_path):
    rita = Persona(emulator, "rita", "admins")
    rita.say("notify here")
    refusal = rita.wait_reply(timeout=20)
    said = refusal["markdown"] + (card_text(refusal) if refusal.get("attachments") else "")
    assert "Full Administrator" in said
    assert "Voicemail admins" not in flask_cli(deployment, tmp_path, "notify", "list").stdout

    alice = Persona(emulator, "alice", "admins")
    alice.seen = set(rita.seen)
    alice.say("notify here")
    assert "now told of every change" in alice.wait_reply(timeout=20)["markdown"]
    apply_expiry(emulator, 50)
    assert "Alice Fuller" in card_text(alice.wait_reply(timeout=20))  # the notification

    alice.say("notify off")
    assert "no longer told of changes" in alice.wait_reply(timeout=20)["markdown"]
    assert "Voicemail admins" not in flask_cli(deployment, tmp_path, "notify", "list").stdout
