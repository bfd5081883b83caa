"""Shared fixtures (a real emulator over HTTP, reset to its seed before each test; the storage
tests' databases) and the tier markers, set by folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.emulator_server import EmulatorServer, start_emulator

TESTS = Path(__file__).parent
TIERS = ("unit", "integration", "contract", "e2e", "browser")  # folders, and markers (pytest.ini)


def pytest_collection_modifyitems(config, items):
    """Each test gets its folder's tier marker, so ``pytest -m unit`` (or ``-m "not e2e"``) works."""
    for item in items:
        try:
            tier = item.path.relative_to(TESTS).parts[0]
        except ValueError:
            continue
        if tier in TIERS:
            item.add_marker(tier)


@pytest.fixture(scope="session")
def emulator_session() -> EmulatorServer:
    server = start_emulator()
    yield server
    server.stop()


@pytest.fixture
def emulator(emulator_session: EmulatorServer) -> EmulatorServer:
    """The emulator, fresh from its seed."""
    emulator_session.reset()
    return emulator_session


@pytest.fixture(scope="session")
def postgres_database():
    """One migrated PostgreSQL database for the session's storage tests (see ``database_url``)."""
    from tests.support.databases import migrated_postgres_database, require_postgres

    require_postgres()
    with migrated_postgres_database() as (url, name):
        yield url, name


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """Each storage test runs on SQLite and on PostgreSQL, schema applied by the migrations: a
    fresh SQLite file, or the session's PostgreSQL database with every table emptied."""
    from tests.support.databases import empty_postgres_tables, migrated_sqlite_url

    if request.param == "sqlite":
        return migrated_sqlite_url(tmp_path / "store.sqlite3")
    url, name = request.getfixturevalue("postgres_database")
    empty_postgres_tables(name)
    return url
