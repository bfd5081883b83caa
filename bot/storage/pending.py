"""Pending changes: stored until their requester confirms or cancels, or ten minutes pass.

Claiming a change for applying is one conditional UPDATE (``pending`` → ``applying``), so a second
click, a duplicate delivery or another instance finds it already taken: a change applies at most once.

A change whose PUT went unanswered and whose rules could not be read back is ``unknown``: Webex may
have it. It stays open (never expired) until a Confirm or the change watcher reads the rules and
settles it, each by claiming it the same way (``unknown`` → ``applying``).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.domain.vocabulary import ChangeKind, ChangeStatus, RoomType
from bot.storage.leases import Leases
from bot.storage.models import PendingChange
from bot.storage.secret_box import SecretBox
from bot.storage.store import Store, rows_matched

LIFETIME = timedelta(minutes=10)
# Applying takes well under a minute (bounded retries and timeouts); a change still "applying"
# this long after its request expired was cut off by a process that died.
APPLYING_AT_MOST = timedelta(minutes=5)


@dataclass(frozen=True)
class Pending:
    id: str
    requester_id: str
    requester_name: str
    room_id: str
    room_type: RoomType
    thread_id: str | None
    card_message_id: str | None
    before: dict[str, Any]
    patch: dict[str, Any]  # without the PIN
    has_pin: bool
    pin_generated: bool
    kind: ChangeKind
    status: ChangeStatus
    expires_at: datetime

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at <= now


def _form_lease(form_message_id: str) -> str:
    return f"form-press:{form_message_id}"


def _now() -> datetime:
    return datetime.now(UTC)


class PendingChanges:
    """One org's pending changes: every read and write is of rows of ``org_id`` only (a change id
    of another org is not found)."""

    def __init__(self, store: Store, box: SecretBox, org_id: str):
        self._store = store
        self._box = box
        self._org_id = org_id

    def create(self, *, requester_id: str, requester_name: str, room_id: str, room_type: RoomType,
               thread_id: str | None, before: dict[str, Any], patch: dict[str, Any],
               kind: ChangeKind = ChangeKind.CHANGE, pin_generated: bool = False) -> Pending:
        public_patch = {k: v for k, v in patch.items() if k != "defaultVoicemailPin"}
        pin = patch.get("defaultVoicemailPin")
        row = PendingChange(
            id=secrets.token_urlsafe(24), org_id=self._org_id, requester_id=requester_id,
            requester_name=requester_name,
            room_id=room_id, room_type=room_type, thread_id=thread_id, card_message_id=None,
            before=json.dumps(before), patch=json.dumps(public_patch),
            pin_ciphertext=self._box.seal(pin) if pin else None, pin_generated=pin_generated,
            kind=kind, status=ChangeStatus.PENDING,
            created_at=_now(), expires_at=_now() + LIFETIME, resolved_at=None)
        with self._store.session() as session, session.begin():
            session.add(row)
        return self._view(row)

    def first_press(self, form_message_id: str, press_id: str) -> bool:
        """Whether ``press_id`` is the press a form answers: the first on it, or that same press
        delivered again. Two presses of one form (a double click, two devices) would otherwise
        make two requests; the second is told so instead. Held as long as a request lasts."""
        return Leases(self._store).acquire(_form_lease(form_message_id), press_id, LIFETIME)

    def forget_press(self, form_message_id: str, press_id: str) -> None:
        """The press failed before it was answered: the form may be pressed again at once."""
        Leases(self._store).release(_form_lease(form_message_id), press_id)

    def get(self, change_id: str) -> Pending | None:
        row = self._row(change_id)
        return self._view(row) if row else None

    def _row(self, change_id: str) -> PendingChange | None:
        with self._store.session() as session:
            row = session.get(PendingChange, change_id)
            return row if row is not None and row.org_id == self._org_id else None

    def set_card(self, change_id: str, message_id: str) -> None:
        self._update(change_id, None, card_message_id=message_id)

    def claim(self, change_id: str, from_status: ChangeStatus = ChangeStatus.PENDING) -> bool:
        """Take an unexpired change (``pending`` or ``unknown``) for applying; False if someone
        else has it or it's gone."""
        return self._update(change_id, from_status, status=ChangeStatus.APPLYING,
                            applying_since=_now(), extra_where_unexpired=True)

    def claim_to_settle(self, change_id: str) -> bool:
        """Take an ``unknown`` change, expired or not, to settle it (the change watcher)."""
        return self._update(change_id, ChangeStatus.UNKNOWN, status=ChangeStatus.APPLYING,
                            applying_since=_now())

    def release(self, change_id: str, to_status: ChangeStatus = ChangeStatus.PENDING) -> None:
        """Give a change back (Webex was unavailable): Confirm can be pressed again. ``unknown``
        when Webex may have applied it (its PUT went unanswered)."""
        self._update(change_id, ChangeStatus.APPLYING, status=to_status)

    def unknown(self) -> list[Pending]:
        """Changes whose PUT may or may not have landed, oldest first."""
        with self._store.session() as session:
            unknown = PendingChange.status == ChangeStatus.UNKNOWN
            rows = session.scalars(select(PendingChange).where(unknown, self._mine)
                                   .order_by(PendingChange.created_at))
            return [self._view(row) for row in rows]

    def resolve(self, change_id: str, status: ChangeStatus, *,
                from_status: ChangeStatus = ChangeStatus.APPLYING) -> bool:
        """Close a change for good (applied, failed, superseded, cancelled) and erase its PIN."""
        return self._update(change_id, from_status, status=status, pin_ciphertext=None,
                            resolved_at=_now())

    def pin(self, change_id: str) -> str | None:
        row = self._row(change_id)
        return self._box.open(row.pin_ciphertext) if row and row.pin_ciphertext else None

    def applying_now(self) -> bool:
        """Is a change being applied right now (its PUT may have landed, its record not yet)?

        Past its 10 minutes too: a change whose PUT went unanswered is settled (claimed, read,
        recorded) whenever a Confirm or the watcher gets to it. One cut off by a process that
        died counts until ``expire_pending`` closes it as interrupted."""
        with self._store.session() as session:
            return being_applied(session, self._org_id)

    def expire_old(self) -> int:
        """This org's changes past their time expired (see ``expire_pending``)."""
        return expire_pending(self._store, org_id=self._org_id)

    @property
    def _mine(self) -> Any:
        return PendingChange.org_id == self._org_id

    def _update(self, change_id: str, from_status: str | None, *,
                extra_where_unexpired: bool = False, **values: Any) -> bool:
        statement = update(PendingChange).where(PendingChange.id == change_id, self._mine)
        if from_status is not None:
            statement = statement.where(PendingChange.status == from_status)
        if extra_where_unexpired:
            statement = statement.where(PendingChange.expires_at > _now())
        with self._store.session() as session, session.begin():
            return rows_matched(session, statement.values(**values)) == 1

    @staticmethod
    def _view(row: PendingChange) -> Pending:
        return Pending(
            id=row.id, requester_id=row.requester_id, requester_name=row.requester_name,
            room_id=row.room_id, room_type=RoomType(row.room_type), thread_id=row.thread_id,
            card_message_id=row.card_message_id, before=json.loads(row.before),
            patch=json.loads(row.patch), has_pin=row.pin_ciphertext is not None,
            pin_generated=bool(row.pin_generated), kind=ChangeKind(row.kind),
            status=ChangeStatus(row.status), expires_at=row.expires_at)


