"""One deployment, two orgs (acme and globex, each connected by its own Service App pair), the
bot under gunicorn (two workers) against the emulator over HTTP: each org reads and changes its
own rules with its own admin token, and nothing of one org (rules, names, history,
notifications) reaches the other; a person of an org that is not connected is told so."""

from __future__ import annotations

import threading

import pytest

from tests.support.bot_process import start_gunicorn_bot
from tests.support.bot_server import Persona, button_data
from tests.support.orgs import SERVICE_APP, connect, put_expiry, said

ACME_DAYS, GLOBEX_DAYS = 61, 45  # each org's passcode expiry, so that each org's rules show


@pytest.fixture
def two_orgs(emulator, tmp_path):
    tokens = connect(emulator, tmp_path, "acme", "globex")
    bot = start_gunicorn_bot(emulator, tmp_path, **SERVICE_APP)
    yield bot, tokens
    bot.stop()


@pytest.fixture
def acme_only(emulator, tmp_path):
    connect(emulator, tmp_path, "acme")
    bot = start_gunicorn_bot(emulator, tmp_path, **SERVICE_APP)
    yield bot
    bot.stop()


def change(person: Persona, days: int) -> str:
    """`set expiry` and Confirm; the result."""
    person.say(f"set expiry {days}")
    confirmation = person.wait_reply()
    person.submit(confirmation, **button_data(confirmation, "confirm"))
    return said(person.wait_reply())


def test_two_orgs_change_their_rules_at_once_each_seeing_only_its_own(emulator, two_orgs):
    rita, otto, alice = (Persona(emulator, key) for key in ("rita", "otto", "alice"))
    rita.say("subscribe")
    assert "Subscribed" in said(rita.wait_reply())
    results: dict[str, str] = {}
    runs = [threading.Thread(target=lambda p=p, d=d: results.update({p.key: change(p, d)}))
            for p, d in ((alice, ACME_DAYS), (otto, GLOBEX_DAYS))]
    for run in runs:
        run.start()
    for run in runs:
        run.join()

    rules = {key: emulator.control("GET", "voicemail-rules", params={"orgId": emulator.id(key)})
             .json()["rules"]["expirePasscode"]["numberOfDays"] for key in ("acme", "globex")}
    assert rules == {"acme": ACME_DAYS, "globex": GLOBEX_DAYS}
    assert f"{ACME_DAYS} days" in results["alice"] and f"{GLOBEX_DAYS} days" not in results["alice"]
    assert f"{GLOBEX_DAYS} days" in results["otto"] and f"{ACME_DAYS} days" not in results["otto"]
    for person, own, other in ((alice, ACME_DAYS, GLOBEX_DAYS), (otto, GLOBEX_DAYS, ACME_DAYS)):
        person.say("history")
        history = said(person.wait_reply())
        assert f"{own} days" in history and f"{other} days" not in history
    notice = said(rita.wait_reply())  # acme's subscriber hears of acme's change only
    assert f"{ACME_DAYS} days" in notice and "Alice Fuller" in notice
    assert all(f"{GLOBEX_DAYS} days" not in said(m) and "Otto" not in said(m)
               for m in rita.bot_messages())


OTHER_ORG_DATA = {"alice": ("Otto", "Globex", f"{GLOBEX_DAYS} days"),
                  "otto": ("Alice", "Acme", "Rita", f"{ACME_DAYS} days")}
COMMANDS = ("help", "whoami", "show", "rules", "history", "edit", "set expiry 30", "undo",
            "subscribe", "unsubscribe", "notify here", "notify off", "frobnicate", "connect",
            "disconnect")


def answers(person: Persona) -> dict[str, str]:
    said_to = {}
    for command in COMMANDS:
        person.say(command)
        said_to[command] = said(person.wait_reply())
    return said_to


def test_every_command_answers_with_the_requesters_org_only(emulator, two_orgs):
    _bot, tokens = two_orgs
    put_expiry(emulator, tokens["globex"], GLOBEX_DAYS)
    alice, otto = Persona(emulator, "alice"), Persona(emulator, "otto")
    assert f"{ACME_DAYS} days" in change(alice, ACME_DAYS)  # acme's history has Alice in it
    for person in (alice, otto):
        for command, answer in answers(person).items():
            leaked = [data for data in OTHER_ORG_DATA[person.key] if data in answer]
            assert not leaked, f"{person.key} `{command}`: {leaked} in {answer!r}"
            assert "not connected" not in answer, f"{person.key} `{command}`: {answer!r}"
    alice.say("show")
    assert f"{ACME_DAYS} days" in said(alice.wait_reply())
    otto.say("show")
    assert f"{GLOBEX_DAYS} days" in said(otto.wait_reply())


def test_a_person_of_an_org_not_connected_is_told_so_and_nothing_else(emulator, acme_only):
    alice, otto = Persona(emulator, "alice"), Persona(emulator, "otto")
    assert f"{ACME_DAYS} days" in change(alice, ACME_DAYS)
    for command, answer in answers(otto).items():
        if command == "connect":  # how: an Integration's link (no Service App id in the settings)
            assert "To connect your organization, a Full Administrator of it opens this link" \
                in answer, answer
        else:
            assert "Your organization is not connected to this bot" in answer, (command, answer)
            assert "A Full Administrator of your organization can connect it" in answer
        leaked = [data for data in OTHER_ORG_DATA["otto"] if data in answer]
        assert not leaked, f"`{command}`: {leaked} in {answer!r}"


def test_a_space_with_people_of_both_orgs_answers_each_for_their_own_org(emulator, two_orgs):
    _bot, tokens = two_orgs
    put_expiry(emulator, tokens["globex"], GLOBEX_DAYS)
    put_expiry(emulator, tokens["acme"], ACME_DAYS)
    with emulator.state.lock:  # the emulator creates no spaces over its API: Otto joins one
        emulator.state.add_membership(emulator.id("admins"), emulator.id("otto"))
    alice, otto = Persona(emulator, "alice", "admins"), Persona(emulator, "otto", "admins")
    alice.say("show")
    for_alice = said(alice.wait_reply())
    otto.seen |= alice.seen
    otto.say("show")
    for_otto = said(otto.wait_reply())
    assert f"{ACME_DAYS} days" in for_alice and f"{GLOBEX_DAYS} days" not in for_alice
    assert f"{GLOBEX_DAYS} days" in for_otto and f"{ACME_DAYS} days" not in for_otto
    assert "Otto" in for_otto and "Alice" not in for_otto

    alice.seen |= otto.seen
    assert f"{ACME_DAYS + 1} days" in change(alice, ACME_DAYS + 1)  # Alice in acme's history
    otto.seen |= alice.seen
    for command, answer in answers(otto).items():  # the whole table, in the shared space
        leaked = [data for data in (*OTHER_ORG_DATA["otto"], f"{ACME_DAYS + 1} days")
                  if data in answer]
        assert not leaked, f"`{command}`: {leaked} in {answer!r}"


def test_an_org_connected_by_another_process_is_served_at_once(emulator, tmp_path):
    """The bot started with no org; a moment after another process (the callback in another
    worker, `admin service-app`) stores an authorization, the org's admin gets the rules, not
    "not yet authorized" for the seconds the stored orgs are remembered."""
    bot = start_gunicorn_bot(emulator, tmp_path, **SERVICE_APP)
    try:
        alice = Persona(emulator, "alice", "dm-alice")
        alice.say("show")
        assert "not yet authorized" in said(alice.wait_reply())
        connect(emulator, tmp_path, "acme")
        alice.say("show")
        assert "Voicemail passcode rules" in said(alice.wait_reply())
    finally:
        bot.stop()
