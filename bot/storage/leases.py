"""Named leases in the database: one holder at a time across workers and instances.

Used for jobs that must run in exactly one place (the webhook check, the change watcher). A holder
renews its lease each round; if it dies, the lease runs out and another process takes over.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.storage.models import Lease
from bot.storage.store import Store, rows_matched


class Leases:
    def __init__(self, store: Store):
        self._store = store

    def acquire(self, name: str, holder: str, ttl: timedelta) -> bool:
        """Take or renew ``name`` for ``ttl``; False while someone else holds it."""
        now = datetime.now(UTC)
        with self._store.session() as session, session.begin():
            taken = rows_matched(session, update(Lease)
                                 .where(Lease.name == name,
                                        or_(Lease.holder == holder, Lease.until < now))
                                 .values(holder=holder, until=now + ttl))
        if taken:
            return True
        try:
            with self._store.session() as session, session.begin():
                session.add(Lease(name=name, holder=holder, until=now + ttl))
        except IntegrityError:
            return False  # it exists and someone else holds it
        return True

    def acquire_each(self, names: list[str], holder: str, ttl: timedelta) -> set[str]:
        """``acquire`` for each of ``names`` in one transaction (one disk flush, not one each):
        the names taken. If another holder inserts one of them meanwhile, each is tried alone."""
        now = datetime.now(UTC)
        try:
            with self._store.session() as session, session.begin():
                taken = {name for name in names if rows_matched(session, update(Lease).where(
                    Lease.name == name, or_(Lease.holder == holder, Lease.until < now))
                    .values(holder=holder, until=now + ttl))}
                rest = [name for name in names if name not in taken]
                existing = set(session.scalars(select(Lease.name).where(Lease.name.in_(rest))))
                new = [name for name in rest if name not in existing]
                session.add_all(Lease(name=name, holder=holder, until=now + ttl) for name in new)
            return taken | set(new)
        except IntegrityError:
            return {name for name in names if self.acquire(name, holder, ttl)}

    def release(self, name: str, holder: str) -> None:
        """Hand ``name`` back at once if ``holder`` holds it."""
        with self._store.session() as session, session.begin():
            session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder)
                            .values(until=datetime.now(UTC) - timedelta(seconds=1)))
