"""Attacks on one deployment serving several orgs, the bot under gunicorn (two workers) against
the emulator over HTTP: a Full Administrator of another org (Otto of globex, Iris of initech)
tries to read or change acme's rules or data, or to make the bot speak of acme where acme did
not ask. Each test is one attack; it passes when the attack changes nothing and tells nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import update

from bot.storage.models import PendingChange
from bot.storage.org_data import OrgHoldings, holdings
from bot.storage.store import Store
from bot.webex.orgs import GRANTS_RECHECK_SECONDS
from tests.support.bot_process import BIN, REPO, settings_environment, start_gunicorn_bot
from tests.support.bot_server import Persona, button_data, submit_form
from tests.support.orgs import SERVICE_APP, connect, put_expiry, said
from tests.support.waiting import wait_until

ACME_MARKS = ("Alice", "Acme", "Rita", "61 days")  # what of acme a reply to Otto must never say
ANOTHER_ORGS_CARD = "Your button press changed nothing: this card was made for another organization."


@pytest.fixture
def orgs(emulator, tmp_path):
    """acme, globex and initech connected, each by its own Service App pair."""
    connect(emulator, tmp_path, "acme", "globex", "initech")
    bot = start_gunicorn_bot(emulator, tmp_path, **SERVICE_APP)
    yield bot
    bot.stop()


def in_partners(emulator, *keys: str) -> list[Persona]:
    """People of several orgs in the space `partners`, each seeing the others' answers as old."""
    return [Persona(emulator, key, "partners") for key in keys]


def caught_up(*people: Persona) -> None:
    """What one of them saw in the shared space is no news to the others."""
    seen = set().union(*(person.seen for person in people))
    for person in people:
        person.seen |= seen


def acme_expiry(emulator) -> int:
    rules = emulator.control("GET", "voicemail-rules", params={"orgId": emulator.id("acme")})
    return rules.json()["rules"]["expirePasscode"]["numberOfDays"]


def no_acme_in(answer: str) -> None:
    leaked = [mark for mark in ACME_MARKS if mark in answer]
    assert not leaked, f"{leaked} in {answer!r}"


def kept(bot, emulator, key: str):
    store = Store(bot.settings.database_url)
    try:
        return holdings(store, emulator.id(key))
    finally:
        store.dispose()


def card_in_partners(emulator, command: str) -> tuple[Persona, Persona, dict]:
    """Alice (acme) types ``command`` in the space shared with Otto (globex): her card."""
    alice, otto = in_partners(emulator, "alice", "otto")
    alice.say(command)
    card = alice.wait_reply()
    caught_up(alice, otto)
    return alice, otto, card


def presses(person: Persona, card: dict, *actions: str) -> list[str]:
    """``person`` presses each button of ``card``; what the bot answers each press."""
    answers = []
    for action in actions:
        person.submit(card, **button_data(card, action))
        answers.append(said(person.wait_reply()))
    return answers


HOSTILE_NAME = "Otto <@all> [Alice](https://evil.example) **Acme**"


def test_pressing_another_orgs_confirmation_card_changes_nothing(emulator, orgs):
    """Otto, his name made of markup, presses Alice's card in the space they share: the answer
    pings nobody else and names him as text."""
    emulator.control("PUT", f"people/{emulator.id('otto')}", json={"displayName": HOSTILE_NAME})
    alice, otto, card = card_in_partners(emulator, "set expiry 61")
    for action in ("confirm", "cancel"):
        otto.submit(card, **button_data(card, action))
        answer = otto.wait_reply()
        assert ANOTHER_ORGS_CARD in said(answer), said(answer)
        assert answer.get("mentionedPeople") == [emulator.id("otto")]
        assert "mentionedGroups" not in answer and "https://evil" not in said(answer)
    assert acme_expiry(emulator) == 100
    assert card["id"] in emulator.state.messages  # still Alice's to press
    caught_up(alice, otto)
    assert "Change applied" in presses(alice, card, "confirm")[0]
    assert acme_expiry(emulator) == 61


