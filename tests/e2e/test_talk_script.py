"""``scripts/talk.py``, the demo's terminal client, run as a process against the emulator (and
the bot) over HTTP: its mistakes are one line naming what is valid, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import urlparse

import pytest

from devtools.processes import free_port
from tests.support.bot_server import start_bot
from tests.support.paths import REPO

TALK = REPO / "scripts" / "talk.py"


def talk(port: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TALK), *args], capture_output=True, text=True,
                          timeout=60, env={"EMULATOR_PORT": str(port), "PATH": "/usr/bin:/bin"},
                          cwd=REPO)


def port_of(emulator) -> int:
    return urlparse(emulator.base_url).port


def test_without_the_demo_it_says_to_start_it():
    result = talk(free_port(), "alice", "show")
    assert result.returncode != 0
    assert "the demo is not running (start it with make demo)" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_person_is_refused_naming_the_people(emulator):
    result = talk(port_of(emulator), "mallory", "show")
    assert result.returncode != 0
    assert "unknown person 'mallory'" in result.stderr
    assert "alice" in result.stderr and "rita" in result.stderr and "otto" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_space_is_refused_naming_the_spaces(emulator):
    result = talk(port_of(emulator), "alice", "--space", "lobby", "show")
    assert "unknown space 'lobby': the group spaces are admins, notify" in result.stderr


def test_a_space_the_person_is_not_in_is_refused_naming_theirs(emulator):
    result = talk(port_of(emulator), "iris", "--space", "admins", "show")  # acme's, iris: initech
    assert result.returncode != 0
    assert "iris is not in the space 'admins': their group spaces are initech-admins, " \
           "initech-notify, partners" in result.stderr
    assert "Traceback" not in result.stderr and "404" not in result.stderr
    no_dm = talk(port_of(emulator), "ines", "show")
    assert "ines has no 1:1 space with the bot in the seed; use --space with one of theirs: " \
           "initech-admins" in no_dm.stderr


@pytest.fixture
def bot(emulator, tmp_path):
    server = start_bot(emulator, tmp_path)
    yield server
    server.stop()


def test_an_unknown_form_field_is_refused_naming_the_fields(emulator, bot):
    port = port_of(emulator)
    assert "Review changes" in talk(port, "alice", "edit").stdout
    result = talk(port, "alice", "--press", "Review changes", "expiry=60")
    assert result.returncode != 0
    assert "unknown field 'expiry': this card's fields are expiry_enabled, expiry_days" \
        in result.stderr
    assert "Traceback" not in result.stderr
    answer = talk(port, "alice", "--press", "Review changes", "expiry_days=60")
    assert "100 days → 60 days" in answer.stdout, answer.stdout + answer.stderr