def being_applied(session: Session, org_id: str, *, lock: bool = False) -> bool:
    """Is a change of ``org_id`` being applied (see ``PendingChanges.applying_now``)? ``lock``:
    the org's requests are held until the session's transaction ends (PostgreSQL; on SQLite a
    transaction that has written holds the whole database), so none is claimed meanwhile."""
    of_org = PendingChange.org_id == org_id
    if lock:
        session.execute(select(PendingChange.id).where(of_org).with_for_update())
    return session.scalar(select(PendingChange.id).where(
        of_org, PendingChange.status == ChangeStatus.APPLYING).limit(1)) is not None


def expire_pending(store: Store, *, org_id: str | None = None) -> int:
    """Mark changes past their time as expired, and changes whose applying was cut off (the
    process died mid-way) as interrupted; erase their PINs. Of every org (the periodic job, which
    tells nobody anything), or of ``org_id``."""
    now = _now()
    of_org = (PendingChange.org_id == org_id,) if org_id is not None else ()
    with store.session() as session, session.begin():
        expired = rows_matched(session, update(PendingChange)
                               .where(*of_org, PendingChange.status == ChangeStatus.PENDING,
                                      PendingChange.expires_at <= now)
                               .values(status=ChangeStatus.EXPIRED, pin_ciphertext=None,
                                       resolved_at=now))
        # Cut off: taken more than APPLYING_AT_MOST ago and past its time by as much. A change
        # of unknown outcome settled long after its expiry is taken now: not cut off.
        cut_off = now - APPLYING_AT_MOST
        interrupted = rows_matched(session, update(PendingChange)
                                   .where(*of_org, PendingChange.status == ChangeStatus.APPLYING,
                                          PendingChange.expires_at <= cut_off,
                                          or_(PendingChange.applying_since.is_(None),
                                              PendingChange.applying_since <= cut_off))
                                   .values(status=ChangeStatus.INTERRUPTED, pin_ciphertext=None,
                                           resolved_at=now))
        return expired + interrupted