def test_another_orgs_admin_can_neither_take_nor_delete_an_edit_form(emulator, orgs):
    """globex's rules read as acme's form showed them: without the card's org, Otto's Review
    would propose his own change from it, and either button would delete Alice's form."""
    alice, otto, form = card_in_partners(emulator, "edit")
    assert ANOTHER_ORGS_CARD in presses(otto, form, "cancel_edit")[0]
    assert form["id"] in emulator.state.messages, "Otto's Cancel deleted acme's form"
    assert ANOTHER_ORGS_CARD in said(submit_form(otto, form, expiry_days="45"))
    otto.submit(form, **(button_data(form, "review") | {"orgId": emulator.id("globex")}))
    assert ANOTHER_ORGS_CARD in said(otto.wait_reply())  # the card says whose it is, not the press
    assert form["id"] in emulator.state.messages, "Otto's Review deleted acme's form"
    caught_up(alice, otto)
    answer = said(submit_form(alice, form, expiry_days="61"))
    assert "Confirm this change" in answer, answer  # the form is still Alice's to send


def test_pressing_another_orgs_disconnect_card_forgets_nothing(emulator, orgs):
    rita = Persona(emulator, "rita")
    rita.say("subscribe")
    assert "Subscribed" in said(rita.wait_reply())  # acme keeps a subscriber
    before = kept(orgs, emulator, "acme")
    alice, otto, card = card_in_partners(emulator, "disconnect")
    for answer in presses(otto, card, "disconnect_confirm", "disconnect_cancel"):
        assert ANOTHER_ORGS_CARD in answer, answer
        no_acme_in(answer)
    assert kept(orgs, emulator, "acme") == before
    assert card["id"] in emulator.state.messages
    caught_up(alice, otto)
    alice.say("show")
    assert "Passcodes expire after 100 days" in said(alice.wait_reply())


def test_notify_off_in_a_shared_space_stops_only_the_requesters_org(emulator, orgs):
    alice, otto = in_partners(emulator, "alice", "otto")
    alice.say("notify here")
    assert "now told of every change" in said(alice.wait_reply())
    caught_up(alice, otto)
    otto.say("notify off")
    assert "This space was not a notification space chosen here." in said(otto.wait_reply())
    caught_up(alice, otto)
    dm_otto = Persona(emulator, "otto")
    dm_otto.say("set expiry 45")  # globex's change: not told in acme's notification space
    card = dm_otto.wait_reply()
    dm_otto.submit(card, **button_data(card, "confirm"))
    assert "Change applied" in said(dm_otto.wait_reply())
    dm_alice = Persona(emulator, "alice")
    dm_alice.say("set expiry 61")
    card = dm_alice.wait_reply()
    dm_alice.submit(card, **button_data(card, "confirm"))
    assert "Change applied" in said(dm_alice.wait_reply())
    notice = said(alice.wait_reply())
    assert "61 days" in notice and "Alice Fuller" in notice
    assert all("45 days" not in said(m) and "Otto" not in said(m)
               for m in alice.bot_messages() if m["id"] not in otto.seen)


def test_an_envelope_that_lies_about_org_person_and_space_is_not_believed(emulator, orgs):
    """The webhook's envelope (orgId, actorId, createdBy) and its data (personId, roomId) are
    Webex's summary, not the event: the bot reads the message with its own token."""
    from tests.support.factories import envelope, signed

    for hook in requests.get(f"{emulator.base_url}webhooks", timeout=10,
                             headers={"Authorization": "Bearer bot-token"}).json()["items"]:
        requests.delete(f"{emulator.base_url}webhooks/{hook['id']}", timeout=10,
                        headers={"Authorization": "Bearer bot-token"})  # this test delivers
    otto, alice = Persona(emulator, "otto"), Persona(emulator, "alice")
    message = otto.say("show")
    body = envelope("messages", "created", data_id=message["id"], roomId=emulator.id("dm-alice"),
                    personId=emulator.id("alice"), roomType="direct")
    body.update(orgId=emulator.id("acme"), actorId=emulator.id("alice"),
                createdBy=emulator.id("alice"))
    raw, headers = signed(body)
    assert requests.post(f"{orgs.url}/webhooks/webex", data=raw, headers=headers,
                         timeout=10).status_code == 202
    answer = said(otto.wait_reply())
    assert "Passcodes expire after" in answer  # globex's rules, to Otto
    no_acme_in(answer)
    assert not alice.bot_messages() or all(m["id"] in alice.seen for m in alice.bot_messages())


def move(emulator, key: str, to_org: str) -> None:
    """The person's account moves to another org (an admin moved it), keeping its roles."""
    with emulator.state.lock:
        emulator.state.people[emulator.id(key)]["orgId"] = emulator.id(to_org)


def test_a_person_who_moved_org_cannot_confirm_their_old_orgs_change(emulator, orgs):
    alice = Persona(emulator, "alice")
    alice.say("set expiry 61")
    card = alice.wait_reply()
    move(emulator, "alice", "globex")
    alice.submit(card, **button_data(card, "confirm"))
    answer = said(alice.wait_reply())
    assert "Not applied" in answer and "another organization" in answer, answer
    assert acme_expiry(emulator) == 100


