"""The last voicemail rules the bot knows for the managed org, to tell changes made elsewhere.

The change flow saves what it applied; the change watcher replaces a snapshot only if it is still
the one it read (compare-and-set), so that neither a bot change saved meanwhile nor another
watcher round is overwritten with older news.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from bot.storage.admin_grants import while_granted
from bot.storage.models import RulesSnapshot
from bot.storage.store import Store, rows_matched


@dataclass(frozen=True)
class Snapshot:
    rules: dict[str, Any]
    seen_at: datetime
    # The row's two columns exactly as stored: what ``replace`` compares against.
    stored: tuple[str, datetime]


class Snapshots:
    """``while_granted``: the org is connected by a stored pair, and the watcher's saves
    (``save_first``, ``replace``) keep its rules only while that pair is stored: a look begun
    before a disconnect raises ``OrgForgotten`` instead of keeping them again."""

    def __init__(self, store: Store, *, while_granted: bool = False):
        self._store = store
        self._while_granted = while_granted

    def read(self, org_id: str) -> Snapshot | None:
        with self._store.session() as session:
            row = session.get(RulesSnapshot, org_id)
            if row is None:
                return None
            return Snapshot(json.loads(row.rules), row.seen_at, (row.rules, row.seen_at))

    def get(self, org_id: str) -> tuple[dict[str, Any], datetime] | None:
        snapshot = self.read(org_id)
        return None if snapshot is None else (snapshot.rules, snapshot.seen_at)

    def save(self, org_id: str, rules: dict[str, Any]) -> None:
        with self._store.session() as session, session.begin():
            session.merge(RulesSnapshot(org_id=org_id, **_columns(rules)))

    def save_first(self, org_id: str, rules: dict[str, Any]) -> bool:
        """Remember ``rules`` if nothing is known yet; False if a snapshot exists by now."""
        try:
            with self._store.session() as session, session.begin(), \
                    while_granted(session, org_id, enabled=self._while_granted):
                session.add(RulesSnapshot(org_id=org_id, **_columns(rules)))
                session.flush()
        except IntegrityError:
            return False
        return True

    def replace(self, org_id: str, expected: Snapshot, rules: dict[str, Any]) -> bool:
        """Save ``rules`` only if the stored snapshot is still ``expected``, in one statement;
        False if anyone saved another since it was read."""
        text, seen_at = expected.stored
        with self._store.session() as session, session.begin(), \
                while_granted(session, org_id, enabled=self._while_granted):
            return rows_matched(session, update(RulesSnapshot)
                                .where(RulesSnapshot.org_id == org_id, RulesSnapshot.rules == text,
                                       RulesSnapshot.seen_at == seen_at)
                                .values(**_columns(rules))) == 1


def _columns(rules: dict[str, Any]) -> dict[str, Any]:
    return {"rules": json.dumps(rules, sort_keys=True), "seen_at": datetime.now(UTC)}
