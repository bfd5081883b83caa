"""The last voicemail rules the bot knows for the managed org, to tell changes made elsewhere."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from .models import RulesSnapshot
from .store import Store


class Snapshots:
    def __init__(self, store: Store):
        self._store = store

    def get(self, org_id: str) -> tuple[dict[str, Any], datetime] | None:
        with self._store.session() as session:
            row = session.get(RulesSnapshot, org_id)
            if row is None:
                return None
            seen = row.seen_at if row.seen_at.tzinfo else row.seen_at.replace(tzinfo=timezone.utc)
            return json.loads(row.rules), seen

    def save(self, org_id: str, rules: dict[str, Any]) -> None:
        with self._store.session() as session, session.begin():
            session.merge(RulesSnapshot(org_id=org_id, rules=json.dumps(rules, sort_keys=True),
                                        seen_at=datetime.now(timezone.utc)))
