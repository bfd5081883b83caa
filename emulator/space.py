"""The local space at ``/``: a page that is a small Webex client of this emulator.

The page (``emulator/space/``) is a client like any other: with the chosen person's token it
lists their rooms, reads and posts messages, and posts card submits to ``/v1/attachment/actions``,
so everything it does shows in the call log and reaches the bot as signed webhooks. Cards are
rendered by Microsoft's ``adaptivecards`` renderer and markdown by ``markdown-it``, both served
from the repository's ``node_modules`` (``npm ci``, which ``make demo`` and ``make test`` run):
no CDN, no network.

One thing is not ``/v1``: ``GET /_emulator/space/updates``, which tells the page which of a
person's rooms changed, as Webex's push channel tells its clients. The page fetches messages
only when something changed, so it does not fill the call log with polling.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Blueprint, Response, abort, jsonify, request, send_file, send_from_directory

from .errors import bad_request, not_found
from .state import app_state

blueprint = Blueprint("space", __name__)

SPACE_DIR = Path(__file__).with_name("space")
NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
VENDOR = {  # the page's name -> the file npm installed
    "adaptivecards.min.js": "adaptivecards/dist/adaptivecards.min.js",
    "markdown-it.min.js": "markdown-it/dist/browser/markdown-it.umd.min.js",
}


@blueprint.get("/")
def page():
    return send_from_directory(SPACE_DIR, "index.html", max_age=0)


@blueprint.get("/space/<path:name>")
def asset(name: str):
    return send_from_directory(SPACE_DIR, name, max_age=0)


@blueprint.get("/vendor/<name>")
def vendor(name: str):
    """A browser library from ``node_modules``; 503 naming the fix when it was not installed."""
    relative = VENDOR.get(name)
    if relative is None:
        abort(404)
    path = NODE_MODULES / relative
    if not path.is_file():
        return Response(f"node_modules/{relative} is missing: run `npm ci` in the repository "
                        f"(make demo and make test do).\n", status=503, mimetype="text/plain")
    return send_file(path, mimetype="text/javascript", max_age=3600)


@blueprint.get("/_emulator/space/updates")
def updates():
    """``?personId=``: a digest of each of the person's rooms, and the room's last activity.

    A digest changes whenever a message of the room is posted, edited or deleted.
    """
    person_id = request.args.get("personId", "")
    world = app_state()
    with world.lock:
        if not person_id:
            raise bad_request("personId is required.")
        if person_id not in world.people:
            raise not_found("Unknown person.")
        rooms = {m["roomId"] for m in world.memberships.values() if m["personId"] == person_id}
        digests = {room_id: hashlib.sha1() for room_id in rooms}
        for message in world.messages.values():
            digest = digests.get(message["roomId"])
            if digest is not None:
                digest.update(f"{message['id']}|{message.get('updated', '')};".encode())
        answer = {room_id: {"digest": digest.hexdigest()[:16],
                            "lastActivity": world.rooms[room_id]["lastActivity"]}
                  for room_id, digest in digests.items()}
    return jsonify({"rooms": answer})
