"""The bot's database: SQLAlchemy 2 over SQLite (default) or PostgreSQL, schema by Alembic."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker


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
            if connection.dialect.name == "postgresql":
                # Several instances may start at once: one migrates, the others wait, then no-op.
                connection.execute(text("SELECT pg_advisory_xact_lock(7412093)"))
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

    def dispose(self) -> None:
        self.engine.dispose()
