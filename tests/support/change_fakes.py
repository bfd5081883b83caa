"""In-memory fakes of what the change flow uses (``ChangeFlowDeps``): same methods, no HTTP, no
database. Each records what it was asked so a test can say what happened."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.chat.context import Conversation, Where
from bot.chat.deps import ChangeFlowDeps
from bot.domain.authorization import FULL_ADMIN, Requester
from bot.domain.vocabulary import ChangeKind, ChangeStatus, RoomType
from bot.storage.pending import LIFETIME, Pending
from bot.webex.messenger import Reply

SEED_RULES = json.loads((Path(__file__).resolve().parents[2] / "emulator" / "seed.json")
                        .read_text())["voicemailRules"]
ORG = "org-1"
ALICE = Requester("alice", "Alice Fuller", "alice@example.com", ORG, "person",
                  frozenset({FULL_ADMIN}))


class InlineExecutor(Executor):
    """Runs each call at once, in the caller's thread: the futures the flow waits on are done."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - handed to whoever takes the result
            future.set_exception(exc)
        return future


class FakePending:
    """``PendingChanges`` in a dict: claims are compare-and-set on the status, like the UPDATEs."""

    def __init__(self) -> None:
        self.rows: dict[str, Pending] = {}
        self.pins: dict[str, str] = {}
        self.unreadable_pins: set[str] = set()  # sealed with another key
        self._ids = (f"change-{n}" for n in itertools.count(1))

    def create(self, *, requester_id: str, requester_name: str, room_id: str, room_type: RoomType,
               thread_id: str | None, before: dict, patch: dict,
               kind: ChangeKind = ChangeKind.CHANGE, pin_generated: bool = False) -> Pending:
        change_id = next(self._ids)
        pin = patch.get("defaultVoicemailPin")
        if pin:
            self.pins[change_id] = pin
        self.rows[change_id] = Pending(
            id=change_id, requester_id=requester_id, requester_name=requester_name,
            room_id=room_id, room_type=room_type, thread_id=thread_id, card_message_id=None,
            before=copy.deepcopy(before),
            patch={k: v for k, v in patch.items() if k != "defaultVoicemailPin"},
            has_pin=bool(pin), pin_generated=pin_generated, kind=kind,
            status=ChangeStatus.PENDING, expires_at=datetime.now(UTC) + LIFETIME)
        return self.rows[change_id]

    def get(self, change_id: str) -> Pending | None:
        return self.rows.get(change_id)

    def set_card(self, change_id: str, message_id: str) -> None:
        self.rows[change_id] = replace(self.rows[change_id], card_message_id=message_id)

    def claim(self, change_id: str, from_status: ChangeStatus = ChangeStatus.PENDING) -> bool:
        row = self.rows.get(change_id)
        if row is None or row.is_expired(datetime.now(UTC)):
            return False
        return self._move(change_id, from_status, ChangeStatus.APPLYING)

    def claim_to_settle(self, change_id: str) -> bool:
        return self._move(change_id, ChangeStatus.UNKNOWN, ChangeStatus.APPLYING)

    def release(self, change_id: str, to_status: ChangeStatus = ChangeStatus.PENDING) -> None:
        self._move(change_id, ChangeStatus.APPLYING, to_status)

    def unknown(self) -> list[Pending]:
        return [row for row in self.rows.values() if row.status == ChangeStatus.UNKNOWN]

    def resolve(self, change_id: str, status: ChangeStatus, *,
                from_status: ChangeStatus = ChangeStatus.APPLYING) -> bool:
        if not self._move(change_id, from_status, status):
            return False
        self.pins.pop(change_id, None)
        return True

    def pin(self, change_id: str) -> str | None:
        return None if change_id in self.unreadable_pins else self.pins.get(change_id)

    def expire_old(self) -> int:
        now, expired = datetime.now(UTC), 0
        for row in list(self.rows.values()):
            if row.status == ChangeStatus.PENDING and row.is_expired(now):
                self.rows[row.id] = replace(row, status=ChangeStatus.EXPIRED)
                expired += 1
        return expired

    def status(self, change_id: str) -> ChangeStatus:
        return self.rows[change_id].status

    def age(self, change_id: str, by: timedelta) -> None:
        row = self.rows[change_id]
        self.rows[change_id] = replace(row, expires_at=row.expires_at - by)

    def _move(self, change_id: str, from_status: ChangeStatus, to_status: ChangeStatus) -> bool:
        row = self.rows.get(change_id)
        if row is None or row.status != from_status:
            return False
        self.rows[change_id] = replace(row, status=to_status)
        return True


