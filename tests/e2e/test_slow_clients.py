"""Slow and half-open clients cannot hold the bot (issue 12, item 1).

The bot runs as README and the Procfile say (``gunicorn app:app`` with gunicorn.conf.py, no proxy
in front) while 250 unauthenticated connections misbehave on its webhook path: a partial header
block then silence, headers trickled a byte at a time, ``Content-Length: 1000`` with one body byte
then silence, a body trickled a byte at a time, and connect-and-silent. A connection the server
closes is opened again at once, so the pressure never drops. Meanwhile a signed delivery must get
its 2xx in under a second and its reply must reach Webex (the emulator), and ``/healthz`` answers.
"""

from __future__ import annotations

import resource
import select
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests

from tests.support.bot_process import bot_env, free_port, start_gunicorn
from tests.support.deliveries import event_for, say
from tests.support.factories import SECRET
from tests.support.waiting import wait_until

PER_KIND = 50
HOLD_SECONDS = 12.0
TRICKLE_SECONDS = 1.0

HEADERS = (b"POST /webhooks/webex HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Type: application/json\r\nX-Spark-Signature: 0\r\n")
BODY_HEADERS = HEADERS + b"Content-Length: 1000\r\n\r\n"
ENDLESS_HEADER = HEADERS + b"X-Padding: " + b"a" * 4000  # never ends within the test


@dataclass
class Hostile:
    """One misbehaving client: what it sends at once, then what it trickles (if anything)."""

    kind: str
    opening: bytes
    trickle: bytes = b""
    sock: socket.socket | None = None
    sent: int = 0

    def open(self, port: int) -> None:
        self.close()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setblocking(False)
        self.sent = 0
        if self.opening:
            self.sock.send(self.opening)

    def step(self) -> None:
        """Send the next trickled byte, if any."""
        if self.trickle and self.sent < len(self.trickle):
            self.sock.send(self.trickle[self.sent:self.sent + 1])
            self.sent += 1

    def let_go(self) -> str | None:
        """How the server let go of this connection (its status line, or "closed"), if it did."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        if not readable:
            return None
        try:
            answer = self.sock.recv(100)
        except OSError:
            return "reset"
        return answer.split(b"\r\n")[0].decode(errors="replace") if answer else "closed"

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


@dataclass
class Swarm:
    port: int
    clients: list[Hostile] = field(default_factory=list)
    let_go: Counter[tuple[str, str]] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> threading.Thread:
        kinds = [
            ("partial-headers", HEADERS, b""),
            ("trickled-headers", b"", ENDLESS_HEADER),
            ("one-body-byte", BODY_HEADERS + b"{", b""),
            ("trickled-body", BODY_HEADERS, b"{" + b" " * 998 + b"}"),
            ("silent", b"", b""),
        ]
        for kind, opening, trickle in kinds:
            for _ in range(PER_KIND):
                client = Hostile(kind, opening, trickle)
                client.open(self.port)
                self.clients.append(client)
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        while not self._stop.wait(TRICKLE_SECONDS):
            for client in self.clients:
                try:
                    how = client.let_go()
                    if how is None:
                        client.step()
                except OSError:
                    how = "reset"
                if how is not None:  # the server let go: come back at once, as an attacker would
                    self.let_go[client.kind, how] += 1
                    try:
                        client.open(self.port)
                    except OSError:
                        pass

    def stop(self) -> None:
        self._stop.set()
        for client in self.clients:
            client.close()


@pytest.fixture
def swarm_limits() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 4096) if hard != resource.RLIM_INFINITY else 4096
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def bot_replies(emulator) -> int:
    bot_id, room_id = emulator.id("bot"), emulator.id("dm-alice")
    with emulator.state.lock:
        return sum(1 for m in emulator.state.messages.values()
                   if m["personId"] == bot_id and m["roomId"] == room_id)


def timed(call) -> tuple[object, float]:
    started = time.monotonic()
    try:
        result = call()
    except requests.RequestException as exc:
        result = exc
    return result, time.monotonic() - started


def test_slow_and_half_open_clients_do_not_hold_the_bot(emulator, tmp_path, swarm_limits):
    port = free_port()
    bot = start_gunicorn(bot_env(emulator, tmp_path, SECRET, port), tmp_path, port)  # 2 workers
    swarm = Swarm(port)
    try:
        started = time.monotonic()
        swarm.start()
        # While the first connections are held, and after the read deadlines (5 s for headers,
        # 10 s for a body) have let them go and they have come back.
        for at in (3.0, 7.0, 11.0):
            time.sleep(max(0.0, started + at - time.monotonic()))
            health, health_seconds = timed(
                lambda: requests.get(f"{bot.url}/healthz", timeout=5).status_code)
            assert health == 200, f"/healthz at {at}s: {health!r} after {health_seconds:.2f}s"

            before = bot_replies(emulator)
            raw, headers = event_for(emulator, say(emulator, "show"))
            status, seconds = timed(lambda raw=raw, headers=headers: deliver_within(bot.url, raw, headers))
            assert status == 202, f"delivery at {at}s: {status!r} after {seconds:.2f}s"
            assert seconds < 1.0, f"delivery at {at}s acknowledged after {seconds:.2f}s"
            wait_until(lambda before=before: bot_replies(emulator) > before,
                       f"the reply to the delivery at {at}s", timeout=5)
        time.sleep(max(0.0, started + HOLD_SECONDS - time.monotonic()))
        assert sum(c.sock is not None for c in swarm.clients) == 5 * PER_KIND
        assert bot.popen.poll() is None, bot.log()
        # Nothing is held for ever: stalled headers and stalled bodies were let go (and came back).
        kinds = {kind for kind, _how in swarm.let_go}
        assert kinds == {c.kind for c in swarm.clients}, swarm.let_go
        assert all(how.endswith("408 Request Timeout") for (kind, how) in swarm.let_go
                   if kind in ("one-body-byte", "trickled-body")), swarm.let_go
    finally:
        swarm.stop()
        bot.stop()


def deliver_within(url: str, raw: bytes, headers: dict) -> int:
    """A signed delivery as Webex makes it, given up after 5 s (Webex's own limit is unknown)."""
    return requests.post(f"{url}/webhooks/webex", data=raw, headers=headers,
                         timeout=5).status_code

