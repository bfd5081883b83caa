"""The audit log of changes (applied through the bot, or found by the change watcher), and who
subscribed to hear of changes."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.domain.rules import FieldChange
from bot.domain.vocabulary import ChangeKind, RoomType
from bot.storage.admin_grants import while_granted
from bot.storage.models import AuditEntry, NotifySpace, Subscription
from bot.storage.store import Store, rows_matched


@dataclass(frozen=True)
class Actor:
    """Who made a change outside the bot, as the admin audit events name them."""

    person_id: str
    name: str
    email: str


@dataclass(frozen=True)
class Applied:
    change_id: str
    actor_name: str
    actor_email: str
    kind: ChangeKind
    changes: list[FieldChange]
    before: dict[str, Any]
    after: dict[str, Any]
    applied_at: datetime


class AuditLog:
    """One org's history: entries are written with ``org_id`` and only its entries are read.
    ``while_granted``: the org is connected by a stored pair, and a change the watcher found is
    recorded only while that pair is stored (else ``OrgForgotten``)."""

    def __init__(self, store: Store, org_id: str, *, while_granted: bool = False):
        self._store = store
        self._org_id = org_id
        self._while_granted = while_granted

    def record(self, *, change_id: str, actor_id: str, actor_name: str, actor_email: str,
               room_id: str, room_type: RoomType, kind: ChangeKind, changes: list[FieldChange],
               before: dict[str, Any], after: dict[str, Any]) -> None:
        """Record an applied change once: recording it again (a retry whose first try was
        written after all) changes nothing."""
        entry = AuditEntry(
            change_id=change_id, org_id=self._org_id, actor_id=actor_id, actor_name=actor_name,
            actor_email=actor_email,
            room_id=room_id, room_type=room_type, kind=kind,
            changes=json.dumps([c.__dict__ for c in changes]), before=json.dumps(before),
            after=json.dumps(after), applied_at=datetime.now(UTC))
        try:
            with self._store.session() as session, session.begin():
                session.add(entry)
        except IntegrityError:
            if not self.has(change_id):
                raise

    def record_outside(self, *, actor: Actor | None, changes: list[FieldChange],
                       before: dict[str, Any], after: dict[str, Any]) -> str:
        """Record a change the watcher found (Control Hub, the API), with its admin when the
        audit events named one; return its id. It has no space: it was not made in one."""
        change_id = f"outside-{uuid.uuid4().hex}"
        entry = AuditEntry(
            change_id=change_id, org_id=self._org_id, actor_id=actor.person_id if actor else "",
            actor_name=(actor.name if actor else "")[:255],
            actor_email=(actor.email if actor else "")[:255], room_id="", room_type="",
            kind=ChangeKind.OUTSIDE, changes=json.dumps([c.__dict__ for c in changes]),
            before=json.dumps(before), after=json.dumps(after), applied_at=datetime.now(UTC))
        with self._store.session() as session, session.begin(), \
                while_granted(session, self._org_id, enabled=self._while_granted):
            session.add(entry)
        return change_id

    def has(self, change_id: str) -> bool:
        with self._store.session() as session:
            return session.scalar(select(AuditEntry.id).where(
                AuditEntry.change_id == change_id, AuditEntry.org_id == self._org_id)
                .limit(1)) is not None

    def recent(self, count: int, *, through_bot: bool = False) -> list[Applied]:
        """The latest ``count`` changes, newest first: all of them (the history), or only those
        made through the bot (``through_bot``: what ``undo`` and the watcher look for)."""
        query = select(AuditEntry).where(AuditEntry.org_id == self._org_id)
        if through_bot:
            query = query.where(AuditEntry.kind != ChangeKind.OUTSIDE)
        with self._store.session() as session:
            rows = session.scalars(query.order_by(AuditEntry.applied_at.desc(),
                                                  AuditEntry.id.desc()).limit(count))
            return [self._view(row) for row in rows]

    def last_through_bot(self) -> Applied | None:
        return next(iter(self.recent(1, through_bot=True)), None)

    @staticmethod
    def _view(row: AuditEntry) -> Applied:
        return Applied(row.change_id, row.actor_name, row.actor_email, ChangeKind(row.kind),
                       [FieldChange(**c) for c in json.loads(row.changes)],
                       json.loads(row.before), json.loads(row.after), row.applied_at)


class Subscriptions:
    """One org's subscribers and notification spaces (``org_id``), and only theirs."""

    def __init__(self, store: Store, org_id: str):
        self._store = store
        self._org_id = org_id

    def add(self, person_id: str, display_name: str) -> bool:
        """Subscribe; False when already subscribed."""
        try:
            with self._store.session() as session, session.begin():
                session.add(Subscription(org_id=self._org_id, person_id=person_id, display_name=display_name,
                                         created_at=datetime.now(UTC)))
        except IntegrityError:
            return False
        return True

    def remove(self, person_id: str) -> bool:
        with self._store.session() as session, session.begin():
            return rows_matched(session, delete(Subscription).where(
                Subscription.org_id == self._org_id, Subscription.person_id == person_id)) > 0

    def people(self) -> list[str]:
        with self._store.session() as session:
            return list(session.scalars(select(Subscription.person_id)
                                        .where(Subscription.org_id == self._org_id)))

    # --- notification spaces (``notify here``), kept with the subscribers: both are told of
    # every change ----------------------------------------------------------------------------

    def add_space(self, room_id: str, title: str, by_id: str, by_name: str) -> bool:
        """Make ``room_id`` a notification space; False when it already was."""
        try:
            with self._store.session() as session, session.begin():
                session.add(NotifySpace(org_id=self._org_id, room_id=room_id, title=title[:255],
                                        added_by_id=by_id, added_by_name=by_name[:255],
                                        added_at=datetime.now(UTC)))
        except IntegrityError:
            return False
        return True

    def remove_space(self, room_id: str) -> bool:
        with self._store.session() as session, session.begin():
            return rows_matched(session, delete(NotifySpace).where(
                NotifySpace.org_id == self._org_id, NotifySpace.room_id == room_id)) > 0

    def spaces(self) -> list[str]:
        with self._store.session() as session:
            return list(session.scalars(select(NotifySpace.room_id)
                                        .where(NotifySpace.org_id == self._org_id)
                                        .order_by(NotifySpace.added_at)))


def every_notify_space(store: Store) -> list[NotifySpace]:
    """Every org's notification spaces, for the operator (``flask --app app notify list``)."""
    with store.session() as session:
        return list(session.scalars(select(NotifySpace).order_by(NotifySpace.org_id,
                                                                 NotifySpace.added_at)))

