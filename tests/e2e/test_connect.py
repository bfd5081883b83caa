"""Orgs connect and disconnect themselves in the chat, the bot under gunicorn (two workers),
against the emulator over HTTP: acme is connected (its Service App pair stored); initech has
authorized the Service App in Control Hub, globex has not. `connect` with the Service App, and
with an Integration's link; `disconnect` after its confirmation card, forgetting that org's data
and nothing of another's."""

from __future__ import annotations

import time

import pytest
import requests

from bot.storage.org_data import OrgHoldings, holdings
from bot.storage.store import Store
from bot.webex.orgs import GRANTS_RECHECK_SECONDS
from tests.support.bot_process import start_gunicorn_bot
from tests.support.bot_server import Persona, button_data
from tests.support.consent import consent
from tests.support.orgs import SERVICE_APP, connect, said

INTEGRATION = {"webex_admin_client_id": "vmrules-client-id",
               "webex_admin_client_secret": "vmrules-client-secret"}
NOTHING = OrgHoldings(token_pair=False, pending_changes=0, history_entries=0, subscribers=0,
                      notification_spaces=0, rules_snapshot=False)


def self_connecting(emulator) -> dict:
    return {**SERVICE_APP, "webex_service_app_id": emulator.id("vmrules-service-app"),
            "webex_applications_token": "developer-token"}


@pytest.fixture
def bot(emulator, tmp_path):
    """acme connected; the bot connects other orgs with the Service App."""
    connect(emulator, tmp_path, "acme")
    bot = start_gunicorn_bot(emulator, tmp_path, **self_connecting(emulator))
    yield bot
    bot.stop()


def kept(bot, key: str, emulator) -> OrgHoldings:
    store = Store(bot.settings.database_url)
    try:
        return holdings(store, emulator.id(key))
    finally:
        store.dispose()


def ask(person: Persona, text: str) -> str:
    person.say(text)
    return said(person.wait_reply())


def test_a_full_administrator_connects_an_org_that_authorized_the_service_app(emulator, bot):
    iris, ida, alice = (Persona(emulator, key) for key in ("iris", "ida", "alice"))
    refusal = ask(iris, "show")
    assert "Your organization is not connected to this bot" in refusal
    assert "A Full Administrator of your organization can connect it by typing `connect`" \
        in refusal

    refused = ask(ida, "connect")  # initech's, no admin role: the new token says so
    assert "Connecting your organization needs a Full Administrator of it. Your account has no " \
           "admin role." in refused and "Nothing was stored" in refused
    assert not kept(bot, "initech", emulator).token_pair

    answer = ask(iris, "connect")
    assert "Your organization (Initech) is now connected to this bot." in answer
    assert "`show`" in answer and "`disconnect`" in answer
    assert kept(bot, "initech", emulator).token_pair
    assert "Passcodes expire after 60 days" in ask(iris, "show")  # initech's own rules
    assert "Passcodes expire after 100 days" in ask(alice, "show")  # acme's, untouched
    assert "already connected" in ask(iris, "connect")
    refused = ask(ida, "show")  # connected now: ida is refused for her role, not her org
    assert "This needs a Full, Read-only, User or Location Administrator" in refused


def test_the_first_org_of_all_connects_itself_from_the_chat(emulator, tmp_path):
    """A new deployment, no org connected yet, WEBEX_ORG_ID naming the home org (acme): the bot
    still looks people up (with its own token), so the first org's Full Administrator connects
    it by typing `connect`."""
    bot = start_gunicorn_bot(emulator, tmp_path, **self_connecting(emulator),
                             webex_org_id=emulator.id("acme"))
    try:
        iris = Persona(emulator, "iris")
        refusal = ask(iris, "show")
        assert "Your organization is not connected to this bot" in refusal
        assert "can connect it by typing `connect` to me" in refusal
        assert "Your organization (Initech) is now connected" in ask(iris, "connect")
        assert "Passcodes expire after 60 days" in ask(iris, "show")
    finally:
        bot.stop()


@pytest.mark.parametrize("settings", ["no way to connect from the chat", "no WEBEX_ORG_ID"])
def test_otherwise_the_first_org_is_the_operators_to_connect(emulator, tmp_path, settings):
    # Without WEBEX_ORG_ID the org connected alone becomes the home org (NOTIFY_ROOM_IDS are
    # its) for good: a stranger typing `connect` first must not be it.
    overrides = ({**SERVICE_APP, "public_url": None} if settings.startswith("no way") else
                 self_connecting(emulator))  # neither a Service App id nor a link's PUBLIC_URL
    bot = start_gunicorn_bot(emulator, tmp_path, **overrides)
    try:
        for command in ("show", "connect"):
            answer = ask(Persona(emulator, "iris"), command)
            assert "The bot is not yet authorized" in answer and "admin service-app" in answer, \
                answer
            assert "Initech" not in answer and "60 days" not in answer
        assert not kept(bot, "initech", emulator).token_pair
    finally:
        bot.stop()


def test_an_expired_applications_token_is_the_operators_to_renew_not_the_orgs(emulator, bot):
    emulator.control("POST", "tokens/developer-token/expire")  # about 14 days after it was made
    answer = ask(Persona(emulator, "iris"), "connect")
    assert "Webex refused the bot's own credentials for connecting organizations: its operator " \
           "must renew them" in answer and "Nothing was stored" in answer
    assert "valid access token" not in answer and "developer-token" not in answer
    assert not kept(bot, "initech", emulator).token_pair
    log = bot.process.log()
    assert "renew WEBEX_APPLICATIONS_TOKEN" in log and "developer-token" not in log


