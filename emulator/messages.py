"""Messages and card submits (attachment actions), with Webex's rules.

The bot's correctness depends on these rules, so they are enforced rather than assumed: at most
7439 bytes of text or markdown, one Adaptive Card per message, no editing a card and no 11th edit,
replies one level deep, and what a bot may see. A bot in a group room only sees messages that
mention it (or that it sent); in a direct room it sees everything. Webhooks carry ids, never the
text or a card's inputs: the bot has to come back with its own token, which is what makes the
visibility rules matter.
"""

from __future__ import annotations

import html
import re
from typing import Any

from flask import Blueprint, jsonify, request

from . import delivery
from .auth import caller
from .errors import bad_request, forbidden, not_found
from .ids import now_iso, webex_id
from .pagination import paginated
from .rooms import direct_room, existing_direct_room, member_room
from .state import State, app_state

blueprint = Blueprint("messages", __name__, url_prefix="/v1")

MAX_BYTES = 7439
MAX_EDITS = 10
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MESSAGE_NOT_FOUND = "Could not find a message with provided ID."
ACTION_NOT_FOUND = "Could not find an attachment action with provided ID."
# <@personId:ID|Name>, <@personEmail:EMAIL|Name>, <@all>; the |Name part is optional.
MENTION = re.compile(r"<@(?:(personId|personEmail):([^|>]+)|(all))(?:\|([^>]*))?>")
CONTENT_FIELDS = ("text", "markdown", "html", "mentionedPeople", "mentionedGroups")


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


# --- content: sizes, cards, mentions, rendering --------------------------------------------------

def content(world: State, body: dict) -> dict:
    """``text``/``markdown`` checked and rendered: ``text`` and ``html`` derived from markdown."""
    for name in ("text", "markdown"):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise bad_request(f"{name} must be a string.")
        if value and len(value.encode("utf-8")) > MAX_BYTES:
            raise bad_request(f"The {name} is too long: a message may be at most "
                              f"{MAX_BYTES} bytes.")
    fields = {"text": body["text"]} if body.get("text") else {}
    markdown = body.get("markdown")
    if markdown:
        people, groups, plain, rendered = render(world, markdown)
        fields.setdefault("text", plain)
        fields.update(markdown=markdown, html=rendered)
        if people:
            fields["mentionedPeople"] = people
        if groups:
            fields["mentionedGroups"] = groups
    return fields


def render(world: State, markdown: str) -> tuple[list[str], list[str], str, str]:
    """Mentioned people and groups, plain text and a simple HTML rendering of ``markdown``."""
    people: list[str] = []
    groups: list[str] = []
    plain: list[str] = []
    marked: list[str] = []
    start = 0
    for match in MENTION.finditer(markdown):
        between = markdown[start:match.start()]
        plain.append(_plain(between))
        marked.append(_html(between))
        name, tag = _mention(world, match, people, groups)
        plain.append(name)
        marked.append(tag)
        start = match.end()
    plain.append(_plain(markdown[start:]))
    marked.append(_html(markdown[start:]))
    return people, groups, "".join(plain), f"<p>{''.join(marked)}</p>"


def _mention(world: State, match: re.Match, people: list, groups: list) -> tuple[str, str]:
    """Record one mention; return its display name and its ``<spark-mention>`` tag."""
    kind, value, group, label = match.groups()
    if group:
        if group not in groups:
            groups.append(group)
        name = label or "All"
        return name, (f'<spark-mention data-object-type="groupMention" data-group-type="all">'
                      f'{html.escape(name)}</spark-mention>')
    person = world.people.get(value) if kind == "personId" else world.person_by_email(value)
    if person is None:
        return label or value, html.escape(label or value)
    if person["id"] not in people:
        people.append(person["id"])
    name = label or person["displayName"]
    return name, (f'<spark-mention data-object-type="person" data-object-id="{person["id"]}">'
                  f'{html.escape(name)}</spark-mention>')


# CommonMark's escapes: a backslash before ASCII punctuation is that character, never markup; an
# entity (``&lt;``) is its character. Webex's text and html show them as the reader sees them.
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_HELD = 0xF0000  # escaped characters are held in a private-use plane while markup is read


