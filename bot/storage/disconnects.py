"""Disconnect requests: a Full Administrator's ``disconnect``, waiting for their Confirm.

Like a pending change: an unguessable id, ten minutes, and single use: confirming or cancelling
takes the request with one conditional UPDATE (``pending`` → ``confirmed``/``cancelled``), so a
second press, a duplicate delivery or another instance finds it taken.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bot.storage.models import DisconnectRequest
from bot.storage.store import Store, rows_matched

LIFETIME = timedelta(minutes=10)
PENDING, CONFIRMED, CANCELLED = "pending", "confirmed", "cancelled"


@dataclass(frozen=True)
class Disconnect:
    id: str
    requester_id: str
    requester_name: str
    card_message_id: str | None
    status: str
    expires_at: datetime


class DisconnectRequests:
    """One org's disconnect requests (a request id of another org is not found)."""

    def __init__(self, store: Store, org_id: str):
        self._store = store
        self._org_id = org_id

    def create(self, *, requester_id: str, requester_name: str) -> Disconnect:
        now = datetime.now(UTC)
        row = DisconnectRequest(id=secrets.token_urlsafe(24), org_id=self._org_id,
                                requester_id=requester_id, requester_name=requester_name,
                                card_message_id=None, status=PENDING, created_at=now,
                                expires_at=now + LIFETIME)
        with self._store.session() as session, session.begin():
            session.add(row)
        return self._view(row)

    def get(self, request_id: str) -> Disconnect | None:
        with self._store.session() as session:
            row = session.get(DisconnectRequest, request_id)
            return self._view(row) if row is not None and row.org_id == self._org_id else None

    def set_card(self, request_id: str, message_id: str) -> None:
        with self._store.session() as session, session.begin():
            session.execute(update(DisconnectRequest).where(DisconnectRequest.id == request_id)
                            .values(card_message_id=message_id))

    def take(self, request_id: str, to_status: str) -> bool:
        """Close an open, unexpired request as ``to_status``; False if it is not (any more)."""
        statement = update(DisconnectRequest).where(
            DisconnectRequest.id == request_id, DisconnectRequest.org_id == self._org_id,
            DisconnectRequest.status == PENDING,
            DisconnectRequest.expires_at > datetime.now(UTC)).values(status=to_status)
        with self._store.session() as session, session.begin():
            return rows_matched(session, statement) == 1

    @staticmethod
    def _view(row: DisconnectRequest) -> Disconnect:
        return Disconnect(id=row.id, requester_id=row.requester_id,
                          requester_name=row.requester_name, card_message_id=row.card_message_id,
                          status=row.status, expires_at=row.expires_at)