def test_a_subscriber_who_moved_org_hears_no_more_of_the_old_one(emulator, orgs):
    rita, alice = Persona(emulator, "rita"), Persona(emulator, "alice")
    rita.say("subscribe")
    assert "Subscribed" in said(rita.wait_reply())
    move(emulator, "rita", "globex")
    alice.say("set expiry 61")
    card = alice.wait_reply()
    alice.submit(card, **button_data(card, "confirm"))
    applied = said(alice.wait_reply())
    assert "Change applied" in applied and "Notification sent" not in applied, applied
    assert all(m["id"] in rita.seen for m in rita.bot_messages())


def test_connect_takes_no_org_from_what_is_typed(emulator, tmp_path):
    connect(emulator, tmp_path, "acme")
    bot = start_gunicorn_bot(emulator, tmp_path, **SERVICE_APP,
                             webex_service_app_id=emulator.id("vmrules-service-app"),
                             webex_applications_token="developer-token")
    try:
        acme_before = kept(bot, emulator, "acme")
        otto, iris = Persona(emulator, "otto"), Persona(emulator, "iris")
        otto.say(f"connect {emulator.id('initech')}")  # initech has authorized the Service App
        assert "The bot's Service App is not authorized in your organization" in said(
            otto.wait_reply())
        assert not kept(bot, emulator, "initech").token_pair
        iris.say(f"connect {emulator.id('acme')}")
        assert "Your organization (Initech) is now connected" in said(iris.wait_reply())
        assert kept(bot, emulator, "acme") == acme_before
        iris.say("show")
        assert "Passcodes expire after 60 days" in said(iris.wait_reply())
    finally:
        bot.stop()


RULES_PATH = "/v1/telephony/config/voicemail/rules"


def status_of(bot, change_id: str) -> str | None:
    store = Store(bot.settings.database_url)
    try:
        with store.session() as session:
            row = session.get(PendingChange, change_id)
            return row.status if row is not None else None
    finally:
        store.dispose()


def disconnect_answer(emulator, key: str = "alice", room: str = "admins") -> str:
    """``key`` asks to disconnect their org in ``room`` and presses Disconnect at once."""
    person = Persona(emulator, key, room)
    person.say("disconnect")
    card = person.wait_reply()
    return presses(person, card, "disconnect_confirm")[0]


def disconnect_while_confirming(emulator, bot, alice: Persona, card: dict, slow: str) -> str:
    """Alice presses Confirm; while Webex answers acme's ``slow`` rules call, she disconnects
    acme from the admins space: what that answers."""
    emulator.add_fault(method=slow, path=RULES_PATH, orgId="acme", latencyMs=4000, count=1)
    alice.submit(card, **button_data(card, "confirm"))
    change_id = button_data(card, "confirm")["changeId"]
    wait_until(lambda: status_of(bot, change_id) == "applying", "the change being applied")
    return disconnect_answer(emulator)


def test_disconnect_waits_while_a_change_is_being_applied(emulator, orgs):
    alice = Persona(emulator, "alice")
    alice.say("set expiry 61")
    answer = disconnect_while_confirming(emulator, orgs, alice, alice.wait_reply(), "PUT")
    assert "A change to the rules is being applied right now" in answer, answer
    assert "Change applied" in said(alice.wait_reply())
    assert acme_expiry(emulator) == 61
    acme = kept(orgs, emulator, "acme")
    assert acme.token_pair and acme.history_entries == 1


