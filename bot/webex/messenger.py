"""Sending and reading messages as the bot (``webexpythonsdk``), with every failure as WebexCallError."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from webexpythonsdk import WebexAPI

from bot.views.cards import RenderedCard
from bot.views.markup import Markup, escape
from bot.webex.clients import sdk_call


@dataclass(frozen=True)
class Reply:
    """What a handler answers: markdown, and a card shown to clients that can render it.

    ``markdown`` is escaped as text unless it is ``Markup`` (the bot's own markdown, or a rendered
    card's fallback): a value from outside in an f-string can never become markup.
    """

    markdown: str
    card: RenderedCard | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.markdown, Markup):
            object.__setattr__(self, "markdown", escape(self.markdown))

    @classmethod
    def of(cls, card: RenderedCard) -> Reply:
        return cls(card.markdown, card)

    def addressed_to(self, mention: Markup, name: str) -> Reply:
        """The same answer, its text starting with ``mention`` (a group space's reader sees whom
        it is for; Webex notifies them), and its card headed "For ``name``"."""
        return Reply(Markup(f"{mention}: {self.markdown}"),
                     self.card.headed_for(name) if self.card is not None else None)

    def made_for(self, org_id: str) -> Reply:
        """The same answer, its card's buttons naming the org whose request it answers."""
        if self.card is None or not org_id:
            return self
        return Reply(self.markdown, self.card.made_for(org_id))


@dataclass(frozen=True)
class BotIdentity:
    person_id: str
    display_name: str


class Messenger:
    def __init__(self, api: WebexAPI):
        self.api = api  # the bot's own SDK client, for calls beyond messages (webhooks)
        self._me: BotIdentity | None = None
        self._lock = threading.Lock()

    def me(self) -> BotIdentity:
        """The bot's own identity, asked once per process (it never changes)."""
        with self._lock:
            if self._me is None:
                person = self._call(lambda api: api.people.me())
                self._me = BotIdentity(person.id, person.displayName or "")
            return self._me

    def message(self, message_id: str) -> dict[str, Any]:
        return self._call(lambda api: api.messages.get(message_id)).to_dict()

    def attachment_action(self, action_id: str) -> dict[str, Any]:
        return self._call(lambda api: api.attachment_actions.get(action_id)).to_dict()

    def post(self, reply: Reply, *, room_id: str | None = None, person_id: str | None = None,
             parent_id: str | None = None) -> str:
        """Post ``reply`` to a room (in a thread when ``parent_id``) or directly to a person."""
        options: dict[str, Any] = {"markdown": str(reply.markdown)}
        if reply.card is not None:
            options["attachments"] = [reply.card.attachment()]
        if parent_id:
            options["parentId"] = parent_id
        if room_id:
            options["roomId"] = room_id
        else:
            options["toPersonId"] = person_id
        return self._call(lambda api: api.messages.create(**options)).id

    def delete(self, message_id: str) -> None:
        self._call(lambda api: api.messages.delete(message_id))

    def _call(self, action: Callable[[WebexAPI], Any]) -> Any:
        return sdk_call(self.api, action)
