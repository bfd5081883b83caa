"""Contract tests: every operation the bot uses, called on the emulator over HTTP, and the answer
(and the request) validated against Webex's OpenAPI descriptions with ``tests/support/openapi.py``."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
import requests
from webexpythonsdk import WebexAPI

from bot.views import cards
from bot.webex import webhooks
from bot.webex.messenger import Messenger, Reply
from emulator.state import Grant
from tests.support import openapi
from tests.support.openapi import check
from tests.support.paths import card_examples

if not openapi.available() and os.environ.get("CI") == "true":
    raise RuntimeError(f"Webex API descriptions not found in {openapi.SPEC_DIR}: CI checks the "
                       "emulator against them, so they must be there "
                       "(../shared/webex-openapi or tests/webex-openapi)")
pytestmark = pytest.mark.skipif(not openapi.available(),
                                reason=f"Webex API descriptions not found in {openapi.SPEC_DIR}")

CARD = {
    "contentType": openapi.ADAPTIVE_CARD,
    "content": {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.3",
        "body": [
            {"type": "TextBlock", "text": "Change the passcode expiry", "wrap": True},
            {"type": "Input.Number", "id": "days", "label": "Days", "min": 15, "max": 100,
             "isRequired": True, "errorMessage": "15 to 100"},
        ],
        "actions": [{"type": "Action.Submit", "title": "Apply", "data": {"action": "expiry"}}],
    },
}
AUDIT_TOKEN = "audit-token"
RULES = "telephony/config/voicemail/rules"


def call(emulator, method: str, path: str, token: str | None = "bot-token",
         **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, emulator.base_url + path, headers=headers, timeout=10,
                            **kwargs)


def post_message(emulator, token: str = "bot-token", **body) -> dict:
    return check(call(emulator, "POST", "messages", token, json=body), status=200)


def mention(emulator, key: str, name: str) -> str:
    return f"<@personId:{emulator.id(key)}|{name}>"


# --- people, roles, rooms, memberships ---------------------------------------------------------

READS = {
    "people/me as the bot": ("bot-token", lambda e: "people/me"),
    "people/me as the admin": ("admin-token", lambda e: "people/me"),
    "people/{id} as the bot": ("bot-token", lambda e: f"people/{e.id('alice')}"),
    "people/{id} as the admin": ("admin-token", lambda e: f"people/{e.id('rita')}"),
    "people?email=": ("bot-token", lambda e: "people?email=alice%40acme.example"),
    "people?email= as the admin": ("admin-token", lambda e: "people?email=nina%40acme.example"),
    "roles": ("admin-token", lambda e: "roles"),
    "roles/{id}": ("admin-token", lambda e: f"roles/{e.id('id_full_admin')}"),
    "rooms": ("bot-token", lambda e: "rooms"),
    "rooms?type=group": ("bot-token", lambda e: "rooms?type=group&max=2"),
    "rooms/{id}": ("bot-token", lambda e: f"rooms/{e.id('admins')}"),
    "memberships?roomId=": ("bot-token", lambda e: f"memberships?roomId={e.id('admins')}"),
}


@pytest.mark.parametrize("name", list(READS))
def test_reads_match_the_description(emulator, name):
    token, path = READS[name]
    check(call(emulator, "GET", path(emulator), token), status=200)


def test_person_with_roles_for_the_admin_token(emulator):
    person = check(call(emulator, "GET", f"people/{emulator.id('alice')}", "admin-token"),
                   status=200)
    assert person["roles"] == [emulator.id("id_full_admin")]


def test_person_without_roles_for_the_bot_token(emulator):
    person = check(call(emulator, "GET", f"people/{emulator.id('alice')}"), status=200)
    assert "roles" not in person


def test_people_by_email_lists_the_person(emulator):
    found = check(call(emulator, "GET", "people?email=alice%40acme.example"), status=200)
    assert [p["id"] for p in found["items"]] == [emulator.id("alice")]


def test_roles_list_names_the_seeded_roles(emulator):
    roles = check(call(emulator, "GET", "roles", "admin-token"), status=200)
    assert {"Full Administrator", "Read-only Administrator"} <= {r["name"] for r in roles["items"]}


def test_memberships_of_a_room_include_the_bot(emulator):
    members = check(call(emulator, "GET", f"memberships?roomId={emulator.id('notify')}"),
                    status=200)
    assert emulator.id("bot") in {m["personId"] for m in members["items"]}


# --- messages -----------------------------------------------------------------------------------

def test_post_text_message(emulator):
    message = post_message(emulator, roomId=emulator.id("dm-alice"), text="Hello Alice")
    assert message["text"] == "Hello Alice" and message["roomType"] == "direct"


def test_post_markdown_with_a_mention(emulator):
    markdown = f"{mention(emulator, 'alice', 'Alice')}, the expiry is now **90** days."
    message = post_message(emulator, roomId=emulator.id("notify"), markdown=markdown)
    assert message["roomType"] == "group"
    assert message["mentionedPeople"] == [emulator.id("alice")]


def test_post_adaptive_card_with_fallback_text(emulator):
    message = post_message(emulator, roomId=emulator.id("dm-alice"),
                           text="Change the passcode expiry (your client cannot show cards)",
                           attachments=[CARD])
    assert message["attachments"][0]["contentType"] == openapi.ADAPTIVE_CARD


def test_post_to_person_by_email(emulator):
    message = post_message(emulator, toPersonEmail="rita@acme.example", text="Hello Rita")
    assert message["roomId"] == emulator.id("dm-rita")


def test_reply_in_a_thread(emulator):
    parent = post_message(emulator, "alice-token", roomId=emulator.id("admins"),
                          markdown=f"{mention(emulator, 'bot', 'Voicemail Rules Bot')} show rules")
    reply = post_message(emulator, roomId=emulator.id("admins"), parentId=parent["id"],
                         markdown="The current rules are...")
    assert reply["parentId"] == parent["id"]


def test_bot_lists_messages_mentioning_it_in_a_group_room(emulator):
    sent = post_message(emulator, "alice-token", roomId=emulator.id("admins"),
                        markdown=f"{mention(emulator, 'bot', 'Voicemail Rules Bot')} help")
    post_message(emulator, "alice-token", roomId=emulator.id("admins"), text="no mention here")
    listed = check(call(emulator, "GET",
                        f"messages?roomId={emulator.id('admins')}&mentionedPeople=me&max=10"),
                   status=200)
    assert [m["id"] for m in listed["items"]] == [sent["id"]]


def test_get_message_details(emulator):
    sent = post_message(emulator, "alice-token", roomId=emulator.id("dm-alice"), text="show rules")
    message = check(call(emulator, "GET", f"messages/{sent['id']}"), status=200)
    assert message["text"] == "show rules" and message["personId"] == emulator.id("alice")


def test_get_message_with_a_card(emulator):
    sent = post_message(emulator, roomId=emulator.id("dm-alice"), text="fallback",
                        attachments=[CARD])
    message = check(call(emulator, "GET", f"messages/{sent['id']}"), status=200)
    assert message["attachments"] == [CARD]


def test_edit_message(emulator):
    sent = post_message(emulator, roomId=emulator.id("dm-alice"), text="Working on it...")
    edited = check(call(emulator, "PUT", f"messages/{sent['id']}",
                        json={"roomId": emulator.id("dm-alice"), "markdown": "**Done**"}),
                   status=200)
    assert edited["id"] == sent["id"] and edited["markdown"] == "**Done**"
    assert "updated" in edited


def test_edit_limit_is_ten(emulator):
    # PUT /messages/{messageId}: "not more than 10 times", then 400.
    room = emulator.id("dm-alice")
    sent = post_message(emulator, roomId=room, text="v0")
    for version in range(1, 11):
        check(call(emulator, "PUT", f"messages/{sent['id']}",
                   json={"roomId": room, "text": f"v{version}"}), status=200)
    check(call(emulator, "PUT", f"messages/{sent['id']}", json={"roomId": room, "text": "v11"}),
          status=400)


def test_messages_list_newest_first_and_pages(emulator):
    # GET /messages: "descending order by creation date", long lists paged with Link rel="next".
    room = emulator.id("dm-alice")
    ids = [post_message(emulator, "alice-token", roomId=room, text=f"m{n}")["id"] for n in range(3)]
    first = call(emulator, "GET", f"messages?roomId={room}&max=2")
    assert [m["id"] for m in check(first, status=200)["items"]] == ids[::-1][:2]
    assert first.links["next"]["url"].startswith(emulator.base_url + "messages?")
    second = requests.get(first.links["next"]["url"], timeout=10,
                          headers={"Authorization": "Bearer bot-token"})
    assert [m["id"] for m in check(second, status=200)["items"]] == ids[:1]


def test_delete_message(emulator):
    sent = post_message(emulator, roomId=emulator.id("dm-alice"), text="a card to retire")
    check(call(emulator, "DELETE", f"messages/{sent['id']}"), status=204)
    check(call(emulator, "GET", f"messages/{sent['id']}"), status=404)


# --- attachment actions -------------------------------------------------------------------------

def submit(emulator, message_id: str, token: str = "alice-token", **inputs):
    body = {"type": "submit", "messageId": message_id, "inputs": inputs}
    return call(emulator, "POST", "attachment/actions", token, json=body)


def test_card_submit_and_read_back_by_the_bot(emulator):
    card = post_message(emulator, roomId=emulator.id("dm-alice"), text="fallback",
                        attachments=[CARD])
    # The description documents 202 (not 200) for "Create an Attachment Action".
    action = check(submit(emulator, card["id"], days="90", action="expiry"), status=202)
    assert action["messageId"] == card["id"] and action["personId"] == emulator.id("alice")
    read = check(call(emulator, "GET", f"attachment/actions/{action['id']}"), status=200)
    assert read["inputs"] == {"days": "90", "action": "expiry"}
    assert read["roomId"] == emulator.id("dm-alice")


# --- webhooks -----------------------------------------------------------------------------------

def create_webhook(emulator, **overrides) -> dict:
    body = {"name": "Voicemail Rules Bot messages", "targetUrl": "https://bot.example/webhooks",
            "resource": "messages", "event": "created", "secret": "s3cret-for-contract"}
    body.update(overrides)
    return check(call(emulator, "POST", "webhooks", json=body), status=200)


def test_webhook_lifecycle(emulator):
    created = create_webhook(emulator)
    assert created["status"] == "active"
    cards = create_webhook(emulator, name="cards", resource="attachmentActions")
    check(call(emulator, "GET", f"webhooks/{created['id']}"), status=200)
    listed = check(call(emulator, "GET", "webhooks"), status=200)
    assert {created["id"], cards["id"]} <= {w["id"] for w in listed["items"]}
    updated = check(call(emulator, "PUT", f"webhooks/{created['id']}",
                         json={"name": "renamed", "targetUrl": "https://bot.example/hooks",
                               "status": "active"}),
                    status=200)
    assert updated["name"] == "renamed" and updated["targetUrl"] == "https://bot.example/hooks"
    check(call(emulator, "DELETE", f"webhooks/{created['id']}"), status=204)
    check(call(emulator, "GET", f"webhooks/{created['id']}"), status=404)


def test_webhook_with_a_filter(emulator):
    hook = create_webhook(emulator, filter=f"roomId={emulator.id('admins')}")
    assert hook["filter"] == f"roomId={emulator.id('admins')}"


# --- voicemail rules ----------------------------------------------------------------------------

def test_get_voicemail_rules(emulator):
    rules = check(call(emulator, "GET", RULES, "admin-token"), status=200)
    assert "defaultVoicemailPin" not in rules


def test_get_voicemail_rules_with_org_id(emulator):
    check(call(emulator, "GET", f"{RULES}?orgId={emulator.id('acme')}", "admin-token"), status=200)


@pytest.mark.parametrize("patch", [
    {"expirePasscode": {"enabled": True, "numberOfDays": 90}},
    {"changePasscode": {"enabled": True, "numberOfDays": 3},
     "blockPreviousPasscodes": {"enabled": True, "numberOfPasscodes": 5}},
    {"defaultVoicemailPinEnabled": True, "defaultVoicemailPin": "159260"},
], ids=["expiry", "change-and-history", "default-pin"])
def test_put_voicemail_rules(emulator, patch):
    assert check(call(emulator, "PUT", RULES, "admin-token", json=patch), status=204) is None


@pytest.mark.parametrize("patch", [
    {"expirePasscode": {"enabled": True, "numberOfDays": 101}},
    {"changePasscode": {"enabled": True, "numberOfDays": 0}},
    {"blockPreviousPasscodes": {"enabled": True, "numberOfPasscodes": 11}},
    {"defaultVoicemailPinRules": {"length": {"min": 4, "max": 8}}},
], ids=["expiry-101", "change-0", "history-11", "read-only-pin-rules"])
def test_put_voicemail_rules_refused_by_the_description(emulator, patch):
    check(call(emulator, "PUT", RULES, "admin-token", json=patch), status=400, request_valid=False)


@pytest.mark.parametrize("pin", ["1111111", "123456", "121212", "12"])
def test_put_a_default_pin_breaking_the_pin_rules(emulator, pin):
    # Valid for the description (a string), refused by Webex for the org's PIN rules.
    check(call(emulator, "PUT", RULES, "admin-token",
               json={"defaultVoicemailPinEnabled": True, "defaultVoicemailPin": pin}), status=400)


# --- admin audit events -------------------------------------------------------------------------

@pytest.fixture
def audit_token(emulator) -> str:
    emulator.state.grants[AUDIT_TOKEN] = Grant(
        token=AUDIT_TOKEN, person_id=emulator.id("alice"), kind="integration",
        scopes=["spark:all", "spark-admin:people_read", "spark-admin:roles_read",
                "spark-admin:telephony_config_read", "spark-admin:telephony_config_write",
                "spark-admin:audit_events_read"])
    return AUDIT_TOKEN


def audit_query(emulator, **extra) -> str:
    now = datetime.now(UTC)
    query = {"orgId": emulator.id("acme"),
             "from": (now - timedelta(hours=1)).isoformat(timespec="milliseconds"),
             "to": (now + timedelta(hours=1)).isoformat(timespec="milliseconds"), **extra}
    return "adminAudit/events?" + "&".join(
        f"{k}={requests.utils.quote(str(v), safe='')}" for k, v in query.items())


def test_admin_audit_events(emulator, audit_token):
    check(call(emulator, "PUT", RULES, audit_token,
               json={"expirePasscode": {"enabled": True, "numberOfDays": 60}}), status=204)
    events = check(call(emulator, "GET", audit_query(emulator, max=10), audit_token), status=200)
    assert events["items"], "the PUT left no audit event"
    assert events["items"][0]["actorId"] == emulator.id("alice")


def test_admin_audit_events_without_the_scope(emulator):
    check(call(emulator, "GET", audit_query(emulator), "admin-token-no-audit"), status=403)


def test_admin_audit_events_without_the_required_query(emulator, audit_token):
    check(call(emulator, "GET", f"adminAudit/events?orgId={emulator.id('acme')}", audit_token),
          status=400, request_valid=False)


# --- token refresh ------------------------------------------------------------------------------
# POST /access_token is not in the trimmed descriptions: openapi.OAUTH_SPEC describes it from
# WEBEX_FACTS.md (form fields in, {access_token, expires_in, refresh_token,
# refresh_token_expires_in, token_type} out).

REFRESH = {"grant_type": "refresh_token", "client_id": "vmrules-client-id",
           "client_secret": "vmrules-client-secret", "refresh_token": "admin-refresh-token"}


def test_refresh_the_admin_token(emulator):
    answer = check(call(emulator, "POST", "access_token", None, data=REFRESH), status=200)
    assert answer["token_type"] == "Bearer" and answer["expires_in"] > 0
    me = check(call(emulator, "GET", "people/me", answer["access_token"]), status=200)
    assert me["id"] == emulator.id("alice")


def test_refresh_with_a_wrong_secret(emulator):
    response = call(emulator, "POST", "access_token", None,
                    data=dict(REFRESH, client_secret="wrong"))
    assert response.status_code in (400, 401)
    check(response)


# --- error shapes -------------------------------------------------------------------------------

ERRORS = {
    "401 without a token": (None, "GET", lambda e: "people/me", None, 401),
    "401 with an unknown token": ("no-such-token", "GET", lambda e: "rooms", None, 401),
    "404 unknown message": ("bot-token", "GET", lambda e: "messages/Y2lzY29zcGFyazovL3VzL01FU1NB"
                                                         "R0UvMDAwMDAwMDA", None, 404),
    "404 unknown person": ("admin-token", "GET", lambda e: "people/Y2lzY29zcGFyazovL3VzL1BFT1BMR"
                                                          "S9ub2JvZHk", None, 404),
    "404 delete unknown webhook": ("bot-token", "DELETE", lambda e: "webhooks/Y2lzY29zcGFyazovL"
                                                                   "3VzL1dFQkhPT0svbm9uZQ", None,
                                   404),
    "403 roles with the bot token": ("bot-token", "GET", lambda e: "roles", None, 403),
    "403 voicemail rules with the bot token": ("bot-token", "GET", lambda e: RULES, None, 403),
    "403 voicemail PUT with a user token": ("rita-token", "PUT", lambda e: RULES,
                                            {"changePasscode": {"enabled": True,
                                                                "numberOfDays": 2}}, 403),
    "400 message without a room": ("bot-token", "POST", lambda e: "messages", {"text": "lost"},
                                   400),
    "403 bot lists a group room without mentionedPeople": (
        "bot-token", "GET", lambda e: f"messages?roomId={e.id('admins')}", None, 403),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_error_answers_have_webex_shape(emulator, name):
    token, method, path, body, status = ERRORS[name]
    error = check(call(emulator, method, path(emulator), token, json=body), status=status)
    assert error["trackingId"] and error["errors"][0]["description"]


@pytest.mark.parametrize("status, path", [
    (429, "people/me"), (503, "messages?roomId={dm}"), (423, RULES), (502, "roles")])
def test_injected_failures_have_webex_shape(emulator, status, path):
    emulator.add_fault(method="GET", path="/v1/*", status=status, retryAfter=3, count=1)
    response = call(emulator, "GET", path.format(dm=emulator.id("dm-alice")), "admin-token")
    check(response, status=status)
    assert response.headers["Retry-After"] == "3"


def test_editing_a_card_message_is_refused(emulator):
    card = post_message(emulator, roomId=emulator.id("dm-alice"), text="fallback",
                        attachments=[CARD])
    check(call(emulator, "PUT", f"messages/{card['id']}",
               json={"roomId": emulator.id("dm-alice"), "text": "edited"}), status=400)


# --- fields beyond the descriptions -------------------------------------------------------------
# The descriptions do not forbid extra fields, and Webex sends a few: these are the ones it is known
# to send. Anything else the emulator adds is an invention the bot might come to rely on.
KNOWN_EXTRAS = {
    "html",       # POST /messages answers with html for markdown (only ListMessage documents it)
    "parentId",   # POST /messages answers a reply with its parentId (only ListMessage documents it)
    "orgId", "createdBy", "appId",  # webhooks (developer.webex.com/docs/api/guides/webhooks)
}


def test_no_invented_fields(emulator):
    answers = [call(emulator, "GET", "people/me"),
               call(emulator, "GET", f"people/{emulator.id('alice')}", "admin-token"),
               call(emulator, "GET", "people?email=alice%40acme.example", "admin-token"),
               call(emulator, "GET", "roles", "admin-token"),
               call(emulator, "GET", "rooms"),
               call(emulator, "GET", f"memberships?roomId={emulator.id('admins')}"),
               call(emulator, "GET", RULES, "admin-token"),
               call(emulator, "GET", "people/me", None)]
    card = call(emulator, "POST", "messages", json={"roomId": emulator.id("dm-alice"),
                                                    "text": "fallback", "attachments": [CARD]})
    answers.append(card)
    asked = call(emulator, "POST", "messages", "alice-token", json={
        "roomId": emulator.id("admins"),
        "markdown": f"{mention(emulator, 'bot', 'Voicemail Rules Bot')} **help**"})
    answers += [asked,
                call(emulator, "POST", "messages", json={"roomId": emulator.id("admins"),
                                                          "parentId": asked.json()["id"],
                                                          "markdown": "**sure**"}),
                call(emulator, "GET", f"messages?roomId={emulator.id('admins')}&mentionedPeople=me"),
                call(emulator, "GET", f"messages/{asked.json()['id']}")]
    action = submit(emulator, card.json()["id"], days="30")
    answers += [action, call(emulator, "GET", f"attachment/actions/{action.json()['id']}")]
    hook = call(emulator, "POST", "webhooks", json={
        "name": "n", "targetUrl": "https://bot.example/h", "resource": "messages",
        "event": "created"})
    answers += [hook, call(emulator, "GET", "webhooks")]
    invented = {}
    for answer in answers:
        check(answer)
        fields = {path for path in openapi.undocumented_fields(answer)
                  if "inputs/" not in path  # card inputs are free-form
                  and path.rsplit("/", 1)[-1] not in KNOWN_EXTRAS}
        if fields:
            invented[f"{answer.request.method} {answer.request.path_url}"] = sorted(fields)
    assert not invented, invented


# --- the bot's own calls, through webexpythonsdk ---------------------------------------------------
# The requests the bot really sends (the SDK adds its own fields and headers) and the answers it
# gets, every one validated.

CARD_EXAMPLES = card_examples()


def sdk(emulator, token: str, captured: list) -> WebexAPI:
    api = WebexAPI(access_token=token, base_url=emulator.base_url, single_request_timeout=10,
                   wait_on_rate_limit=False)
    api._session._req_session.hooks["response"].append(
        lambda response, *args, **kwargs: captured.append(response))
    return api


def test_the_bots_sdk_calls_match_the_description(emulator):
    captured: list[requests.Response] = []
    bot, admin = sdk(emulator, "bot-token", captured), sdk(emulator, "admin-token", captured)
    messenger = Messenger(bot)
    assert messenger.me().person_id == emulator.id("bot")
    posted = [messenger.post(Reply.of(cards.render(name, CARD_EXAMPLES[name])),
                             room_id=emulator.id("dm-alice"))
              for name in sorted(CARD_EXAMPLES)]
    messenger.post(Reply("**hello**"), person_id=emulator.id("rita"))
    messenger.post(Reply("in a thread"), room_id=emulator.id("dm-alice"), parent_id=posted[0])
    assert messenger.message(posted[0])["attachments"]
    action = check(submit(emulator, posted[0], choice="yes"), status=202)
    assert messenger.attachment_action(action["id"])["inputs"] == {"choice": "yes"}
    messenger.delete(posted[-1])
    webhooks.sync(bot, target_url="https://bot.example/webhooks", secret="first-secret")
    webhooks.sync(bot, target_url="https://bot.example/hooks", secret="second-secret")
    assert {s.status for s in webhooks.status(bot)} == {"active"}
    admin.people.me()
    assert admin.people.get(emulator.id("alice")).roles == [emulator.id("id_full_admin")]
    assert list(admin.roles.list())
    assert list(bot.people.list(email="nina@acme.example"))

    failures = []
    for response in captured:
        try:
            check(response)
        except openapi.ContractError as error:
            failures.append(str(error))
    assert len(captured) >= 20 and not failures, "\n".join(failures)


# --- the helper itself finds problems -----------------------------------------------------------

def fabricated(method: str, path: str, status: int, body, *, sent=None, headers=None):
    """A response as if the emulator had answered ``body``: to prove the checks do fail."""
    request = requests.Request(method, f"http://127.0.0.1:9/v1/{path}", json=sent).prepare()
    response = requests.Response()
    response.status_code, response.request, response.url = status, request, request.url
    response._content = b"" if body is None else json.dumps(body).encode()
    response.headers.update({"Content-Type": "application/json", "TrackingID": "ROUTER_X"}
                            if headers is None else headers)
    return response


@pytest.mark.parametrize("response, expected", [
    (fabricated("GET", "people/me", 200, {"id": "p", "type": "robot"}), "not one of"),
    (fabricated("GET", "people/me", 200, {"id": "p", "emails": [], "displayName": "P",
                                          "orgId": "o", "created": "c", "type": "bot",
                                          "_key": "x"}), "private emulator field"),
    (fabricated("GET", "rooms", 200, {"items": [{"id": "r", "type": "group"}]}), "always sends"),
    (fabricated("GET", "people/me", 404, {"message": "gone"}), "'errors'"),
    (fabricated("GET", "people/me", 418, {"message": "m", "errors": [], "trackingId": "t"}),
     "not documented"),
    (fabricated("POST", "attachment/actions", 200, {"id": "a", "type": "submit"},
                sent={"type": "submit", "messageId": "m", "inputs": {}}), "not documented"),
    (fabricated("POST", "messages", 200, None, sent={"roomId": 1}), "request: InvalidRequestBody"),
    (fabricated("PUT", RULES, 204, {"unexpected": True}, sent={}), "without a body"),
    (fabricated("PUT", RULES, 204, None, sent={"expirePasscode": {"numberOfDays": 101}}),
     "maximum of 100"),
    (fabricated("GET", "people/me", 200, {}, headers={"Content-Type": "application/json"}),
     "TrackingID"),
    (fabricated("GET", "no/such/path", 200, {}), "no such operation"),
], ids=["enum", "private-field", "always-sent", "error-shape", "undocumented-status",
        "attachment-action-200", "request-body", "204-with-body", "put-range", "tracking-id",
        "unknown-path"])
def test_the_contract_helper_reports_problems(response, expected):
    with pytest.raises(openapi.ContractError, match=expected):
        check(response)


# --- the control API's faults (the local space's Faults tab reads them) ------------------------

def test_a_used_up_fault_stays_listed_with_its_hits_and_a_wrong_one_is_refused(emulator):
    fault = emulator.add_fault(method="GET", path="/v1/nothing/*", status=503, count=2)
    statuses = [call(emulator, "GET", "nothing/here").status_code for _ in range(3)]
    assert statuses == [503, 503, 404]
    listed = emulator.control("GET", "faults").json()
    assert listed["items"] == []  # no longer applies
    (spent,) = listed["spent"]
    assert (spent["id"], spent["hits"], spent["count"]) == (fault["id"], 2, 2)
    faulted = [c for c in emulator.control("GET", "calls/log").json()["items"]
               if fault["id"] in c["faults"]]
    assert len(faulted) == spent["hits"]
    for wrong, said in (({"status": "abc"}, "status must be a whole number"),
                        ({"status": 0}, "status must be from 100 to 599"),
                        ({"count": 0}, "count must be at least 1")):
        answer = requests.post(f"{emulator.url}/_emulator/faults", json=dict(path="/v1/x", **wrong),
                               timeout=10)
        assert answer.status_code == 400 and said in answer.json()["message"], answer.text
    assert emulator.control("GET", "faults").json()["items"] == []
    emulator.control("DELETE", "faults")
    assert emulator.control("GET", "faults").json() == {"items": [], "spent": []}
