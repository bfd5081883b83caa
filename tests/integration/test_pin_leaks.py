"""A known PIN goes through every flow; afterwards it is searched for everywhere it must not be:
every message the emulator received, every log line, every database row and the database files."""

from __future__ import annotations

import logging

from sqlalchemy import inspect, text

from tests.support.bot_server import Persona, button_data, card_of, card_text, start_bot

PIN = "908172"
CLEAN_FORM = {"expiry_enabled": "true", "expiry_days": "100", "change_enabled": "true",
              "change_days": "1", "previous_enabled": "false", "previous_count": "10",
              "default_pin_enabled": "true", "generate_pin": "false"}


def submit(person: Persona, card: dict, **inputs) -> dict:
    person.submit(card, **(CLEAN_FORM | button_data(card, inputs["action"]) | inputs))
    return person.wait_reply()


def test_a_pin_never_leaks(emulator, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    bot = start_bot(emulator, tmp_path, notify_room_ids=emulator.id("notify"), log_level="DEBUG")
    try:
        rita = Persona(emulator, "rita", "dm-rita")
        rita.say("subscribe")
        rita.wait_reply()
        for room in ("dm-alice", "admins"):
            alice = Persona(emulator, "alice", room)
            alice.say("edit")
            form = alice.wait_reply()
            # a PIN that breaks a rule: the form comes back, naming the rule, not the PIN
            again = submit(alice, form, action="review", new_pin=PIN[:3] + PIN[:3])
            assert "repeated pattern" in card_text(again)
            confirmation = submit(alice, again, action="review", new_pin=PIN)
            change_id = card_of(confirmation)["actions"][0]["data"]["changeId"]
            if room == "admins":
                alice.submit(confirmation, action="cancel", changeId=change_id)
                alice.wait_reply()
                continue
            alice.submit(confirmation, action="confirm", changeId=change_id)
            assert "Change applied" in card_text(alice.wait_reply())
        alice.say("history")
        alice.wait_reply()
        assert emulator.state.default_pins[emulator.id("acme")] == PIN  # it did reach Webex
        generated = generate_in_a_group_space(emulator)
        database_rows = dump_database(bot)
        database_files = b"".join(p.read_bytes() for p in tmp_path.glob("bot.sqlite3*"))
    finally:
        bot.stop()

    for message in emulator.state.messages.values():
        assert PIN not in str(message), f"PIN in a message to {message['roomId']}"
    # The generated PIN is in exactly one message: the bot's to Alice, in her 1:1 space.
    holders = [m for m in emulator.state.messages.values() if generated in str(m)]
    assert [(m["roomId"], m["personId"]) for m in holders] == \
        [(emulator.id("dm-alice"), emulator.id("bot"))]
    lines = [r.getMessage() for r in caplog.records]  # every logger: the bot's and its libraries'
    assert lines and not [line for line in lines if PIN in line or generated in line]
    for secret in (PIN, generated):
        assert secret not in database_rows
        assert secret.encode() not in database_files
    audit = emulator.state.audit_events
    assert audit and PIN not in str(audit) and generated not in str(audit)


def generate_in_a_group_space(emulator) -> str:
    """Alice asks for a generated PIN in the group space and confirms; return the PIN Webex got."""
    alice = Persona(emulator, "alice", "admins")
    alice.say("edit")
    confirmation = submit(alice, alice.wait_reply(), action="review", new_pin="",
                          generate_pin="true")
    alice.submit(confirmation, action="confirm",
                 changeId=card_of(confirmation)["actions"][0]["data"]["changeId"])
    assert "Change applied" in card_text(alice.wait_reply())
    generated = emulator.state.default_pins[emulator.id("acme")]
    assert generated != PIN
    return generated


def dump_database(bot) -> str:
    engine = bot.app.extensions["vmbot.store"].engine
    rows = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            rows += [str(row) for row in connection.execute(text(f"SELECT * FROM {table}"))]
    return "\n".join(rows)
