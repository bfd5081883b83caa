"""Talk to the bot in the demo the way a person in a Webex client would, from a terminal.

    python scripts/talk.py alice show                 # say "show" in Alice's 1:1 space with the bot
    python scripts/talk.py alice edit
    python scripts/talk.py alice --press "Review changes" expiry_days=60 change_days=3
    python scripts/talk.py alice --press Confirm
    python scripts/talk.py rita --space admins show   # in the group space (the @mention is added)

``--press`` presses a button on the bot's latest card in the space, with the card's own input
values (as prefilled) changed by ``name=value`` pairs (only the card's own input names: the edit
form's are listed in README). It prints what the bot answers.

Mistakes are answered in one line, never a traceback: the demo not running, a person or space the
seed does not have, a button or a field the card does not have (each with the valid ones).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import requests

EMULATOR = f"http://127.0.0.1:{os.environ.get('EMULATOR_PORT', '8900')}"
NOT_RUNNING = "the demo is not running (start it with make demo)"


def request(method: str, url: str, **kwargs) -> requests.Response:
    """One call to the emulator; the demo not running is said in one line."""
    try:
        return requests.request(method, url, timeout=10, **kwargs)
    except requests.ConnectionError:
        sys.exit(f"{NOT_RUNNING}: nothing answers at {EMULATOR}")


def api(method: str, path: str, token: str, **kwargs) -> dict:
    response = request(method, f"{EMULATOR}/v1/{path}",
                       headers={"Authorization": f"Bearer {token}"}, **kwargs)
    if response.status_code >= 400:
        sys.exit(f"Webex (the emulator) said {response.status_code}: {response.text}")
    return response.json() if response.content else {}


def bot_messages(room_id: str, token: str) -> list[dict]:
    return api("GET", "messages", token, params={"roomId": room_id, "max": 50})["items"]


def card_inputs(card: dict) -> dict[str, str]:
    """The values a client would submit if the person changed nothing."""
    values = {}
    for element in _walk(card.get("body", [])):
        if str(element.get("type", "")).startswith("Input.") and "id" in element:
            value = element.get("value", "")
            values[element["id"]] = "" if value is None else str(value)
    return values


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def show(message: dict) -> None:
    """The message as a reader sees it: Webex's plain text of the markdown (a mention as the
    name, escapes as the characters), then the card's buttons."""
    print(f"\n{message.get('text') or message.get('markdown')}")
    for attachment in message.get("attachments") or []:
        buttons = [a.get("title") for a in attachment["content"].get("actions", [])]
        if buttons:
            print(f"  [card buttons: {', '.join(buttons)}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("person", help="a seeded person's key: alice, fiona, rita, ulla, leo, nina "
                                       "(acme), otto (globex), iris... (initech), uma... (umbrella)")
    parser.add_argument("words", nargs="*", help="what to say, or name=value pairs with --press")
    parser.add_argument("--space", default=None,
                        help="the key of a group space the person is in (default: their 1:1)")
    parser.add_argument("--press", default=None, help="a button title on the bot's latest card")
    args = parser.parse_intermixed_args()
    directory = request("GET", f"{EMULATOR}/_emulator/directory").json()
    ids = directory["ids"]
    person = known_person(directory, args.person)
    token = f"{person}-token"
    room_id = ids.get(known_space(directory, args.space, person) or f"dm-{person}")
    if room_id is None:
        sys.exit(f"{person} has no 1:1 space with the bot in the seed; use --space with one of "
                 f"theirs: {', '.join(group_spaces(directory, person))}")
    before = {m["id"] for m in bot_messages(room_id, token)}
    if args.press:
        press(room_id, token, ids["bot"], args.press, args.words)
    else:
        text = " ".join(args.words) or "help"
        body = {"roomId": room_id}
        if args.space:
            body["markdown"] = f"<@personId:{ids['bot']}|Voicemail Rules Bot> {text}"
        else:
            body["text"] = text
        api("POST", "messages", token, json=body)
    wait_and_show(room_id, token, ids["bot"], before)


def known_person(directory: dict, key: str) -> str:
    """A seeded person's key (any case); an unknown one is refused, naming the people there are."""
    people = [p["key"] for p in directory["people"] if p["type"] == "person"]
    if key.lower() not in people:
        sys.exit(f"unknown person {key!r}: the seed has {', '.join(people)}")
    return key.lower()


def known_space(directory: dict, key: str | None, person: str) -> str | None:
    """A seeded group space's key, or None for the 1:1 space; an unknown one, or one the person
    is not in (Webex would answer 404), is refused."""
    spaces = group_spaces(directory)
    if key is not None and key not in spaces:
        sys.exit(f"unknown space {key!r}: the group spaces are {', '.join(spaces)}")
    if key is not None and key not in group_spaces(directory, person):
        sys.exit(f"{person} is not in the space {key!r}: their group spaces are "
                 f"{', '.join(group_spaces(directory, person))}")
    return key


def group_spaces(directory: dict, person: str | None = None) -> list[str]:
    """The seeded group spaces' keys (those ``person`` is in, when given)."""
    ids = directory["ids"]
    rooms = {room["id"]: room for room in directory["rooms"] if room["type"] == "group"}
    return [key for key, seeded_id in ids.items() if seeded_id in rooms and
            (person is None or ids[person] in rooms[seeded_id].get("members", []))]


def press(room_id: str, token: str, bot_id: str, title: str, pairs: list[str]) -> None:
    cards = [m for m in bot_messages(room_id, token) if m["personId"] == bot_id and m.get("attachments")]
    for message in cards:  # newest first
        content = message["attachments"][0]["content"]
        for action in content.get("actions", []):
            if action.get("title", "").lower() == title.lower():
                inputs = card_inputs(content) | dict(action.get("data", {}))
                inputs |= typed_values(card_inputs(content), pairs)
                api("POST", "attachment/actions", token,
                    json={"type": "submit", "messageId": message["id"], "inputs": inputs})
                return
    sys.exit(f"no card in this space has a button called {title!r}")


def typed_values(fields: dict[str, str], pairs: list[str]) -> dict[str, str]:
    """``name=value`` pairs for the card's own inputs; anything else is refused by name."""
    values = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals:
            sys.exit(f"{pair!r} is not name=value")
        if name not in fields:
            valid = ", ".join(fields) or "none (this card has no fields)"
            sys.exit(f"unknown field {name!r}: this card's fields are {valid}")
        values[name] = value
    return values


def wait_and_show(room_id: str, token: str, bot_id: str, before: set[str]) -> None:
    deadline, shown = time.monotonic() + 8, set[str]()
    while time.monotonic() < deadline:
        for message in reversed(bot_messages(room_id, token)):
            if message["personId"] == bot_id and message["id"] not in before | shown:
                shown.add(message["id"])
                show(message)
                deadline = time.monotonic() + 1.5  # more may follow (a result, then a card)
        time.sleep(0.2)
    if not shown:
        print("(no answer from the bot yet)")


if __name__ == "__main__":
    main()
