"""Talk to the bot in the demo the way a person in a Webex client would, from a terminal.

    python scripts/talk.py alice show                 # say "show" in Alice's 1:1 space with the bot
    python scripts/talk.py alice edit
    python scripts/talk.py alice --press "Review changes" expiry_days=60 change_days=3
    python scripts/talk.py alice --press Confirm
    python scripts/talk.py rita --space admins show   # in the group space (the @mention is added)

``--press`` presses a button on the bot's latest card in the space, with the card's own input
values (as prefilled) changed by ``name=value`` pairs. It prints what the bot answers.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import requests

EMULATOR = f"http://127.0.0.1:{os.environ.get('EMULATOR_PORT', '8900')}"


def api(method: str, path: str, token: str, **kwargs) -> dict:
    response = requests.request(method, f"{EMULATOR}/v1/{path}", timeout=10,
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
    print(f"\n{message.get('markdown') or message.get('text')}")
    for attachment in message.get("attachments") or []:
        buttons = [a.get("title") for a in attachment["content"].get("actions", [])]
        if buttons:
            print(f"  [card buttons: {', '.join(buttons)}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("person", help="seed key: alice, rita, ulla, leo, nina, otto")
    parser.add_argument("words", nargs="*", help="what to say, or name=value pairs with --press")
    parser.add_argument("--space", default=None, help="seed key of a group space (default: 1:1)")
    parser.add_argument("--press", default=None, help="a button title on the bot's latest card")
    args = parser.parse_intermixed_args()
    directory = requests.get(f"{EMULATOR}/_emulator/directory", timeout=10).json()
    ids = directory["ids"]
    token = f"{args.person}-token"
    room_id = ids[args.space or f"dm-{args.person}"] if (args.space or f"dm-{args.person}") in ids \
        else None
    if room_id is None:
        sys.exit(f"{args.person} has no 1:1 space with the bot in the seed; use --space admins")
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


def press(room_id: str, token: str, bot_id: str, title: str, pairs: list[str]) -> None:
    cards = [m for m in bot_messages(room_id, token) if m["personId"] == bot_id and m.get("attachments")]
    for message in cards:  # newest first
        content = message["attachments"][0]["content"]
        for action in content.get("actions", []):
            if action.get("title", "").lower() == title.lower():
                inputs = card_inputs(content) | dict(action.get("data", {}))
                inputs |= dict(pair.split("=", 1) for pair in pairs)
                api("POST", "attachment/actions", token,
                    json={"type": "submit", "messageId": message["id"], "inputs": inputs})
                return
    sys.exit(f"no card in this space has a button called {title!r}")


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
