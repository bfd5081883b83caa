"""Database tables. Change them only together with a migration in ``bot/migrations/versions``."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, DateTime, Dialect, Integer, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that always hands back an aware datetime in UTC.

    Every moment is stored in UTC, but SQLite keeps no time zone and hands back naive datetimes;
    PostgreSQL hands back the session's zone. Comparing or formatting those must not depend on
    the database, so the fix lives here once. The column type in the database is unchanged
    (no migration).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return _utc(value) if value is not None else None

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return _utc(value) if value is not None else None


def _utc(moment: datetime) -> datetime:
    # A naive moment here was stored (or is meant) in UTC.
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class InboxStatus(StrEnum):
    """Where a stored webhook event stands (``inbox_events.status``)."""

    PENDING = "pending"  # due now or at ``next_attempt_at`` (a retry)
    PROCESSING = "processing"  # claimed, under a lease
    DONE = "done"
    FAILED = "failed"  # after bounded retries


class Base(DeclarativeBase):
    pass


class InboxEvent(Base):
    """A webhook delivery, stored before it is acknowledged; one row per distinct event."""

    __tablename__ = "inbox_events"
    __table_args__ = (UniqueConstraint("resource", "event", "data_id", name="uq_inbox_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    data_id: Mapped[str] = mapped_column(String(255))
    webhook_id: Mapped[str | None] = mapped_column(String(255))
    actor_id: Mapped[str | None] = mapped_column(String(255))
    org_id: Mapped[str | None] = mapped_column(String(255))
    envelope: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=InboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Lease(Base):
    """Who runs a singleton job (the webhook check, the watcher) until when, across instances."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    until: Mapped[datetime] = mapped_column(UtcDateTime())


class StatusReport(Base):
    """The latest result of a periodic check (webhooks), shared by every process for /healthz."""

    __tablename__ = "status_reports"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[str] = mapped_column(Text)  # JSON
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PendingChange(Base):
    """A change waiting for its requester's confirmation. A PIN in it is encrypted (Fernet)."""

    __tablename__ = "pending_changes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # unguessable, from secrets
    org_id: Mapped[str] = mapped_column(String(255), index=True)  # whose rules it changes
    requester_id: Mapped[str] = mapped_column(String(255))
    requester_name: Mapped[str] = mapped_column(String(255))
    room_id: Mapped[str] = mapped_column(String(255))
    room_type: Mapped[str] = mapped_column(String(16))  # a RoomType
    thread_id: Mapped[str | None] = mapped_column(String(255))
    card_message_id: Mapped[str | None] = mapped_column(String(255))
    before: Mapped[str] = mapped_column(Text)  # the rules as read, JSON
    patch: Mapped[str] = mapped_column(Text)  # the PUT body without any PIN, JSON
    pin_ciphertext: Mapped[str | None] = mapped_column(Text)
    pin_generated: Mapped[bool] = mapped_column(Boolean, default=False)  # then sent privately
    kind: Mapped[str] = mapped_column(String(16), default="change")  # a ChangeKind
    status: Mapped[str] = mapped_column(String(16), index=True)  # a ChangeStatus
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # When it was last taken for applying (claimed by a Confirm, or to settle an unknown one).
    applying_since: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AuditEntry(Base):
    """A change applied through the bot, or one the change watcher found made outside it (kind
    ``outside``: no space, the actor only when the admin audit events named one): who, when, from
    where, what (never a PIN)."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    change_id: Mapped[str] = mapped_column(String(64), unique=True)
    org_id: Mapped[str] = mapped_column(String(255), index=True)  # whose rules changed
    actor_id: Mapped[str] = mapped_column(String(255))
    actor_name: Mapped[str] = mapped_column(String(255))
    actor_email: Mapped[str] = mapped_column(String(255))
    room_id: Mapped[str] = mapped_column(String(255))
    room_type: Mapped[str] = mapped_column(String(16))  # a RoomType
    kind: Mapped[str] = mapped_column(String(16))
    changes: Mapped[str] = mapped_column(Text)  # [{label, before, after}], JSON
    before: Mapped[str] = mapped_column(Text)  # rules before, JSON (for undo)
    after: Mapped[str] = mapped_column(Text)  # rules read back after, JSON
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class Subscription(Base):
    """An admin who asked for a direct message on every change of their org's rules."""

    __tablename__ = "subscriptions"

    org_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RulesSnapshot(Base):
    """The last rules the bot knows for an org, to tell changes made elsewhere."""

    __tablename__ = "rules_snapshots"

    org_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    rules: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StoredSecret(Base):
    """A secret the bot obtained at run time (a refreshed admin token), encrypted, shared by all workers."""

    __tablename__ = "stored_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AdminGrant(Base):
    """The admin token pair the bot got itself (``admin authorize`` or ``admin service-app``),
    shared by every worker and instance: both tokens encrypted, with what is known of them.

    ``version`` grows with every change, so that a refresh is stored only by the process that
    read the pair it replaces (compare-and-set: a rotated refresh token is never lost).
    """

    __tablename__ = "admin_grants"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)  # the org's id: one per org
    kind: Mapped[str] = mapped_column(String(16))  # "integration" or "service-app"
    client_id: Mapped[str] = mapped_column(String(255))
    access_ciphertext: Mapped[str] = mapped_column(Text)
    refresh_ciphertext: Mapped[str] = mapped_column(Text)
    access_expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    access_lifetime_seconds: Mapped[int] = mapped_column(Integer)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    owner_id: Mapped[str] = mapped_column(String(255))
    owner_name: Mapped[str] = mapped_column(String(255))
    org_id: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[str] = mapped_column(Text)  # space-separated, as asked or as granted
    version: Mapped[int] = mapped_column(Integer, default=1)
    authorized_at: Mapped[datetime] = mapped_column(UtcDateTime())
    refreshed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    problem: Mapped[str | None] = mapped_column(Text)  # what an operator must do, or None
    announced_problem: Mapped[str | None] = mapped_column(Text)  # the last one told to the spaces
    org_name: Mapped[str | None] = mapped_column(String(255))  # as Webex named it, when it said


