"""The gunicorn worker class the bot runs under (``worker_class`` in gunicorn.conf.py).

gunicorn's gevent worker, so that a slow or half-open client costs a greenlet and a socket while
it dawdles, never one of a few request threads: every connection gets its own greenlet (up to
``worker_connections`` per process), and the bot's background threads (inbox workers, periodic
jobs) become greenlets too once gevent has patched the standard library in the worker; Webex
calls (``requests``) and PostgreSQL queries (psycopg) then wait without holding the others.

Two deadlines bound what a client can hold:

- the request line and headers: gunicorn's gevent worker reads each request's header block under
  ``gevent.Timeout(keepalive)``, the first request of a connection included, and closes the
  connection when it runs out (so ``keepalive`` must stay above 0, which ``check_config`` says);
- the body: this subclass gives every request ``BODY_SECONDS`` from the end of its headers to
  deliver its body, as a ``gevent.Timeout`` around each read of ``wsgi.input``. A read past the
  deadline raises ``TimeoutError`` (the webhook endpoint answers 408) and the connection is
  closed after the answer, since what is left of the body is unknown.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import gevent
from gunicorn.workers.ggevent import GeventWorker as _GeventWorker

# Webex posts a few kilobytes at once; even the 1 MiB limit needs only 100 KiB/s to fit.
BODY_SECONDS = 10.0


class BodyDeadline:
    """``wsgi.input`` with a deadline: every read must end by ``deadline`` (``time.monotonic``)."""

    def __init__(self, body: Any, deadline: float):
        self._body = body
        self._deadline = deadline
        self.expired = False

    def read(self, size: int | None = None) -> bytes:
        return self._within(self._body.read, size)

    def readline(self, size: int | None = None) -> bytes:
        return self._within(self._body.readline, size)

    def readlines(self, size: int | None = None) -> list[bytes]:
        return self._within(self._body.readlines, size)

    def __iter__(self) -> BodyDeadline:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def _within(self, method: Any, size: int | None) -> Any:
        remaining = self._deadline - time.monotonic()
        if self.expired or remaining <= 0:
            self.expired = True
            raise TimeoutError("request body not received in time")
        expired = TimeoutError("request body not received in time")
        try:
            with gevent.Timeout(remaining, expired):
                return method(size)
        except TimeoutError as exc:
            if exc is expired:
                self.expired = True
            raise


class GeventWorker(_GeventWorker):
    """gunicorn's gevent worker, with a deadline on each request body."""

    body_seconds = BODY_SECONDS

    def patch(self) -> None:
        super().patch()
        _psycopg_waits_cooperatively()

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        if not cfg.keepalive:
            log.warning("keepalive is 0: request headers are then read with no deadline, and a "
                        "slow client can hold a connection for as long as it likes")

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> Any:
        # Only the application reads through the deadline: gunicorn drains an unread body before
        # the connection's next request, under its header deadline.
        unread = req.body
        body = req.body = BodyDeadline(unread, time.monotonic() + self.body_seconds)
        try:
            result = super().handle_request(listener_name, req, sock, addr)
        finally:
            req.body = unread
        if body.expired:  # the rest of the body may still be coming: this connection is done
            raise StopIteration()
        return result


def _psycopg_waits_cooperatively() -> None:
    """psycopg picks how it waits on the server when it is first imported: its C function, unless
    gevent has patched ``select`` by then. The master imports it before the fork when it brings
    a PostgreSQL schema up to date (``on_starting``), so a worker would inherit the C wait, which
    holds every greenlet of the process while a query runs; it gets the ``select.poll`` one,
    patched by gevent, instead (what psycopg picks itself when imported after the patch)."""
    waiting: Any = sys.modules.get("psycopg.waiting")
    if waiting is not None and waiting.wait is getattr(waiting, "wait_c", None):
        waiting.wait = waiting.wait_poll