@dataclass
class FakeAdmin:
    """``AdminAccess``: the org's rules in memory. ``reads``/``puts`` are queues of what Webex
    does next: an exception to raise, or None for the ordinary behaviour."""

    rules: dict = field(default_factory=lambda: copy.deepcopy(SEED_RULES))
    reads: list[Exception | None] = field(default_factory=list)
    puts: list[tuple[Exception, bool] | None] = field(default_factory=list)  # (error, landed)
    patches: list[dict] = field(default_factory=list)

    def read_rules(self) -> dict:
        failure = self.reads.pop(0) if self.reads else None
        if failure is not None:
            raise failure
        return copy.deepcopy(self.rules)

    def update_rules(self, patch: dict) -> None:
        self.patches.append(copy.deepcopy(patch))
        failure = self.puts.pop(0) if self.puts else None
        if failure is None or failure[1]:
            self.apply(patch)
        if failure is not None:
            raise failure[0]

    def apply(self, patch: dict) -> None:
        """Change the rules as Webex would (or as someone in Control Hub does)."""
        for key, value in patch.items():
            if key == "defaultVoicemailPinEnabled":
                self.rules["defaultVoicemailPinRules"]["defaultVoicemailPinEnabled"] = value
            elif isinstance(value, dict):
                self.rules[key] = dict(self.rules[key], **value)

    def managed_org_id(self) -> str:
        return ORG


@dataclass
class FakeDirectory:
    people: dict[str, Requester] = field(default_factory=lambda: {ALICE.person_id: ALICE})
    fresh_lookups: list[str] = field(default_factory=list)

    def requester(self, person_id: str, *, fresh: bool = False) -> Requester:
        if fresh:
            self.fresh_lookups.append(person_id)
        return self.people[person_id]


@dataclass
class FakeMessenger:
    posts: list[tuple[Reply, dict]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def post(self, reply: Reply, **target: Any) -> str:
        self.posts.append((reply, target))
        return f"message-{len(self.posts)}"

    def delete(self, message_id: str) -> None:
        self.deleted.append(message_id)

    def said(self) -> list[str]:
        """Every post as plain text: its markdown (a card's fallback) unescaped."""
        return [reply.markdown.replace("\\", "") for reply, _ in self.posts]

    def last(self) -> str:
        return self.said()[-1]


@dataclass
class FakeAudit:
    entries: list[dict] = field(default_factory=list)

    def record(self, **entry: Any) -> None:
        self.entries.append(entry)


@dataclass
class FakeSnapshots:
    known: dict[str, dict] = field(default_factory=dict)

    def get(self, org_id: str) -> tuple[dict, datetime] | None:
        rules = self.known.get(org_id)
        return None if rules is None else (copy.deepcopy(rules), datetime.now(UTC))

    def save(self, org_id: str, rules: dict) -> None:
        self.known[org_id] = copy.deepcopy(rules)


@dataclass
class FakeNotifier:
    told: list[list] = field(default_factory=list)

    def change_through_bot(self, conversation: Conversation, changes: list) -> list[str]:
        self.told.append(changes)
        return ["notify-room"]


@dataclass
class World:
    """The fakes, the deps made of them, and Alice asking in her 1:1 space."""

    pending: FakePending = field(default_factory=FakePending)
    admin: FakeAdmin = field(default_factory=FakeAdmin)
    directory: FakeDirectory = field(default_factory=FakeDirectory)
    messenger: FakeMessenger = field(default_factory=FakeMessenger)
    audit: FakeAudit = field(default_factory=FakeAudit)
    snapshots: FakeSnapshots = field(default_factory=FakeSnapshots)
    notifier: FakeNotifier = field(default_factory=FakeNotifier)

    @property
    def deps(self) -> ChangeFlowDeps:
        return ChangeFlowDeps(pending=self.pending, admin=self.admin,
                              directory=self.directory, audit=self.audit,
                              snapshots=self.snapshots, messenger=self.messenger,
                              notifier=self.notifier, parallel=InlineExecutor())

    def conversation(self, requester: Requester = ALICE) -> Conversation:
        return Conversation(self.messenger, requester,
                            Where("dm-alice", RoomType.DIRECT, "thread-1"))
