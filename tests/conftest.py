"""Shared fixtures: a real emulator over HTTP, reset to its seed before each test."""

from __future__ import annotations

import pytest

from tests.emulator_server import EmulatorServer, start_emulator


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