def test_disconnect_waits_while_a_change_of_unknown_outcome_is_being_settled(emulator, orgs):
    """A change whose PUT went unanswered stays open past its 10 minutes, until a Confirm (or
    the watcher) reads the rules and settles it: that is applying too, expired or not. Forgotten
    meanwhile, its history entry and the watcher's copy of the rules were written back after."""
    alice = Persona(emulator, "alice")
    alice.say("set expiry 61")
    card = alice.wait_reply()
    put_expiry(emulator, "admin-token", 61)  # the PUT landed; its answer never came
    store = Store(orgs.settings.database_url)
    with store.session() as session, session.begin():
        session.execute(update(PendingChange)
                        .where(PendingChange.id == button_data(card, "confirm")["changeId"])
                        .values(status="unknown",
                                expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    store.dispose()
    answer = disconnect_while_confirming(emulator, orgs, alice, card, "GET")
    assert "A change to the rules is being applied right now" in answer, answer
    assert "already applied" in said(alice.wait_reply())
    acme = kept(orgs, emulator, "acme")
    assert acme.token_pair and acme.history_entries == 1


def in_flight(emulator, part: str) -> bool:
    """Is a call to an endpoint with ``part`` in its path being answered by the emulator now?"""
    return any(part in endpoint and count > 0 for endpoint, count in emulator.state.in_flight.items())


def test_a_watcher_look_that_ends_after_a_disconnect_keeps_nothing_of_the_org(emulator, orgs):
    """The watcher reads initech's rules slowly; iris disconnects initech meanwhile: the look,
    when it ends, must not remember initech's rules (nor write its history) again."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("WEBEX_")}
    env |= {"PYTHONPATH": str(REPO)} | settings_environment(orgs.settings)
    emulator.add_fault(method="GET", path=RULES_PATH, orgId="initech", latencyMs=4000, count=1)
    watch = subprocess.Popen([str(BIN / "flask"), "--app", "app", "watch", "--once"],
                             cwd=orgs.settings.database_url.split("///")[1].rsplit("/", 1)[0],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: in_flight(emulator, "voicemail"), "the watcher's read of initech's rules")
        assert "Your organization is disconnected." in disconnect_answer(emulator, "iris",
                                                                         "initech-admins")
        output, _ = watch.communicate(timeout=30)
    finally:
        watch.kill()
    assert watch.returncode == 0, output
    assert "skipped: disconnected meanwhile" in output, output
    assert kept(orgs, emulator, "initech") == OrgHoldings(
        token_pair=False, pending_changes=0, history_entries=0, subscribers=0,
        notification_spaces=0, rules_snapshot=False), output



def test_notify_room_ids_never_hear_of_an_org_that_became_the_only_one(emulator, tmp_path):
    """NOTIFY_ROOM_IDS belong to the home org, which without WEBEX_ORG_ID or WEBEX_ADMIN_TOKEN is
    the org of the only stored pair: acme's, the operator's. Once acme is disconnected, globex's
    pair is the only one left, and globex's changes must not be posted in acme's space."""
    connect(emulator, tmp_path, "acme")
    bot = start_gunicorn_bot(emulator, tmp_path, **SERVICE_APP,
                             notify_room_ids=emulator.id("notify"))
    try:
        acme_space = Persona(emulator, "rita", "notify")
        alice = Persona(emulator, "alice")
        alice.say("set expiry 61")
        assert "Notification sent to 1 space" in presses(alice, alice.wait_reply(), "confirm")[0]
        assert "61 days" in said(acme_space.wait_reply())  # acme is the home org
        connect(emulator, tmp_path, "globex")
        assert "Your organization is disconnected." in disconnect_answer(emulator)
        time.sleep(GRANTS_RECHECK_SECONDS + 0.5)  # every worker sees acme gone
        otto = Persona(emulator, "otto")
        otto.say("set expiry 45")
        applied = presses(otto, otto.wait_reply(), "confirm")[0]
        assert "Change applied" in applied and "Notification sent" not in applied, applied
        assert [said(m) for m in acme_space.bot_messages() if m["id"] not in acme_space.seen] \
            == []
    finally:
        bot.stop()


def test_a_connect_cut_off_by_a_dying_worker_is_finished_once_by_another(emulator, tmp_path):
    """Webex is slow to give initech's pair; the workers die meanwhile (SIGKILL). The event,
    acknowledged before, is taken up again: initech is connected once, iris told once, and
    nothing of initech was stored by the cut-off attempt in between."""
    connect(emulator, tmp_path, "acme")
    bot = start_gunicorn_bot(emulator, tmp_path, **SERVICE_APP, event_lease_seconds=2,
                             webex_service_app_id=emulator.id("vmrules-service-app"),
                             webex_applications_token="developer-token")
    try:
        emulator.add_fault(method="POST", path="/v1/applications/*", latencyMs=3000, count=1)
        iris = Persona(emulator, "iris")
        iris.say("connect")
        wait_until(lambda: in_flight(emulator, "applications"), "the request for initech's pair")
        for pid in bot.process.children():
            os.kill(pid, signal.SIGKILL)
        assert not kept(bot, emulator, "initech").token_pair
        assert "Your organization (Initech) is now connected" in said(iris.wait_reply(timeout=60))
        iris.say("show")
        assert "Passcodes expire after 60 days" in said(iris.wait_reply())
        assert [said(m) for m in iris.bot_messages() if m["id"] not in iris.seen] == []
    finally:
        bot.stop()
