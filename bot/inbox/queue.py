"""The event inbox: every verified event is stored here before Webex gets its 2xx, then claimed.

A claim is a lease: the claimer owns the event until ``lease_until`` and keeps renewing it while it
works; an event whose claimer died (its lease ran out) is claimed again by anyone, in this process
after a restart or in another instance. Claims skip rows another transaction holds
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serializes writers), and the claiming UPDATE
re-checks that the row is still due, so one event is never processed by two workers at once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.sql.elements import BindParameter

from bot.domain.events import InvalidEnvelope, WebexEvent, parse_envelope
from bot.storage.models import InboxEvent, InboxStatus
from bot.storage.store import Store, StoreUnavailable

# The statements every event goes through, built once (plain SQL on the table, values bound at
# each call): building them per call cost more CPU than the database work itself.
_EVENTS = InboxEvent.metadata.tables[InboxEvent.__tablename__]  # a Table (``__table__`` is typed wider)
_C = _EVENTS.c
_NOW: BindParameter[datetime] = bindparam("now")
_DUE = or_(and_(_C.status == InboxStatus.PENDING, _C.next_attempt_at <= _NOW),
           and_(_C.status == InboxStatus.PROCESSING, _C.lease_until < _NOW))
# One statement stores a whole batch (one row per event); a duplicate inserts nothing, and the
# rows that were inserted come back with their keys.
_KEY = (_C.resource, _C.event, _C.data_id)
_RECORD = {dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(_EVENTS)
           .on_conflict_do_nothing(index_elements=list(_KEY)).returning(_C.id, *_KEY)
           for dialect in (postgresql, sqlite)}
_OLDEST_DUE = select(_C.id).where(_DUE).order_by(_C.id).limit(1).with_for_update(skip_locked=True)
_THIS_IF_DUE = _OLDEST_DUE.where(_C.id == bindparam("row_id"))
_TAKE = (update(_EVENTS).where(_C.id == bindparam("chosen"), _DUE)
         .values(status=InboxStatus.PROCESSING, claimed_by=bindparam("owner"),
                 lease_until=bindparam("until"),
                 attempts=_C.attempts + 1)
         .returning(_C.envelope, _C.attempts, _C.received_at))


log = logging.getLogger(__name__)


def _key(arrival: _Arrival) -> tuple[str, str, str]:
    return arrival.row["resource"], arrival.row["event"], arrival.row["data_id"]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Claimed:
    row_id: int
    event: WebexEvent
    attempts: int
    received_at: datetime


@dataclass
class _Arrival:
    """An event waiting to be recorded: its row, then its id (None: a duplicate) or the error."""

    row: dict
    row_id: int | None = None
    error: Exception | None = None
    settled: bool = False


class Inbox:
    def __init__(self, store: Store):
        self._store = store
        self._record = _RECORD[store.engine.dialect.name]
        self._arrivals: list[_Arrival] = []
        self._arrivals_lock = threading.Lock()
        self._committer = threading.Lock()

    def record(self, event: WebexEvent, envelope: bytes) -> int | None:
        """Store an accepted event and return its row id; None when it was stored before.

        Returns only once the row is committed. Events arriving together are committed together
        (group commit): whoever takes the commit turn writes every row waiting by then in one
        transaction, one flush to disk, and the others find their rows settled.
        """
        now = _now()
        arrival = _Arrival(dict(
            resource=event.resource, event=event.event, data_id=event.data_id,
            webhook_id=event.webhook_id, actor_id=event.actor_id, org_id=event.org_id,
            envelope=envelope.decode("utf-8"), status=InboxStatus.PENDING, attempts=0,
            received_at=now, next_attempt_at=now))
        with self._arrivals_lock:
            self._arrivals.append(arrival)
        with self._committer:
            if not arrival.settled:
                with self._arrivals_lock:
                    batch, self._arrivals = self._arrivals, []
                self._commit(batch)
        if arrival.error is not None:
            raise arrival.error
        return arrival.row_id

    def _commit(self, batch: list[_Arrival]) -> None:
        # In the unique key's order: two instances' batches then never wait on each other in a
        # cycle (PostgreSQL would abort one as a deadlock).
        batch.sort(key=_key)
        firsts: dict[tuple[str, str, str], _Arrival] = {}
        for arrival in batch:  # a repeat within the batch is a duplicate of its first
            firsts.setdefault(_key(arrival), arrival)
        try:
            with self._store.writing() as connection:
                # Many rows, one statement ("insertmanyvalues"), whose returned keys say which
                # rows were new.
                stored = connection.execute(self._record, [a.row for a in firsts.values()]).all()
            ids = {(row.resource, row.event, row.data_id): row.id for row in stored}
            for key, arrival in firsts.items():  # not returned: stored before, a duplicate
                arrival.row_id = ids.get(key)
        except Exception as exc:  # nothing of the batch is stored: every request hears it
            unavailable = isinstance(exc, (DBAPIError, PoolTimeout))  # down, or every connection busy
            error = StoreUnavailable(exc.__class__.__name__) if unavailable else exc
            for arrival in batch:
                arrival.row_id, arrival.error = None, error
        finally:
            for arrival in batch:
                arrival.settled = True

    def claim(self, owner: str, lease: timedelta, row_id: int | None = None) -> Claimed | None:
        """Take the oldest due event (or ``row_id`` if it is due) for ``lease``; None if none."""
        now = _now()
        pick = _OLDEST_DUE if row_id is None else _THIS_IF_DUE
        with self._store.writing() as connection:
            chosen = connection.scalar(pick, {"now": now, "row_id": row_id})
            if chosen is None:
                return None
            taken = connection.execute(_TAKE, {"chosen": chosen, "now": now, "owner": owner,
                                               "until": now + lease}).first()
        if taken is None:
            return None  # another worker won the race
        try:
            event = parse_envelope(taken.envelope.encode())
        except InvalidEnvelope as exc:
            # Stored before the intake refused such bodies (an older version): it can never be
            # processed, so it fails at once rather than coming back at every lease.
            log.error("inbox row %d cannot be read (%s): marked failed", chosen, exc)
            self.failed(chosen, owner, f"InvalidEnvelope: {exc}")
            return None
        return Claimed(chosen, event, taken.attempts, taken.received_at)

    def renew(self, row_id: int, owner: str, lease: timedelta) -> bool:
        return self._finish(row_id, owner, lease_until=_now() + lease)

    def done(self, row_id: int, owner: str) -> bool:
        return self._finish(row_id, owner, status=InboxStatus.DONE, lease_until=None,
                            last_error=None, processed_at=_now())

    def retry_later(self, row_id: int, owner: str, error: str, delay: timedelta) -> bool:
        return self._finish(row_id, owner, status=InboxStatus.PENDING, lease_until=None,
                            last_error=error, next_attempt_at=_now() + delay)

    def failed(self, row_id: int, owner: str, error: str) -> bool:
        return self._finish(row_id, owner, status=InboxStatus.FAILED, lease_until=None,
                            last_error=error, processed_at=_now())

    def _finish(self, row_id: int, owner: str, **values) -> bool:
        """Update a row this owner still holds; False if the lease was lost meanwhile."""
        with self._store.writing() as connection:
            result = connection.execute(
                update(_EVENTS)
                .where(_C.id == row_id, _C.claimed_by == owner, _C.status == InboxStatus.PROCESSING)
                .values(**values))
            return (result.rowcount or 0) == 1

    def forget_done(self, older_than: timedelta) -> int:
        """Delete events processed longer ago than ``older_than``, so the inbox does not grow
        for ever. Webex redelivers for minutes, not days, so their keys are no longer needed to
        drop duplicates; failed events stay for operators to look at."""
        with self._store.writing() as connection:
            result = connection.execute(delete(_EVENTS).where(
                _C.status == InboxStatus.DONE, _C.processed_at < _now() - older_than))
            return result.rowcount or 0

    def counts(self) -> dict[str, int]:
        """Events by status, for health and operators."""
        with self._store.session() as session:
            rows = session.execute(select(InboxEvent.status, func.count())
                                   .group_by(InboxEvent.status))
            return {status: count for status, count in rows}
