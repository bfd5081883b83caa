"""Database tables. Change them only together with a migration in ``bot/migrations/versions``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


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
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
