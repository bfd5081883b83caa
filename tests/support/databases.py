"""Real databases for storage tests: SQLite files and PostgreSQL databases, migrated.

Migrations run once per session: a SQLite file is a copy of one migrated file
(``migrated_sqlite_url``), and the PostgreSQL storage tests share one migrated database whose
tables are emptied before each test (``empty_postgres_tables``), which takes milliseconds where
creating and migrating a database takes half a second. Migrations themselves are still checked
(``test_migrations_match_the_models``, and gunicorn migrates on start in the e2e tests).

PostgreSQL is the local server (127.0.0.1:5432, trust auth). Without one, the PostgreSQL runs
skip with a message locally; under CI (``CI=true``) a missing server fails the run instead, so
that nothing is skipped where it counts.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

ADMIN_DSN = os.environ.get("VMBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def postgres_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        with psycopg.connect(ADMIN_DSN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}"


def require_postgres() -> None:
    problem = postgres_available()
    if problem is None:
        return
    message = f"PostgreSQL at {ADMIN_DSN} is not reachable ({problem})"
    if os.environ.get("CI") == "true":
        pytest.fail(message + "; CI must start it (.ci/run)")
    pytest.skip(message + "; start it to run the PostgreSQL tests")


@contextmanager
def fresh_postgres_database():
    """Create an empty database, yield its SQLAlchemy URL, drop it afterwards."""
    require_postgres()
    name = f"vmbot_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def migrated_postgres_database():
    """A fresh database with the schema applied by the migrations; dropped afterwards."""
    from bot.storage.store import upgrade

    with fresh_postgres_database() as (url, name):
        upgrade(url)
        yield url, name


def empty_postgres_tables(name: str) -> None:
    """Make a migrated database as good as new: no connection left on it, every table but
    ``alembic_version`` empty, every identity sequence back at its start."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as connection:
        connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
    dsn = psycopg.conninfo.make_conninfo(ADMIN_DSN, dbname=name)
    with psycopg.connect(dsn, autocommit=True) as connection:
        tables = [row[0] for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'")]
        assert tables, f"database {name} has no tables: not migrated?"
        connection.execute("TRUNCATE " + ", ".join(f'"{table}"' for table in tables)
                           + " RESTART IDENTITY CASCADE")


@functools.cache
def _migrated_sqlite_file() -> Path:
    from bot.storage.store import upgrade

    directory = Path(tempfile.mkdtemp(prefix="vmbot-sqlite-template-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / "migrated.sqlite3"
    upgrade(f"sqlite:///{path}")
    leftovers = sorted(p.name for p in directory.iterdir() if p != path)
    assert not leftovers, f"the migrated SQLite file is not self-contained: {leftovers}"
    return path


def migrated_sqlite_url(path: Path) -> str:
    """A new SQLite file at ``path`` with the schema the migrations give (a copy of a file
    migrated once per session)."""
    if path.exists():
        raise FileExistsError(path)
    shutil.copyfile(_migrated_sqlite_file(), path)
    return f"sqlite:///{path}"


def set_database_open(name: str, is_open: bool) -> None:
    """Make one database refuse (or accept again) every connection, as if its server were down."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(is_open).lower()}')
        if not is_open:
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