def test_connect_in_a_group_space_answers_in_the_1_1_space(emulator, bot):
    iris_in_group, iris = Persona(emulator, "iris", "initech-admins"), Persona(emulator, "iris")
    iris_in_group.say("connect")
    assert "I told you more in our 1:1 space" in said(iris_in_group.wait_reply())
    assert "Your organization (Initech) is now connected" in said(
        iris.wait_reply(room="dm-iris"))


def link_in(answer: str) -> str:
    return next(word for word in answer.split() if word.startswith("http"))


def open_callback(bot, location: str) -> requests.Response:
    """The browser comes back to PUBLIC_URL's callback: here, the test's bot server."""
    return requests.get(location.replace(bot.settings.public_url.rstrip("/"), bot.url),
                        timeout=30)


def test_an_integration_link_is_bound_to_the_org_of_whoever_asked(emulator, tmp_path):
    connect(emulator, tmp_path, "acme")
    bot = start_gunicorn_bot(emulator, tmp_path, **(SERVICE_APP | INTEGRATION))
    try:
        otto, uma = Persona(emulator, "otto"), Persona(emulator, "uma")
        url = link_in(ask(otto, "connect"))
        page = open_callback(bot, consent(emulator, url, person="alice"))  # acme's admin
        assert page.status_code == 403, page.text
        assert "not of the organization this link was made for" in page.text
        assert not kept(bot, "globex", emulator).token_pair

        page = open_callback(bot, consent(emulator, link_in(ask(uma, "connect")), person="uma"))
        assert page.status_code == 200, page.text
        assert "Your organization (Umbrella Health) is now connected" in said(uma.wait_reply())
        assert "Voicemail passcode rules" in ask(uma, "show")
        assert "not connected" in ask(otto, "show")
    finally:
        bot.stop()


def disconnect_card(person: Persona) -> dict:
    person.say("disconnect")
    return person.wait_reply()


def test_disconnect_forgets_that_org_and_nothing_of_another(emulator, tmp_path):
    connect(emulator, tmp_path, "acme", "initech")
    bot = start_gunicorn_bot(emulator, tmp_path, **self_connecting(emulator))
    try:
        iris, ivan, alice = (Persona(emulator, key) for key in ("iris", "ivan", "alice"))
        group = Persona(emulator, "iris", "initech-notify")
        for person, command in ((ivan, "subscribe"), (alice, "subscribe"),
                                (group, "notify here")):
            ask(person, command)
        acme_before, initech_before = (kept(bot, key, emulator) for key in ("acme", "initech"))
        assert initech_before.subscribers == 1 and initech_before.notification_spaces == 1

        refused = ask(ivan, "disconnect")  # Read-only Administrator
        assert "This needs a Full Administrator" in refused
        iris_there = Persona(emulator, "iris", "initech-admins")
        ivan_there = Persona(emulator, "ivan", "initech-admins")
        card = disconnect_card(iris_there)
        ivan_there.seen |= iris_there.seen
        text = said(card)
        assert "Disconnect Initech?" in text and "1 subscriber" in text
        assert "1 notification space" in text and "the stored token pair" in text
        assert "Nothing changes in Webex" in text
        assert kept(bot, "initech", emulator) == initech_before  # nothing forgotten yet

        ivan_there.submit(card, **button_data(card, "disconnect_confirm"))  # not his to press
        assert "Your button press changed nothing. This needs a Full Administrator" in said(
            ivan_there.wait_reply())
        iris_there.seen |= ivan_there.seen
        iris_there.submit(card, **button_data(card, "disconnect_confirm"))
        done = said(iris_there.wait_reply())
        assert "Your organization is disconnected." in done and "1 subscriber" in done
        assert kept(bot, "initech", emulator) == NOTHING
        assert kept(bot, "acme", emulator) == acme_before
        time.sleep(GRANTS_RECHECK_SECONDS + 0.5)  # the other worker reads the stored orgs again
        assert "not connected" in ask(iris, "show")
        assert "Passcodes expire after 100 days" in ask(alice, "show")
        assert card["id"] not in emulator.state.messages  # its buttons are gone with it
    finally:
        bot.stop()


def test_disconnect_cancelled_forgets_nothing(emulator, bot):
    iris = Persona(emulator, "iris")
    ask(iris, "connect")
    before = kept(bot, "initech", emulator)
    card = disconnect_card(iris)
    iris.submit(card, **button_data(card, "disconnect_cancel"))
    assert "Disconnect cancelled: nothing was forgotten." in said(iris.wait_reply())
    assert kept(bot, "initech", emulator) == before
    assert card["id"] not in emulator.state.messages
    assert "Voicemail passcode rules" in ask(iris, "show")


def test_the_home_org_of_webex_admin_token_cannot_be_disconnected_from_the_chat(emulator,
                                                                               tmp_path):
    bot = start_gunicorn_bot(emulator, tmp_path)  # WEBEX_ADMIN_TOKEN, acme's
    try:
        answer = ask(Persona(emulator, "alice"), "disconnect")
        assert "home organization, connected by the bot's own settings (`WEBEX_ADMIN_TOKEN`)" \
            in answer and "cannot be disconnected from the chat" in answer
    finally:
        bot.stop()
