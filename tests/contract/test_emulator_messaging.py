"""The emulator's people, roles, rooms, messages and attachment actions answer as Webex does.

Everything goes over real HTTP, with the seeded tokens, because the bot only ever sees the emulator
that way. The rules tested here are the ones the bot relies on: who sees admin roles, message size
and card limits, edit refusals, what a bot may read in a group room, and who may read a card submit.
"""

from __future__ import annotations

import re

import pytest
import requests
from webexpythonsdk import WebexAPI

from emulator import messages as emulator_messages

CARD = {"contentType": "application/vnd.microsoft.card.adaptive",
        "content": {"type": "AdaptiveCard", "version": "1.3",
                    "body": [{"type": "Input.Text", "id": "pin", "label": "PIN"}],
                    "actions": [{"type": "Action.Submit", "title": "Save"}]}}


def call(emulator, method: str, path: str, token: str, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.request(method, emulator.base_url + path, headers=headers, timeout=10,
                            **kwargs)


def post(emulator, token: str, **body) -> requests.Response:
    return call(emulator, "POST", "messages", token, json=body)


def posted(emulator, token: str, **body) -> dict:
    response = post(emulator, token, **body)
    assert response.status_code == 200, response.text
    return response.json()


def assert_webex_error(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["message"] and body["errors"][0]["description"]
    assert body["trackingId"] == response.headers["TrackingID"]
    return body


@pytest.fixture
def published(monkeypatch):
    """Every ``delivery.publish`` call the API makes (the server runs in this process)."""
    calls = []
    monkeypatch.setattr(emulator_messages.delivery, "publish",
                        lambda state, **kwargs: calls.append(kwargs))
    return calls


# --- people and roles ---------------------------------------------------------------------------

def test_admin_token_of_the_same_org_sees_roles(emulator):
    alice = call(emulator, "GET", f"people/{emulator.id('alice')}", "admin-token").json()
    nina = call(emulator, "GET", f"people/{emulator.id('nina')}", "admin-token").json()
    me = call(emulator, "GET", "people/me", "admin-token").json()
    assert alice["roles"] == [emulator.id("id_full_admin")]
    assert nina["roles"] == []
    assert me["id"] == emulator.id("alice") and me["roles"] == alice["roles"]


@pytest.mark.parametrize("token", ["bot-token", "alice-token", "nina-token", "otto-token"])
def test_bot_and_user_tokens_never_see_roles(emulator, token):
    for key in ("alice", "otto"):
        person = call(emulator, "GET", f"people/{emulator.id(key)}", token)
        assert person.status_code == 200
        assert "roles" not in person.json()
        assert "_persona" not in person.json()


def test_admin_token_of_another_org_sees_no_roles_nor_presence(emulator):
    otto = call(emulator, "GET", f"people/{emulator.id('otto')}", "admin-token").json()
    assert otto["orgId"] == emulator.id("globex")
    assert "roles" not in otto and "status" not in otto


def test_people_lists_never_carry_roles(emulator):
    by_email = call(emulator, "GET", "people", "admin-token",
                    params={"email": "alice@acme.example"})
    by_id = call(emulator, "GET", "people", "admin-token",
                 params={"id": f"{emulator.id('alice')},{emulator.id('rita')}"})
    by_name = call(emulator, "GET", "people", "bot-token", params={"displayName": "ri"})
    assert [p["emails"] for p in by_email.json()["items"]] == [["alice@acme.example"]]
    assert [p["id"] for p in by_id.json()["items"]] == [emulator.id("alice"), emulator.id("rita")]
    assert [p["displayName"] for p in by_name.json()["items"]] == ["Rita Reed"]
    for response in (by_email, by_id, by_name):
        assert all("roles" not in p for p in response.json()["items"])


def test_people_list_rules_for_non_admins(emulator):
    assert_webex_error(call(emulator, "GET", "people", "bot-token"), 400)
    other_org = call(emulator, "GET", "people", "bot-token",
                     params={"email": "otto@globex.example"})
    assert other_org.json()["items"] == []
    assert_webex_error(call(emulator, "GET", "people/bm9ib2R5", "bot-token"), 404)
    assert_webex_error(call(emulator, "GET", "people/me", "no-such-token"), 401)


def test_roles_for_admin_tokens_only(emulator):
    roles = call(emulator, "GET", "roles", "admin-token").json()["items"]
    names = {role["name"]: role["id"] for role in roles}
    assert names["Full Administrator"] == emulator.id("id_full_admin")
    one = call(emulator, "GET", f"roles/{emulator.id('id_user_admin')}", "admin-token").json()
    assert one == {"id": emulator.id("id_user_admin"), "name": "User Administrator"}
    role_path = f"roles/{emulator.id('id_user_admin')}"
    for token in ("bot-token", "alice-token", "otto-token"):
        assert_webex_error(call(emulator, "GET", "roles", token), 403)
        assert_webex_error(call(emulator, "GET", role_path, token), 403)


def test_roles_page_with_max_and_link_headers(emulator):
    every = call(emulator, "GET", "roles", "admin-token").json()["items"]
    first = call(emulator, "GET", "roles", "admin-token", params={"max": 2})
    assert first.json()["items"] == every[:2] and len(every) > 2
    assert re.fullmatch(r'<[^>]+max=2[^>]*>; rel="next"', first.headers["Link"])
    admin = WebexAPI(access_token="admin-token", base_url=emulator.base_url)
    assert [role.id for role in admin.roles.list(max=2)] == [role["id"] for role in every]
    assert_webex_error(call(emulator, "GET", "roles", "admin-token", params={"max": 0}), 400)


# --- rooms and memberships ------------------------------------------------------------------------

def test_rooms_are_those_of_the_caller_and_direct_titles_name_the_other(emulator):
    rooms = call(emulator, "GET", "rooms", "alice-token", params={"type": "direct"}).json()["items"]
    assert [(r["id"], r["title"]) for r in rooms] == [(emulator.id("dm-alice"),
                                                       "Voicemail Rules Bot")]
    from_bot = call(emulator, "GET", f"rooms/{emulator.id('dm-alice')}", "bot-token").json()
    assert from_bot["title"] == "Alice Fuller"
    assert_webex_error(call(emulator, "GET", f"rooms/{emulator.id('dm-alice')}", "nina-token"), 404)


def test_memberships(emulator):
    room_id = emulator.id("notify")
    members = call(emulator, "GET", "memberships", "bot-token", params={"roomId": room_id}).json()
    assert {m["personEmail"] for m in members["items"]} == {
        "alice@acme.example", "rita@acme.example", "vmrules@webex.bot"}
    own = call(emulator, "GET", "memberships", "nina-token").json()["items"]
    assert {m["personId"] for m in own} == {emulator.id("nina")}
    assert {m["roomId"] for m in own} == {emulator.id("dm-nina"), emulator.id("admins")}
    one = call(emulator, "GET", f"memberships/{own[0]['id']}", "nina-token").json()
    assert one == own[0]
    assert_webex_error(call(emulator, "GET", "memberships", "nina-token",
                            params={"roomId": room_id}), 404)
    assert_webex_error(call(emulator, "GET", "memberships", "nina-token",
                            params={"personEmail": "nina@acme.example"}), 400)


# --- posting --------------------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["text", "markdown"])
def test_text_and_markdown_limit_is_7439_bytes(emulator, field):
    room = emulator.id("dm-alice")
    at_limit = "a" * 7437 + "é"  # 7439 bytes in UTF-8, 7438 characters
    assert len(at_limit.encode()) == 7439
    assert posted(emulator, "bot-token", roomId=room, **{field: at_limit})[field] == at_limit
    body = assert_webex_error(post(emulator, "bot-token", roomId=room, **{field: at_limit + "a"}),
                              400)
    assert "7439" in body["message"]


def test_one_card_per_message(emulator):
    room = emulator.id("dm-alice")
    card = posted(emulator, "bot-token", roomId=room, text="fallback", attachments=[CARD])
    assert card["attachments"] == [CARD]
    assert_webex_error(post(emulator, "bot-token", roomId=room, text="x", attachments=[CARD, CARD]),
                       400)
    wrong_type = dict(CARD, contentType="application/json")
    assert_webex_error(post(emulator, "bot-token", roomId=room, attachments=[wrong_type]), 400)
    assert_webex_error(post(emulator, "bot-token", roomId=room,
                            attachments=[{"contentType": CARD["contentType"]}]), 400)
    assert_webex_error(post(emulator, "bot-token", roomId=room), 400)


def test_destinations(emulator):
    assert_webex_error(post(emulator, "bot-token", roomId=emulator.id("dm-alice"),
                            toPersonEmail="alice@acme.example", text="two"), 400)
    assert_webex_error(post(emulator, "otto-token", roomId=emulator.id("admins"), text="hi"), 404)
    assert_webex_error(post(emulator, "bot-token", toPersonEmail="nobody@acme.example",
                            text="hi"), 404)
    first = posted(emulator, "bot-token", toPersonEmail="ulla@acme.example", text="hello")
    second = posted(emulator, "bot-token", toPersonId=emulator.id("ulla"), text="again")
    assert first["toPersonEmail"] == "ulla@acme.example" and first["roomType"] == "direct"
    assert second["roomId"] == first["roomId"]
    rooms = call(emulator, "GET", "rooms", "ulla-token").json()["items"]
    assert {"id": first["roomId"], "title": "Voicemail Rules Bot"}.items() <= \
        next(r for r in rooms if r["id"] == first["roomId"]).items()
    existing = posted(emulator, "alice-token", toPersonEmail="vmrules@webex.bot", text="hi")
    assert existing["roomId"] == emulator.id("dm-alice")


def test_replies_are_one_level_deep(emulator):
    room = emulator.id("dm-alice")
    parent = posted(emulator, "alice-token", roomId=room, text="thread")
    reply = posted(emulator, "bot-token", roomId=room, parentId=parent["id"], text="reply")
    assert reply["parentId"] == parent["id"]
    assert_webex_error(post(emulator, "alice-token", roomId=room, parentId=reply["id"],
                            text="deeper"), 400)
    elsewhere = posted(emulator, "bot-token", roomId=emulator.id("dm-rita"), text="other room")
    assert_webex_error(post(emulator, "bot-token", roomId=room, parentId=elsewhere["id"],
                            text="x"), 400)
    thread = call(emulator, "GET", "messages", "alice-token",
                  params={"roomId": room, "parentId": parent["id"]}).json()["items"]
    assert [m["id"] for m in thread] == [reply["id"]]


def test_mentions_are_parsed_from_markdown(emulator, published):
    bot, rita = emulator.id("bot"), emulator.id("rita")
    markdown = (f"<@personId:{bot}|Rules Bot> show **rules** to "
                "<@personEmail:rita@acme.example> and <@all>")
    message = posted(emulator, "alice-token", roomId=emulator.id("admins"), markdown=markdown)
    assert message["mentionedPeople"] == [bot, rita]
    assert message["mentionedGroups"] == ["all"]
    assert message["text"] == "Rules Bot show rules to Rita Reed and All"
    assert (f'<spark-mention data-object-type="person" data-object-id="{bot}">Rules Bot'
            '</spark-mention>') in message["html"]
    assert "<strong>rules</strong>" in message["html"]
    plain = posted(emulator, "alice-token", roomId=emulator.id("admins"), text="<@all> no markdown")
    assert "mentionedPeople" not in plain and "mentionedGroups" not in plain
    assert published[0]["data"] == {key: message[key] for key in (
        "id", "roomId", "roomType", "personId", "personEmail", "created", "mentionedPeople")}
    assert published[0]["message"]["markdown"] == markdown
    assert (published[0]["resource"], published[0]["event"]) == ("messages", "created")
    assert published[0]["actor_id"] == emulator.id("alice")
    assert "mentionedPeople" not in published[1]["data"]


# --- reading, editing, deleting -------------------------------------------------------------------

def test_bots_see_only_mentions_in_group_rooms(emulator):
    room = emulator.id("admins")
    quiet = posted(emulator, "alice-token", roomId=room, text="between people")
    mention = posted(emulator, "alice-token", roomId=room,
                     markdown=f"<@personId:{emulator.id('bot')}|Bot> help")
    own = posted(emulator, "bot-token", roomId=room, text="bot talking")
    assert_webex_error(call(emulator, "GET", "messages", "bot-token", params={"roomId": room}), 403)
    listed = call(emulator, "GET", "messages", "bot-token",
                  params={"roomId": room, "mentionedPeople": "me"}).json()["items"]
    assert [m["id"] for m in listed] == [mention["id"]]
    assert_webex_error(call(emulator, "GET", "messages", "bot-token",
                            params={"roomId": room, "mentionedPeople": emulator.id("alice")}), 400)
    assert_webex_error(call(emulator, "GET", f"messages/{quiet['id']}", "bot-token"), 404)
    assert call(emulator, "GET", f"messages/{mention['id']}", "bot-token").json()["text"] == \
        "Bot help"
    assert call(emulator, "GET", f"messages/{own['id']}", "bot-token").status_code == 200
    everyone = call(emulator, "GET", "messages", "nina-token", params={"roomId": room}).json()
    assert [m["id"] for m in everyone["items"]] == [own["id"], mention["id"], quiet["id"]]


def test_bots_see_everything_in_direct_rooms_and_others_see_nothing(emulator):
    room = emulator.id("dm-alice")
    message = posted(emulator, "alice-token", roomId=room, text="hello bot")
    listed = call(emulator, "GET", "messages", "bot-token", params={"roomId": room}).json()
    assert [m["id"] for m in listed["items"]] == [message["id"]]
    assert call(emulator, "GET", f"messages/{message['id']}", "bot-token").status_code == 200
    assert_webex_error(call(emulator, "GET", f"messages/{message['id']}", "nina-token"), 404)
    assert_webex_error(call(emulator, "GET", "messages", "nina-token", params={"roomId": room}),
                       404)
    assert_webex_error(call(emulator, "GET", "messages", "nina-token"), 400)
    direct = call(emulator, "GET", "messages/direct", "bot-token",
                  params={"personEmail": "alice@acme.example"}).json()["items"]
    assert [m["id"] for m in direct] == [message["id"]]


def test_pagination_follows_link_headers_with_max(emulator):
    room = emulator.id("dm-alice")
    sent = [posted(emulator, "alice-token", roomId=room, text=f"m{i}")["id"] for i in range(5)]
    response = call(emulator, "GET", "messages", "bot-token", params={"roomId": room, "max": 2})
    seen, pages = [], 0
    while True:
        pages += 1
        assert response.status_code == 200
        seen += [m["id"] for m in response.json()["items"]]
        assert len(response.json()["items"]) <= 2
        link = response.headers.get("Link")
        if not link:
            break
        next_url = re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1)
        assert "max=2" in next_url
        response = requests.get(next_url, headers={"Authorization": "Bearer bot-token"}, timeout=10)
    assert pages == 3
    assert seen == sent[::-1]
    before = call(emulator, "GET", "messages", "bot-token",
                  params={"roomId": room, "beforeMessage": sent[2]}).json()["items"]
    assert [m["id"] for m in before] == [sent[1], sent[0]]


def test_edit_refusals(emulator):
    room = emulator.id("dm-alice")
    card = posted(emulator, "bot-token", roomId=room, text="fallback", attachments=[CARD])
    body = assert_webex_error(call(emulator, "PUT", f"messages/{card['id']}", "bot-token",
                                   json={"roomId": room, "text": "new"}), 400)
    assert "not supported" in body["message"]
    message = posted(emulator, "bot-token", roomId=room, text="v0")
    assert_webex_error(call(emulator, "PUT", f"messages/{message['id']}", "alice-token",
                            json={"roomId": room, "text": "hijack"}), 403)
    assert_webex_error(call(emulator, "PUT", f"messages/{message['id']}", "bot-token",
                            json={"text": "no room"}), 400)
    for edit in range(1, 11):
        edited = call(emulator, "PUT", f"messages/{message['id']}", "bot-token",
                      json={"roomId": room, "markdown": f"**v{edit}**"})
        assert edited.status_code == 200, edited.text
    assert edited.json()["text"] == "v10" and edited.json()["updated"] >= message["created"]
    eleventh = call(emulator, "PUT", f"messages/{message['id']}", "bot-token",
                    json={"roomId": room, "text": "v11"})
    assert "limit" in assert_webex_error(eleventh, 400)["message"]
    assert call(emulator, "GET", f"messages/{message['id']}", "bot-token").json()["text"] == "v10"


def test_delete_by_the_author_only(emulator, published):
    room = emulator.id("dm-alice")
    message = posted(emulator, "bot-token", roomId=room, text="bye")
    assert_webex_error(call(emulator, "DELETE", f"messages/{message['id']}", "alice-token"), 403)
    deleted = call(emulator, "DELETE", f"messages/{message['id']}", "bot-token")
    assert deleted.status_code == 204 and deleted.content == b""
    assert_webex_error(call(emulator, "GET", f"messages/{message['id']}", "bot-token"), 404)
    event = published[-1]
    assert (event["resource"], event["event"]) == ("messages", "deleted")
    assert event["data"] == {key: message[key] for key in (
        "id", "roomId", "roomType", "personId", "personEmail", "created")}


# --- card submits ---------------------------------------------------------------------------------

def test_attachment_actions_are_readable_by_the_card_author_only(emulator, published):
    room = emulator.id("dm-alice")
    card = posted(emulator, "bot-token", roomId=room, text="fallback", attachments=[CARD])
    submit = {"type": "submit", "messageId": card["id"], "inputs": {"pin": "135790"}}
    created = call(emulator, "POST", "attachment/actions", "alice-token", json=submit)
    assert created.status_code == 202, created.text
    action = created.json()
    assert action["inputs"] == {"pin": "135790"} and action["personId"] == emulator.id("alice")
    assert call(emulator, "GET", f"attachment/actions/{action['id']}", "bot-token").json() == action
    for token in ("alice-token", "otherbot-token", "admin-token"):
        assert_webex_error(call(emulator, "GET", f"attachment/actions/{action['id']}", token), 404)
    event = published[-1]
    assert event["resource"] == "attachmentActions" and "inputs" not in event["data"]
    assert event["data"] == {key: action[key] for key in (
        "id", "type", "messageId", "personId", "roomId", "created")}
    assert event["message"]["id"] == card["id"]


def test_attachment_action_refusals(emulator):
    room = emulator.id("dm-alice")
    card = posted(emulator, "bot-token", roomId=room, text="fallback", attachments=[CARD])
    plain = posted(emulator, "bot-token", roomId=room, text="no card")

    def submit(token, **changes):
        body = {"type": "submit", "messageId": card["id"], "inputs": {}, **changes}
        return call(emulator, "POST", "attachment/actions", token, json=body)

    assert_webex_error(submit("otto-token"), 404)
    assert_webex_error(submit("alice-token", messageId=plain["id"]), 400)
    assert_webex_error(submit("alice-token", type="click"), 400)
    assert_webex_error(submit("alice-token", inputs="pin"), 400)
    assert_webex_error(call(emulator, "GET", "attachment/actions/bm9uZQ", "bot-token"), 404)


# --- the real SDK against the emulator ------------------------------------------------------------

def test_webex_python_sdk_round_trip(emulator):
    bot = WebexAPI(access_token="bot-token", base_url=emulator.base_url)
    card = bot.messages.create(roomId=emulator.id("dm-alice"), text="fallback",
                               attachments=[CARD])
    assert card.attachments[0]["content"]["version"] == "1.3"
    # The Webex client, not the SDK, submits cards; the SDK's create expects 200 where the API
    # description says 202, so the submit goes over plain HTTP as alice.
    submitted = call(emulator, "POST", "attachment/actions", "alice-token",
                     json={"type": "submit", "messageId": card.id, "inputs": {"choice": "yes"}})
    action = bot.attachment_actions.get(submitted.json()["id"])
    assert action.inputs == {"choice": "yes"} and action.messageId == card.id
    assert bot.people.me().type == "bot"
    assert [m.id for m in bot.messages.list(roomId=emulator.id("dm-alice"), max=1)] == [card.id]

    admin = WebexAPI(access_token="admin-token", base_url=emulator.base_url)
    alice = admin.people.get(emulator.id("alice"))
    names = {role.id: role.name for role in admin.roles.list()}
    assert [names[role] for role in alice.roles] == ["Full Administrator"]
    assert bot.people.get(emulator.id("alice")).roles is None
