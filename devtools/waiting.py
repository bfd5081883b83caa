"""The one way to wait for something: poll a condition until it holds or time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class NotInTime(AssertionError):
    """What was awaited did not happen in time (an AssertionError: a test waiting fails)."""


def wait_until(predicate: Callable[..., T], what: str, *, timeout: float = 10.0,
               interval: float = 0.02, detail: Callable[[], object] | None = None) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something truthy, and return
    that. After ``timeout`` seconds, raise ``NotInTime`` naming ``what`` was awaited, with
    ``detail()`` (the state that would explain why) when given. An exception from ``predicate``
    propagates at once (e.g. "the process died", which no amount of waiting will fix)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            message = f"waited {timeout:g}s for {what}, in vain"
            if detail is not None:
                message += f"; last seen: {detail()!r}"
            raise NotInTime(message)
        time.sleep(interval)
