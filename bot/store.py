"""The bot's database: SQLAlchemy 2 over SQLite (default) or PostgreSQL, schema by Alembic."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, func, select, text, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .events import WebexEvent
from .models import InboxEvent

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


class StoreUnavailable(Exception):
    """The database cannot be reached; callers answer 503 and try again later."""


def make_engine(url: str) -> Engine:
    """An engine with the options each backend needs to be safe under threaded gunicorn workers."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 15})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                         connect_args={"connect_timeout": 5})


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers and one writer work at once across worker processes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def upgrade(url: str) -> None:
    """Bring the schema up to date (``flask --app app db upgrade``; also run once by gunicorn)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


class Store:
    """Everything the bot keeps, behind a few intention-revealing methods."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessions()

    def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the database answers a trivial query."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc.__class__.__name__)) from exc

    def record_event(self, event: WebexEvent, envelope: bytes) -> bool:
        """Store an accepted event; False when the same event was stored before (a duplicate)."""
        row = InboxEvent(
            resource=event.resource, event=event.event, data_id=event.data_id,
            webhook_id=event.webhook_id, actor_id=event.actor_id, org_id=event.org_id,
            envelope=envelope.decode("utf-8"), status="pending", attempts=0,
            received_at=datetime.now(timezone.utc),
        )
        try:
            with self.session() as session, session.begin():
                session.add(row)
        except IntegrityError:
            return False
        except OperationalError as exc:
            raise StoreUnavailable(exc.__class__.__name__) from exc
        return True

    def mark_event(self, event: WebexEvent, status: str, error: str | None) -> None:
        """Record how processing ended (``done`` or ``failed`` with the reason)."""
        with self.session() as session, session.begin():
            session.execute(
                update(InboxEvent)
                .where(InboxEvent.resource == event.resource, InboxEvent.event == event.event,
                       InboxEvent.data_id == event.data_id)
                .values(status=status, last_error=error, attempts=InboxEvent.attempts + 1,
                        processed_at=datetime.now(timezone.utc)))

    def event_count(self) -> int:
        with self.session() as session:
            return session.scalar(select(func.count()).select_from(InboxEvent)) or 0

    def dispose(self) -> None:
        self.engine.dispose()