def _hold(markdown: str) -> str:
    return _ESCAPED.sub(lambda m: chr(_HELD + ord(m.group(1))), markdown)


def _release(text: str, *, as_html: bool) -> str:
    return re.sub(r"[\U000F0000-\U000F007F]", lambda m: (html.escape if as_html else str)(
        chr(ord(m.group()) - _HELD)), text)


def _plain(markdown: str) -> str:
    return _release(html.unescape(re.sub(r"\*\*|__|`", "", _hold(markdown))), as_html=False)


def _html(markdown: str) -> str:
    escaped = html.escape(html.unescape(_hold(markdown)), quote=False)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return _release(escaped.replace("\n", "<br/>"), as_html=True)


def checked_attachments(attachments) -> list | None:
    """At most one Adaptive Card, as ``{contentType, content: {...}}``."""
    if attachments in (None, []):
        return None
    if not isinstance(attachments, list):
        raise bad_request("attachments must be a list.")
    if len(attachments) > 1:
        raise bad_request("Only one attachment (card) per message is supported.")
    card = attachments[0]
    if not isinstance(card, dict) or card.get("contentType") != CARD_TYPE:
        raise bad_request(f"The attachment contentType must be {CARD_TYPE}.")
    if not isinstance(card.get("content"), dict):
        raise bad_request("The attachment content must be an Adaptive Card object.")
    return [{"contentType": CARD_TYPE, "content": card["content"]}]


def checked_files(files) -> list | None:
    if files in (None, []):
        return None
    if not isinstance(files, list) or len(files) != 1 or not isinstance(files[0], str):
        raise bad_request("Only one file may be included with a message.")
    return files


# --- who sees what --------------------------------------------------------------------------------

def mentions(message: dict, person_id: str) -> bool:
    return person_id in message.get("mentionedPeople", [])


def visible_to(world: State, message: dict, person: dict) -> bool:
    """Room members see a message; a bot in a group room only if it is mentioned or the author."""
    if not world.is_member(message["roomId"], person["id"]):
        return False
    if person["type"] != "bot" or message["roomType"] == "direct":
        return True
    return message["personId"] == person["id"] or mentions(message, person["id"])


def visible_message(world: State, message_id: str, person: dict) -> dict:
    message = world.messages.get(message_id)
    if message is None or not visible_to(world, message, person):
        raise not_found(MESSAGE_NOT_FOUND)
    return message


def webhook_data(message: dict, *, created_event: bool = True) -> dict:
    """What a ``messages`` webhook carries: ids and mentions, never the text."""
    data = {key: message[key] for key in ("id", "roomId", "roomType", "personId", "personEmail",
                                         "created")}
    if created_event and message.get("mentionedPeople"):
        data["mentionedPeople"] = message["mentionedPeople"]
    if created_event and message.get("parentId"):
        data["parentId"] = message["parentId"]
    return data


# --- posting --------------------------------------------------------------------------------------

def target_room(world: State, body: dict, me: dict) -> tuple[dict, dict]:
    """The room for a new message and the ``toPerson*`` fields to echo in the answer."""
    given = [key for key in ("roomId", "toPersonId", "toPersonEmail") if body.get(key)]
    if len(given) != 1:
        raise bad_request("Exactly one of roomId, toPersonId or toPersonEmail must be specified.")
    key = given[0]
    if key == "roomId":
        return member_room(world, body["roomId"], me["id"]), {}
    other = (world.people.get(body[key]) if key == "toPersonId"
             else world.person_by_email(str(body[key])))
    if other is None:
        raise not_found("Could not find the person to send the message to.")
    if other["id"] == me["id"]:
        raise bad_request("Cannot send a direct message to yourself.")
    return direct_room(world, me["id"], other["id"]), {key: body[key]}


