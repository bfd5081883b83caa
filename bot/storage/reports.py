"""Results of periodic checks (webhooks, watcher), kept in the database so that every process's
``/healthz`` can show them, whichever process ran the check."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.storage.models import StatusReport
from bot.storage.store import Store


def save_report(store: Store, name: str, body: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    text = json.dumps({"checked_at": now.isoformat(), **body})
    with store.session() as session, session.begin():
        session.merge(StatusReport(name=name, body=text, updated_at=now))


def read_report(store: Store, name: str) -> dict[str, Any] | None:
    with store.session() as session:
        row = session.get(StatusReport, name)
        return json.loads(row.body) if row else None
