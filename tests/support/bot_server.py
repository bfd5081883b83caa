"""The bot app on a real local HTTP server, its webhooks registered at the emulator, and a
``Persona`` that talks to it the way a person in a Webex client does."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from bot.app import create_app
from bot.storage.store import upgrade
from bot.webex.clients import bot_api
from bot.webex.webhooks import sync
from tests.support.databases import migrated_sqlite_url
from tests.support.emulator_server import EmulatorServer
from tests.support.factories import SECRET, make_settings
from tests.support.waiting import wait_until

POLL_SECONDS = 0.02


@dataclass
class BotServer:
    url: str
    app: object
    settings: object
    _server: object
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        self.app.extensions["vmbot.background"].stop()  # no job outlives its test's database
        self.app.extensions["vmbot.store"].dispose()


def start_bot(emulator: EmulatorServer, tmp_path, **overrides) -> BotServer:
    settings = make_settings(tmp_path, webex_base_url=emulator.base_url, **overrides)
    database = make_url(settings.database_url)
    if database.get_backend_name() == "sqlite" and not Path(database.database).exists():
        migrated_sqlite_url(Path(database.database))  # a copy: the same schema, no migration run
    else:
        upgrade(settings.database_url)
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.port}"
    # A short poll interval: stop() (shutdown) waits for the loop's next look, 0.5 s by default.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS},
                              name="bot", daemon=True)
    thread.start()
    sync(bot_api(settings), target_url=f"{url}/webhooks/webex", secret=SECRET)
    return BotServer(url, app, settings, server, thread)


@dataclass
class Persona:
    """A person typing in a space and pressing card buttons, through the emulator's API."""

    emulator: EmulatorServer
    key: str
    room: str | None = None  # a seeded room's key; None: the 1:1 space with the bot
    seen: set = field(default_factory=set)
    _direct_room_id: str | None = None

    def __post_init__(self) -> None:
        if self.room is None:
            self._direct_room_id = self._existing_direct_room()
        if self.room_id:  # earlier answers in the space are not news to this persona
            self.seen |= {m["id"] for m in self.bot_messages()}

    def _existing_direct_room(self) -> str | None:
        state, me, bot = self.emulator.state, self.emulator.id(self.key), self.emulator.id("bot")
        with state.lock:
            for room in state.rooms.values():
                if room["type"] == "direct" and set(state.room_members(room["id"])) == {me, bot}:
                    return room["id"]
        return None

    @property
    def token(self) -> str:
        return f"{self.key}-token"

    @property
    def room_id(self) -> str | None:
        return self.emulator.id(self.room) if self.room else self._direct_room_id

    def say(self, text: str, *, mention: bool | None = None) -> dict:
        if self.room_id is None:  # first words to the bot in a 1:1 space, as a client does
            sent = self._post("messages", {"toPersonId": self.emulator.id("bot"), "text": text})
            self._direct_room_id = sent["roomId"]
            return sent
        room = self.emulator.state.rooms[self.room_id]
        mention = room["type"] == "group" if mention is None else mention
        body = {"roomId": self.room_id}
        if mention:
            bot_id = self.emulator.id("bot")
            body["markdown"] = f"<@personId:{bot_id}|Voicemail Rules Bot> {text}"
        else:
            body["text"] = text
        return self._post("messages", body)

    def submit(self, card_message: dict, **inputs) -> dict:
        return self._post("attachment/actions",
                          {"type": "submit", "messageId": card_message["id"], "inputs": inputs})

    def bot_messages(self, *, room: str | None = None) -> list[dict]:
        room_id = self.emulator.id(room) if room else self.room_id
        bot_id = self.emulator.id("bot")
        with self.emulator.state.lock:
            return [dict(m) for m in self.emulator.state.messages.values()
                    if m["roomId"] == room_id and m["personId"] == bot_id]

    def wait_reply(self, timeout: float = 10.0, *, room: str | None = None) -> dict:
        """The next message the bot posts in the space that this persona has not seen yet."""
        def unseen() -> dict | None:
            return next((m for m in self.bot_messages(room=room) if m["id"] not in self.seen), None)

        message = wait_until(unseen, f"a reply from the bot to {self.key} in "
                                     f"{room or self.room or 'the 1:1 space'}", timeout=timeout)
        self.seen.add(message["id"])
        return message

    def _post(self, path: str, body: dict) -> dict:
        response = requests.post(f"{self.emulator.base_url}{path}", json=body, timeout=10,
                                 headers={"Authorization": f"Bearer {self.token}"})
        response.raise_for_status()
        return response.json()


def card_of(message: dict) -> dict:
    attachments = message.get("attachments") or []
    assert attachments, f"expected a card, got: {message.get('markdown') or message.get('text')}"
    return attachments[0]["content"]


def button_data(message: dict, action: str) -> dict:
    """What the card's button for ``action`` adds to the inputs, as a Webex client merges it."""
    return next(dict(a["data"]) for a in card_of(message)["actions"]
                if a.get("data", {}).get("action") == action)


# The edit form's inputs as the seed's rules fill them: a submit that changes nothing.
UNCHANGED_FORM = {"expiry_enabled": "true", "expiry_days": "100", "change_enabled": "true",
                  "change_days": "1", "previous_enabled": "false", "previous_count": "10",
                  "default_pin_enabled": "true", "new_pin": "", "generate_pin": "false"}


def submit_form(person: Persona, form_message: dict, **changes) -> dict:
    """Press "Review changes" on the edit form with ``changes`` over the seed's values, as a Webex
    client sends it (the inputs and the button's data); the bot's answer."""
    person.submit(form_message, **(UNCHANGED_FORM | button_data(form_message, "review") | changes))
    return person.wait_reply()


def card_text(message: dict) -> str:
    """All the text a person would read on the card (for assertions)."""
    import json

    return json.dumps(card_of(message), ensure_ascii=False)
