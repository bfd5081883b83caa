"""Clients that misbehave on the webhook path, as an attacker with no signature would (issue 12,
item 1), and the timing helpers of the tests that hold a server under them.

A ``Swarm`` opens ``per_kind`` connections of each kind: a partial header block then silence,
headers trickled a byte at a time, ``Content-Length: 1000`` with one body byte then silence, a body
trickled a byte at a time, and connect-and-silent. A connection the server lets go is opened again
at once, so the pressure never drops. Each connection comes from one of ``sources`` (loopback
addresses: all of 127.0.0.0/8 reaches a server on 127.0.0.1), so a per-address limit can be told
apart from the traffic a test sends from 127.0.0.1.
"""

from __future__ import annotations

import resource
import select
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import cycle

import requests

from tests.support.deliveries import event_for, say
from tests.support.waiting import wait_until

TRICKLE_SECONDS = 1.0

HEADERS = (b"POST /webhooks/webex HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Type: application/json\r\nX-Spark-Signature: 0\r\n")
BODY_HEADERS = HEADERS + b"Content-Length: 1000\r\n\r\n"
ENDLESS_HEADER = HEADERS + b"X-Padding: " + b"a" * 4000  # never ends within a test

KINDS = [  # (kind, sent at once, then trickled a byte every TRICKLE_SECONDS)
    ("partial-headers", HEADERS, b""),
    ("trickled-headers", b"", ENDLESS_HEADER),
    ("one-body-byte", BODY_HEADERS + b"{", b""),
    ("trickled-body", BODY_HEADERS, b"{" + b" " * 998 + b"}"),
    ("silent", b"", b""),
]
BODY_KINDS = ("one-body-byte", "trickled-body")  # whole headers, then a body that does not come


@dataclass
class Hostile:
    """One misbehaving client: what it sends at once, then what it trickles (if anything)."""

    kind: str
    opening: bytes
    trickle: bytes = b""
    source: str = "127.0.0.1"
    sock: socket.socket | None = None
    sent: int = 0

    def open(self, port: int) -> None:
        self.close()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5,
                                             source_address=(self.source, 0))
        self.sock.setblocking(False)
        self.sent = 0
        if self.opening:
            self.sock.send(self.opening)

    def step(self) -> None:
        """Send the next trickled byte, if any."""
        if self.trickle and self.sent < len(self.trickle):
            self.sock.send(self.trickle[self.sent:self.sent + 1])
            self.sent += 1

    def let_go(self, wait: float = 0) -> str | None:
        """How the server let go of this connection (its status line, or "closed"), if it did
        within ``wait`` seconds."""
        readable, _, _ = select.select([self.sock], [], [], wait)
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
    per_kind: int = 50
    sources: tuple[str, ...] = ("127.0.0.1",)
    clients: list[Hostile] = field(default_factory=list)
    let_go: Counter[tuple[str, str]] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> threading.Thread:
        sources = cycle(self.sources)
        for kind, opening, trickle in KINDS:
            for _ in range(self.per_kind):
                client = Hostile(kind, opening, trickle, next(sources))
                client.open(self.port)
                self.clients.append(client)
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        return thread

    def held(self) -> int:
        """How many of its connections are open now."""
        return sum(c.sock is not None for c in self.clients)

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


@contextmanager
def open_files_for_a_swarm() -> Iterator[None]:
    """Raise this process's open-file limit (inherited by servers it starts next) for a swarm."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 4096) if hard != resource.RLIM_INFINITY else 4096
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def bot_replies(emulator, room: str = "dm-alice") -> int:
    """How many messages the bot has posted in ``room`` so far."""
    bot_id, room_id = emulator.id("bot"), emulator.id(room)
    with emulator.state.lock:
        return sum(1 for m in emulator.state.messages.values()
                   if m["personId"] == bot_id and m["roomId"] == room_id)


def timed(call: Callable[[], object]) -> tuple[object, float]:
    """``call()``'s result (or the requests error it raised) and how long it took."""
    started = time.monotonic()
    try:
        result = call()
    except requests.RequestException as exc:
        result = exc
    return result, time.monotonic() - started


def deliver_within(url: str, raw: bytes, headers: dict) -> int:
    """A signed delivery as Webex makes it, given up after 5 s (Webex's own limit is unknown)."""
    return requests.post(f"{url}/webhooks/webex", data=raw, headers=headers,
                         timeout=5).status_code


def answers_while_held(emulator, url: str, started: float,
                       moments: tuple[float, ...] = (3.0, 7.0, 11.0)) -> None:
    """At each moment (seconds after ``started``, while a swarm holds its connections and after
    read deadlines have let some go and they came back): ``/healthz`` at ``url`` answers 200, and a
    signed ``show`` gets its 202 in under a second and its reply reaches Webex (the emulator)."""
    for at in moments:
        time.sleep(max(0.0, started + at - time.monotonic()))
        health, health_seconds = timed(
            lambda: requests.get(f"{url}/healthz", timeout=5).status_code)
        assert health == 200, f"/healthz at {at}s: {health!r} after {health_seconds:.2f}s"

        before = bot_replies(emulator)
        raw, headers = event_for(emulator, say(emulator, "show"))
        status, seconds = timed(lambda raw=raw, headers=headers: deliver_within(url, raw, headers))
        assert status == 202, f"delivery at {at}s: {status!r} after {seconds:.2f}s"
        assert seconds < 1.0, f"delivery at {at}s acknowledged after {seconds:.2f}s"
        wait_until(lambda before=before: bot_replies(emulator) > before,
                   f"the reply to the delivery at {at}s", timeout=5)


def press(swarm: Swarm, emulator, url: str, seconds: float = 12.0) -> None:
    """Start ``swarm`` and keep it on for ``seconds`` while ``answers_while_held`` checks the bot
    at ``url``. At the end every one of its connections is open (held, or opened again)."""
    started = time.monotonic()
    swarm.start()
    answers_while_held(emulator, url, started)
    time.sleep(max(0.0, started + seconds - time.monotonic()))
    assert swarm.held() == len(swarm.clients), f"{swarm.held()} of {len(swarm.clients)} open"
