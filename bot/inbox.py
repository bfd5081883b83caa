"""The event inbox: every verified event is stored here before Webex gets its 2xx, then claimed.

A claim is a lease: the claimer owns the event until ``lease_until`` and keeps renewing it while it
works; an event whose claimer died (its lease ran out) is claimed again by anyone, in this process
after a restart or in another instance. Claims skip rows another transaction holds
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serializes writers), and the claiming UPDATE
re-checks that the row is still due, so one event is never processed by two workers at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from .events import WebexEvent, parse_envelope
from .models import InboxEvent
from .store import Store, StoreUnavailable


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Claimed:
    row_id: int
    event: WebexEvent
    attempts: int
    received_at: datetime


class Inbox:
    def __init__(self, store: Store):
        self._store = store

    def record(self, event: WebexEvent, envelope: bytes) -> int | None:
        """Store an accepted event and return its row id; None when it was stored before."""
        now = _now()
        row = InboxEvent(
            resource=event.resource, event=event.event, data_id=event.data_id,
            webhook_id=event.webhook_id, actor_id=event.actor_id, org_id=event.org_id,
            envelope=envelope.decode("utf-8"), status="pending", attempts=0,
            received_at=now, next_attempt_at=now)
        try:
            with self._store.session() as session, session.begin():
                session.add(row)
        except IntegrityError:
            return None
        except DBAPIError as exc:
            raise StoreUnavailable(exc.__class__.__name__) from exc
        return row.id

    def claim(self, owner: str, lease: timedelta, row_id: int | None = None) -> Claimed | None:
        """Take the oldest due event (or ``row_id`` if it is due) for ``lease``; None if none."""
        now = _now()
        due = or_(and_(InboxEvent.status == "pending", InboxEvent.next_attempt_at <= now),
                  and_(InboxEvent.status == "processing", InboxEvent.lease_until < now))
        pick = select(InboxEvent.id).where(due).order_by(InboxEvent.id).limit(1)
        if row_id is not None:
            pick = pick.where(InboxEvent.id == row_id)
        with self._store.session() as session, session.begin():
            chosen = session.scalar(pick.with_for_update(skip_locked=True))
            if chosen is None:
                return None
            taken = session.execute(
                update(InboxEvent).where(InboxEvent.id == chosen, due)
                .values(status="processing", claimed_by=owner, lease_until=now + lease,
                        attempts=InboxEvent.attempts + 1)
                .returning(InboxEvent.envelope, InboxEvent.attempts, InboxEvent.received_at)
            ).first()
        if taken is None:
            return None  # another worker won the race
        received = taken.received_at if taken.received_at.tzinfo else \
            taken.received_at.replace(tzinfo=timezone.utc)
        return Claimed(chosen, parse_envelope(taken.envelope.encode()), taken.attempts, received)

    def renew(self, row_id: int, owner: str, lease: timedelta) -> bool:
        return self._finish(row_id, owner, lease_until=_now() + lease)

    def done(self, row_id: int, owner: str) -> bool:
        return self._finish(row_id, owner, status="done", lease_until=None, last_error=None,
                            processed_at=_now())

    def retry_later(self, row_id: int, owner: str, error: str, delay: timedelta) -> bool:
        return self._finish(row_id, owner, status="pending", lease_until=None, last_error=error,
                            next_attempt_at=_now() + delay)

    def failed(self, row_id: int, owner: str, error: str) -> bool:
        return self._finish(row_id, owner, status="failed", lease_until=None, last_error=error,
                            processed_at=_now())

    def _finish(self, row_id: int, owner: str, **values) -> bool:
        """Update a row this owner still holds; False if the lease was lost meanwhile."""
        with self._store.session() as session, session.begin():
            result = session.execute(
                update(InboxEvent)
                .where(InboxEvent.id == row_id, InboxEvent.claimed_by == owner,
                       InboxEvent.status == "processing")
                .values(**values))
            return (result.rowcount or 0) == 1

    def counts(self) -> dict[str, int]:
        """Events by status, for health and operators."""
        with self._store.session() as session:
            rows = session.execute(select(InboxEvent.status, func.count())
                                   .group_by(InboxEvent.status))
            return {status: count for status, count in rows}
