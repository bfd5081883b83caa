"""Real databases for storage tests: a SQLite file, and a fresh PostgreSQL database per use.

PostgreSQL is the local server (127.0.0.1:5432, trust auth). Without one, the PostgreSQL runs
skip with a message locally; under CI (``CI=true``) a missing server fails the run instead, so
that nothing is skipped where it counts.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

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


def set_database_open(name: str, is_open: bool) -> None:
    """Make one database refuse (or accept again) every connection, as if its server were down."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(is_open).lower()}')
        if not is_open:
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