class OAuthState(Base):
    """One authorization under way (``admin authorize``): its state (hashed) and PKCE verifier
    (encrypted), until it is used once or expires. In the database, so that any worker or
    instance can take the callback of a URL printed by the CLI."""

    __tablename__ = "oauth_states"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    verifier_ciphertext: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Started by `connect` in the chat: the org and the person it is for (None: by the operator).
    org_id: Mapped[str | None] = mapped_column(String(255))
    requester_id: Mapped[str | None] = mapped_column(String(255))


class NotifySpace(Base):
    """A space a Full Administrator made a notification space (``notify here``), besides
    ``NOTIFY_ROOM_IDS``: told of every change of that org's rules (a space with people of several
    orgs may be one for each of them)."""

    __tablename__ = "notify_spaces"

    org_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    added_by_id: Mapped[str] = mapped_column(String(255))
    added_by_name: Mapped[str] = mapped_column(String(255))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DisconnectRequest(Base):
    """A Full Administrator's ``disconnect``, waiting for their Confirm: single use (one
    conditional UPDATE takes it), and only until ``expires_at``."""

    __tablename__ = "disconnect_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # unguessable, from secrets
    org_id: Mapped[str] = mapped_column(String(255), index=True)
    requester_id: Mapped[str] = mapped_column(String(255))
    requester_name: Mapped[str] = mapped_column(String(255))
    card_message_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # pending, confirmed, cancelled
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class HomeOrg(Base):
    """The deployment's home org when no setting names it (no ``WEBEX_ORG_ID``, no
    ``WEBEX_ADMIN_TOKEN``): the org of the stored authorization the bot found alone the first
    time it needed to know (``org_id`` empty: it found several, so there is none). Kept for good,
    a disconnect included: ``NOTIFY_ROOM_IDS`` are the home org's, and another org left alone
    after a disconnect must never become it. One row."""

    __tablename__ = "home_org"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)  # always "home"
    org_id: Mapped[str] = mapped_column(String(255))
    learned_at: Mapped[datetime] = mapped_column(UtcDateTime())