def parent_of(world: State, parent_id, room: dict) -> dict | None:
    """The thread's first message; replies to replies are refused, as Webex does."""
    if parent_id is None:
        return None
    parent = world.messages.get(parent_id) if isinstance(parent_id, str) else None
    if parent is None or parent["roomId"] != room["id"]:
        raise bad_request("parentId must be the id of a message in the same room.")
    if parent.get("parentId"):
        raise bad_request("Cannot reply to a reply: use the parentId of the thread's first "
                          "message.")
    return parent


def new_message(world: State, body: dict, me: dict) -> tuple[dict, dict]:
    """Validate ``body``, store the message and return it with the answer's extra fields."""
    fields = content(world, body)
    files, cards = checked_files(body.get("files")), checked_attachments(body.get("attachments"))
    if not (fields or files or cards):
        raise bad_request("A message needs text, markdown, files or attachments.")
    room, extra = target_room(world, body, me)
    parent = parent_of(world, body.get("parentId"), room)
    message: dict[str, Any] = {"id": webex_id("MESSAGE")}
    if parent:
        message["parentId"] = parent["id"]
    message.update(roomId=room["id"], roomType=room["type"], **fields)
    message.update({k: v for k, v in (("files", files), ("attachments", cards)) if v})
    message.update(personId=me["id"], personEmail=me["emails"][0], created=now_iso())
    world.messages[message["id"]] = message
    room["lastActivity"] = message["created"]
    return message, extra


@blueprint.post("/messages")
def create_message():
    world, me, body = app_state(), caller(), json_body()
    with world.lock:
        message, extra = new_message(world, body, me)
        message = dict(message)  # a snapshot: delivery reads it after the lock is released
    delivery.publish(world, resource="messages", event="created", data=webhook_data(message),
                     actor_id=me["id"], message=message)
    answer = {**message, **extra}
    return jsonify(answer)


# --- reading, editing, deleting -------------------------------------------------------------------

@blueprint.get("/messages")
def list_messages():
    """Newest first; a bot in a group room must ask for ``mentionedPeople=me``."""
    world, me = app_state(), caller()
    mentioned = _mentioned_filter(me)
    if not request.args.get("roomId"):
        raise bad_request("The roomId parameter is required.")
    with world.lock:
        room = member_room(world, request.args["roomId"], me["id"])
        if me["type"] == "bot" and room["type"] == "group" and not mentioned:
            raise forbidden("Bots must specify mentionedPeople=me to list messages in group rooms.")
        items = [dict(m) for m in _room_messages(world, room["id"])
                 if not mentioned or mentions(m, me["id"])]
    return paginated(items, default_max=50, limit=100 if mentioned else 1000)


def _mentioned_filter(me: dict) -> bool:
    raw = request.args.get("mentionedPeople")
    if not raw:
        return False
    if any(value not in ("me", me["id"]) for value in raw.split(",")):
        raise bad_request("mentionedPeople may only be 'me' or the caller's own person id.")
    return True


def _room_messages(world: State, room_id: str) -> list[dict]:
    """The room's messages, newest first, cut by ``before``, ``beforeMessage`` and ``parentId``."""
    found = [m for m in world.messages.values() if m["roomId"] == room_id]
    before_id = request.args.get("beforeMessage")
    if before_id:
        ids = [m["id"] for m in found]
        if before_id not in ids:
            raise bad_request("beforeMessage must be the id of a message in this room.")
        found = found[:ids.index(before_id)]
    before = request.args.get("before")
    if before:
        found = [m for m in found if m["created"] < before]
    parent_id = request.args.get("parentId")
    if parent_id:
        found = [m for m in found if m.get("parentId") == parent_id]
    return found[::-1]


@blueprint.get("/messages/direct")
def list_direct_messages():
    """The caller's 1:1 room with ``personId``/``personEmail``, newest first; no room, no items."""
    world, me = app_state(), caller()
    person_id, email = request.args.get("personId"), request.args.get("personEmail")
    if not (person_id or email):
        raise bad_request("Either personId or personEmail is required.")
    with world.lock:
        other = world.people.get(person_id) if person_id else world.person_by_email(email or "")
        if other is None:
            raise not_found("Could not find a person with provided ID or email.")
        room = existing_direct_room(world, me["id"], other["id"])
        items = [dict(m) for m in _room_messages(world, room["id"])] if room else []
    return jsonify({"items": items})


