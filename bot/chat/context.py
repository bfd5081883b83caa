"""What a handler gets: the services, who is asking, and where to answer."""

from __future__ import annotations

import logging
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from bot.domain.authorization import Requester
from bot.domain.vocabulary import RoomType
from bot.storage.audit import AuditLog, Subscriptions
from bot.storage.pending import PendingChanges
from bot.storage.secret_box import SecretBox
from bot.storage.snapshots import Snapshots
from bot.storage.store import Store
from bot.views.markup import mention
from bot.webex.admin import AdminAccess
from bot.webex.admin_token import AdminTokenExpired
from bot.webex.directory import Directory
from bot.webex.errors import WebexCallError
from bot.webex.messenger import Messenger, Reply
from bot.webex.orgs import OrgRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrgScope:
    """Everything of one connected org that a request or a job may touch: its admin access and
    its own rows (pending changes, history, subscribers and notification spaces, the watcher's
    copy of its rules). Built for the requester's org only, so a handler cannot reach another's."""

    org_id: str
    admin: AdminAccess
    pending: PendingChanges
    audit: AuditLog
    subscriptions: Subscriptions
    snapshots: Snapshots
    notify_room_ids: tuple[str, ...]  # NOTIFY_ROOM_IDS, for the home org only


@dataclass
class Services:
    settings: Settings
    messenger: Messenger
    orgs: OrgRegistry
    directory: Directory
    store: Store
    box: SecretBox
    parallel: Executor  # runs independent Webex calls at the same time (one pool per process)

    def scope(self, org_id: str) -> OrgScope | None:
        """``org_id``'s admin access and rows, or None when the org is not connected."""
        admin = self.orgs.access(org_id)
        if admin is None:
            return None
        home = _home_org(self.orgs)
        # An org connected by a stored pair can be disconnected: what the watcher finds of it
        # is kept only while it is still connected (a look may end after a disconnect).
        by_grant = self.orgs.served_by_grant(org_id)
        return OrgScope(org_id=org_id, admin=admin,
                        pending=PendingChanges(self.store, self.box, org_id),
                        audit=AuditLog(self.store, org_id, while_granted=by_grant),
                        subscriptions=Subscriptions(self.store, org_id),
                        snapshots=Snapshots(self.store, while_granted=by_grant),
                        notify_room_ids=self.settings.notify_room_ids if org_id == home else ())


def _home_org(orgs: OrgRegistry) -> str | None:
    try:
        return orgs.home_org_id()
    except (WebexCallError, AdminTokenExpired) as exc:  # the settings token's org unknown yet
        log.warning("the home org is not known yet (%s): NOTIFY_ROOM_IDS wait for it", exc)
        return None


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
        requester (a mention), so nobody else there takes it for an answer to them. Its card
        names the requester's org: a press by someone of another org changes nothing."""
        return self.where.post(self.messenger, self.addressed(reply).made_for(self.org_id))

    def addressed(self, reply: Reply) -> Reply:
        if self.where.room_type != RoomType.GROUP:
            return reply  # a 1:1 space: the answer can only be for the one person there
        person = self.requester
        return reply.addressed_to(mention(person.person_id, person.display_name), person.display_name)

    def tell_privately(self, reply: Reply) -> str:
        """A direct message to the requester, whatever space the request came from."""
        return self.messenger.post(reply.made_for(self.org_id), person_id=self.requester.person_id)

    @property
    def org_id(self) -> str:
        """The org the answers are about: the requester's (handlers serve no other)."""
        return self.requester.org_id


@dataclass(frozen=True)
class RulesRead:
    """A read of the rules started before the requester was known, for the org they likely are of."""

    org_id: str
    future: Future


@dataclass
class Context:
    services: Services
    conversation: Conversation
    # The requester's org (None: not connected; then only the refusal is answered).
    org_scope: OrgScope | None = None
    card_message_id: str | None = None  # the card that was submitted, for card actions
    press_id: str | None = None  # the attachment action (one press; a redelivery has the same)
    inputs: dict[str, Any] = field(default_factory=dict)
    # The rules read started alongside the requester lookup; only an authorized handler takes it.
    rules_read: RulesRead | None = None

    @property
    def requester(self) -> Requester:
        return self.conversation.requester

    @property
    def org(self) -> OrgScope:
        """The requester's org; a handler runs only for a requester of a connected org."""
        assert self.org_scope is not None, "handlers run only for connected orgs (authorize)"
        return self.org_scope

    def read_rules(self) -> dict[str, Any]:
        """The current rules of the requester's org: the read started with the requester lookup
        (once, and only if it was of their org), or a new read."""
        started, self.rules_read = self.rules_read, None
        if started is not None and started.org_id == self.org.org_id:
            return started.future.result()
        return self.org.admin.read_rules()

    def reply(self, reply: Reply) -> str:
        return self.conversation.reply(reply)


class UserError(Exception):
    """An expected failure: ``reply`` is what the admin reads; ``log`` is for the operator."""

    def __init__(self, reply: str, *, log: str | None = None, title: str = "That did not work"):
        super().__init__(log or reply)
        self.reply = reply
        self.title = title
