"""Named leases in the database: one holder at a time across workers and instances.

Used for jobs that must run in exactly one place (the webhook check, the change watcher). A holder
renews its lease each round; if it dies, the lease runs out and another process takes over.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update
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

    def release(self, name: str, holder: str) -> None:
        """Hand ``name`` back at once if ``holder`` holds it."""
        with self._store.session() as session, session.begin():
            session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder)
                            .values(until=datetime.now(UTC) - timedelta(seconds=1)))
