"""What a handler gets: the services, who is asking, and where to answer."""

from __future__ import annotations

from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from bot.domain.authorization import Requester
from bot.domain.vocabulary import RoomType
from bot.storage.audit import AuditLog, Subscriptions
from bot.storage.pending import PendingChanges
from bot.storage.snapshots import Snapshots
from bot.views.markup import mention
from bot.webex.admin import AdminAccess
from bot.webex.directory import Directory
from bot.webex.messenger import Messenger, Reply


@dataclass
class Services:
    settings: Settings
    messenger: Messenger
    admin: AdminAccess
    directory: Directory
    pending: PendingChanges
    audit: AuditLog
    subscriptions: Subscriptions
    snapshots: Snapshots
    parallel: Executor  # runs independent Webex calls at the same time (one pool per process)


@dataclass(frozen=True)
class Where:
    """Where to answer: the space, its type, and the message whose thread answers go to."""

    room_id: str
    room_type: RoomType
    thread_id: str | None

    @property
    def parent_id(self) -> str | None:
        """Answers go in the command's thread in a group space (so a busy space stays readable);
        a 1:1 space is the conversation itself."""
        return self.thread_id if self.room_type == RoomType.GROUP else None

    def post(self, messenger: Messenger, reply: Reply) -> str:
        return messenger.post(reply, room_id=self.room_id, parent_id=self.parent_id)


@dataclass(frozen=True)
class Conversation:
    """Who asked, and where the answers go."""

    messenger: Messenger
    requester: Requester
    where: Where

    def reply(self, reply: Reply) -> str:
        """Answer where the request came from: in a group space, in its thread and naming the
        requester (a mention), so nobody else there takes it for an answer to them."""
        return self.where.post(self.messenger, self.addressed(reply))

    def addressed(self, reply: Reply) -> Reply:
        if self.where.room_type != RoomType.GROUP:
            return reply  # a 1:1 space: the answer can only be for the one person there
        person = self.requester
        return reply.addressed_to(mention(person.person_id, person.display_name), person.display_name)

    def tell_privately(self, reply: Reply) -> str:
        """A direct message to the requester, whatever space the request came from."""
        return self.messenger.post(reply, person_id=self.requester.person_id)


@dataclass
class Context:
    services: Services
    conversation: Conversation
    card_message_id: str | None = None  # the card that was submitted, for card actions
    inputs: dict[str, Any] = field(default_factory=dict)
    # The rules read started alongside the requester lookup; only an authorized handler takes it.
    rules_read: Future | None = None

    @property
    def requester(self) -> Requester:
        return self.conversation.requester

    def read_rules(self) -> dict[str, Any]:
        """The current rules: the read started with the requester lookup (once), or a new read."""
        started, self.rules_read = self.rules_read, None
        return started.result() if started is not None else self.services.admin.read_rules()

    def reply(self, reply: Reply) -> str:
        return self.conversation.reply(reply)


class UserError(Exception):
    """An expected failure: ``reply`` is what the admin reads; ``log`` is for the operator."""

    def __init__(self, reply: str, *, log: str | None = None, title: str = "That did not work"):
        super().__init__(log or reply)
        self.reply = reply
        self.title = title
