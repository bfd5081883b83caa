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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """Each storage test runs on SQLite and on PostgreSQL, schema applied by the migrations."""
    from bot.storage.store import upgrade
    from tests.support.databases import fresh_postgres_database

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
        upgrade(url)
        yield url
        return
    with fresh_postgres_database() as (url, _name):
        upgrade(url)
        yield url
