"""Rooms and memberships, as the caller sees them.

Webex only shows a room to its members, so every lookup here goes through the caller's memberships
and an unknown room and someone else's room both answer 404. A direct room's ``title`` is the other
person's name, so it differs per viewer and is computed on the way out.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from .auth import caller
from .errors import bad_request, not_found
from .ids import now_iso, webex_id
from .pagination import paginated
from .state import State, app_state

blueprint = Blueprint("rooms", __name__, url_prefix="/v1")

ROOM_NOT_FOUND = "Could not find a room with provided ID."
SORT_KEYS = {"id": ("id", False), "lastactivity": ("lastActivity", True),
             "created": ("created", True)}


def public_room(world: State, room: dict, viewer_id: str) -> dict:
    """The room as ``viewer_id`` sees it: a direct room is titled after the other member."""
    shown = dict(room)
    if room["type"] == "direct":
        others = [p for p in world.room_members(room["id"]) if p != viewer_id]
        if others:
            shown["title"] = world.people[others[0]]["displayName"]
    return shown


def member_room(world: State, room_id: str, person_id: str) -> dict:
    """The room if ``person_id`` belongs to it; 404 otherwise (Webex hides other people's rooms)."""
    room = world.rooms.get(room_id or "")
    if room is None or not world.is_member(room_id, person_id):
        raise not_found(ROOM_NOT_FOUND)
    return room


def existing_direct_room(world: State, person_id: str, other_id: str) -> dict | None:
    """The 1:1 room of two people, if they have one. Hold ``world.lock``."""
    pair = {person_id, other_id}
    for room_id in world.person_rooms(person_id):
        room = world.rooms[room_id]
        if room["type"] == "direct" and set(world.room_members(room_id)) == pair:
            return room
    return None


def direct_room(world: State, person_id: str, other_id: str) -> dict:
    """The 1:1 room of two people, created on first contact as Webex does. Hold ``world.lock``."""
    existing = existing_direct_room(world, person_id, other_id)
    if existing is not None:
        return existing
    created = now_iso()
    room = {
        "id": webex_id("ROOM"), "title": world.people[other_id]["displayName"], "type": "direct",
        "isLocked": False, "lastActivity": created, "creatorId": person_id, "created": created,
        "ownerId": world.people[person_id]["orgId"], "isPublic": False, "isReadOnly": False,
    }
    world.rooms[room["id"]] = room
    for member in (person_id, other_id):
        world.add_membership(room["id"], member, created)
    return room


@blueprint.get("/rooms")
def list_rooms():
    world, me = app_state(), caller()
    wanted = request.args.get("type")
    if wanted not in (None, "direct", "group"):
        raise bad_request("type must be direct or group.")
    with world.lock:
        mine = set(world.person_rooms(me["id"]))
        rooms = [public_room(world, r, me["id"]) for r in world.rooms.values()
                 if r["id"] in mine and wanted in (None, r["type"])]
    return paginated(_sorted(rooms, request.args.get("sortBy")))


def _sorted(rooms: list[dict], sort_by: str | None) -> list[dict]:
    if sort_by is None:
        return rooms
    if sort_by not in SORT_KEYS:
        raise bad_request("sortBy must be id, lastactivity or created.")
    key, newest_first = SORT_KEYS[sort_by]
    return sorted(rooms, key=lambda r: r[key], reverse=newest_first)


@blueprint.get("/rooms/<room_id>")
def get_room(room_id: str):
    world, me = app_state(), caller()
    with world.lock:
        return jsonify(public_room(world, member_room(world, room_id, me["id"]), me["id"]))


@blueprint.get("/memberships")
def list_memberships():
    """With ``roomId``: that room's members (the caller must be one). Without: the caller's own."""
    world, me = app_state(), caller()
    room_id = request.args.get("roomId")
    person_id, email = request.args.get("personId"), request.args.get("personEmail")
    if (person_id or email) and not room_id:
        raise bad_request("The roomId parameter is required when using personId or personEmail.")
    with world.lock:
        if room_id:
            member_room(world, room_id, me["id"])
        items = [dict(m) for m in world.memberships.values()
                 if (m["roomId"] == room_id if room_id else m["personId"] == me["id"])
                 and person_id in (None, m["personId"])
                 and (email is None or m["personEmail"].lower() == email.lower())]
    return paginated(items)


@blueprint.get("/memberships/<membership_id>")
def get_membership(membership_id: str):
    world, me = app_state(), caller()
    with world.lock:
        membership = world.memberships.get(membership_id)
        if membership is None or not world.is_member(membership["roomId"], me["id"]):
            raise not_found("Could not find a membership with provided ID.")
        return jsonify(dict(membership))
