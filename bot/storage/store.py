"""The bot's database: SQLAlchemy 2 over SQLite (default) or PostgreSQL, schema by Alembic."""

from __future__ import annotations

import fcntl
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, CursorResult, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.dml import Delete, Update

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


def rows_matched(session: Session, statement: Update | Delete) -> int:
    """Run an UPDATE or DELETE; how many rows it matched. ``Session.execute`` is typed to return a
    plain ``Result``, but for these statements it is a ``CursorResult``, which has ``rowcount``."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount


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
        database = make_url(url).database if self.engine.dialect.name == "sqlite" else None
        self._writers = _WriterQueue(Path(database)) if database not in (None, "", ":memory:") \
            else nullcontext()

    def session(self) -> Session:
        return self.sessions()

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A short write transaction (the inbox's, on every event).

        On a SQLite file, writers take turns in a queue (the threads of this process, then the
        processes sharing the file) instead of retrying in SQLite's busy handler, which sleeps up
        to 100 ms at a time while others overtake: under a burst some acknowledgements waited
        for seconds. PostgreSQL locks rows and needs none of it.
        """
        with self._writers, self.engine.begin() as connection:
            yield connection

    def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the database answers a trivial query."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise StoreUnavailable(str(exc.__class__.__name__)) from exc

    def dispose(self) -> None:
        self.engine.dispose()


class _WriterQueue:
    """One writer at a time on a SQLite file: a lock in this process, then an exclusive ``flock``
    on a file next to the database, shared by every process (the kernel hands it to the next
    waiter as soon as it is released, and frees it if its holder dies)."""

    def __init__(self, database: Path):
        self._path = Path(f"{database}-writer.lock")
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            fd = self._own_fd()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another process is writing: wait for its turn to end
                _wait_in_c(fcntl.flock, fd, fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *_exc) -> None:
        try:
            fcntl.flock(self._own_fd(), fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def _own_fd(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a file of this process's own, after a fork
            self._fd, self._pid = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
        return self._fd


def _wait_in_c(call: Callable[..., object], *args: object) -> None:
    """Make a call that waits inside C. Under gunicorn's gevent workers (bot/ops/server.py) it is
    made in gevent's pool of real threads, so that only this greenlet waits and the others (the
    webhook acknowledgements) go on; anywhere else it is simply made."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        import gevent

        gevent.get_hub().threadpool.apply(call, args)
    else:
        call(*args)
