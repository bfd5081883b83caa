"""Shared fixtures: a real emulator over HTTP, reset to its seed before each test."""

from __future__ import annotations

import pytest

from tests.support.emulator_server import EmulatorServer, start_emulator


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


@pytest.fixture(params=["sqlite", "postgresql"])
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