@blueprint.get("/messages/<message_id>")
def get_message(message_id: str):
    world, me = app_state(), caller()
    with world.lock:
        return jsonify(dict(visible_message(world, message_id, me)))


@blueprint.delete("/messages/<message_id>")
def delete_message(message_id: str):
    world, me = app_state(), caller()
    with world.lock:
        message = visible_message(world, message_id, me)
        if message["personId"] != me["id"]:
            raise forbidden("Only the author of a message may delete it.")
        del world.messages[message_id]
        world.message_edits.pop(message_id, None)
    delivery.publish(world, resource="messages", event="deleted",
                     data=webhook_data(message, created_event=False), actor_id=me["id"],
                     message=message)
    return "", 204


@blueprint.put("/messages/<message_id>")
def edit_message(message_id: str):
    """The author may edit text or markdown up to ten times; never a message with a card or file."""
    world, me, body = app_state(), caller(), json_body()
    with world.lock:
        message = visible_message(world, message_id, me)
        if message["personId"] != me["id"]:
            raise forbidden("Only the author of a message may edit it.")
        _check_edit(world, message, body)
        fields = content(world, body)
        for name in CONTENT_FIELDS:
            message.pop(name, None)
        message.update(fields, updated=now_iso())
        world.message_edits[message_id] += 1
        return jsonify(dict(message))


def _check_edit(world: State, message: dict, body: dict) -> None:
    if not body.get("roomId"):
        raise bad_request("The roomId of the message is required.")
    if body["roomId"] != message["roomId"]:
        raise bad_request("roomId does not match the message's room.")
    if not (body.get("text") or body.get("markdown")):
        raise bad_request("Either text or markdown is required.")
    if message.get("attachments") or message.get("files"):
        raise bad_request("Editing a message with files or attachments is currently not supported.")
    if world.message_edits[message["id"]] >= MAX_EDITS:
        raise bad_request(f"The edit limit has been reached: a message may be edited at most "
                          f"{MAX_EDITS} times.")


# --- card submits ---------------------------------------------------------------------------------

@blueprint.post("/attachment/actions")
def create_attachment_action():
    """A person submits a card: answered 202 (as the API description says), then a webhook."""
    world, me, body = app_state(), caller(), json_body()
    _check_action(body)
    with world.lock:
        card = world.messages.get(body["messageId"])
        if card is None or not visible_to(world, card, me):
            raise not_found(MESSAGE_NOT_FOUND)
        if not card.get("attachments"):
            raise bad_request("The message has no card to submit.")
        action = {"id": webex_id("ATTACHMENT_ACTION"), "type": "submit", "messageId": card["id"],
                  "inputs": body["inputs"], "personId": me["id"], "roomId": card["roomId"],
                  "created": now_iso(), "_cardPersonId": card["personId"]}
        world.attachment_actions[action["id"]] = action
        card = dict(card)
    data = {k: action[k] for k in ("id", "type", "messageId", "personId", "roomId", "created")}
    delivery.publish(world, resource="attachmentActions", event="created", data=data,
                     actor_id=me["id"], message=card)
    return jsonify(public_action(action)), 202


def _check_action(body: dict) -> None:
    if body.get("type") != "submit":
        raise bad_request("type must be submit.")
    if not isinstance(body.get("messageId"), str) or not body["messageId"]:
        raise bad_request("messageId is required.")
    if not isinstance(body.get("inputs"), dict):
        raise bad_request("inputs must be an object.")


def public_action(action: dict) -> dict:
    return {k: v for k, v in action.items() if not k.startswith("_")}


@blueprint.get("/attachment/actions/<action_id>")
def get_attachment_action(action_id: str):
    """Only the card's author (the bot that sent it) may read a submit, inputs included."""
    world, me = app_state(), caller()
    with world.lock:
        action = world.attachment_actions.get(action_id)
        if action is None or action["_cardPersonId"] != me["id"]:
            raise not_found(ACTION_NOT_FOUND)
        return jsonify(public_action(action))
