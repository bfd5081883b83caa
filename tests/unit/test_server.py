"""The body deadline of the gunicorn worker class (bot/ops/server.py), on gevent's own sockets
(nothing is monkey-patched in the test process)."""

from __future__ import annotations

import sys
import time
import types

import pytest
from gevent import socket as gsocket

from bot.ops.server import BodyDeadline, _psycopg_waits_cooperatively


class SocketBody:
    """Reads like gunicorn's request body, from a gevent socket."""

    def __init__(self, sock):
        self.sock = sock

    def read(self, size=None):
        return self.sock.recv(size or 65536)

    def readline(self, size=None):
        return self.read(size)

    def readlines(self, size=None):
        return [self.read(size)]


@pytest.fixture
def pair():
    client, server = gsocket.socketpair()
    yield client, server
    client.close()
    server.close()


def test_a_body_that_arrives_in_time_is_read(pair):
    client, server = pair
    client.sendall(b"{}")
    body = BodyDeadline(SocketBody(server), time.monotonic() + 1)
    assert body.read(2) == b"{}"
    assert not body.expired


def test_a_stalled_body_is_given_up_at_the_deadline(pair):
    client, server = pair
    client.sendall(b"{")  # one byte of many, then silence
    body = BodyDeadline(SocketBody(server), time.monotonic() + 0.3)
    assert body.read(1) == b"{"
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        body.read(999)
    assert 0.1 < time.monotonic() - started < 1.0
    assert body.expired
    with pytest.raises(TimeoutError):  # and every read after it, at once
        body.readline()


def test_a_timeout_of_the_application_is_not_taken_for_the_deadline():
    def read(size=None):
        raise TimeoutError("something else timed out")

    body = BodyDeadline(types.SimpleNamespace(read=read), time.monotonic() + 5)
    with pytest.raises(TimeoutError, match="something else"):
        body.read()
    assert not body.expired


def test_psycopg_imported_before_the_patch_waits_with_poll(monkeypatch):
    waiting = types.SimpleNamespace(wait_c=object(), wait_poll=object())
    waiting.wait = waiting.wait_c
    monkeypatch.setitem(sys.modules, "psycopg.waiting", waiting)
    _psycopg_waits_cooperatively()
    assert waiting.wait is waiting.wait_poll
