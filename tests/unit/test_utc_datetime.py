"""One column type for moments: whatever the database hands back, an aware datetime in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import create_engine, select

from bot.storage.models import Base, RulesSnapshot

ONE_PM_UTC = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)


def stored_and_read(moment: datetime) -> datetime:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(RulesSnapshot.__table__.insert(), {"org_id": "o", "rules": "{}",
                                                              "seen_at": moment})
        return connection.scalar(select(RulesSnapshot.seen_at))


def test_sqlite_gives_back_an_aware_utc_moment():
    assert stored_and_read(ONE_PM_UTC) == ONE_PM_UTC
    assert stored_and_read(ONE_PM_UTC).tzinfo is UTC


def test_a_naive_moment_is_taken_as_utc():
    assert stored_and_read(ONE_PM_UTC.replace(tzinfo=None)) == ONE_PM_UTC


def test_another_zone_is_stored_as_the_same_instant_in_utc():
    paris = ONE_PM_UTC.astimezone(timezone(timedelta(hours=1)))
    assert stored_and_read(paris).hour == 13
