"""Waiting in tests: ``wait_until(predicate, "what is awaited")`` polls until ``predicate()`` is
truthy and returns its value, or fails naming what was awaited (and ``detail()`` when given).

The one implementation is ``devtools.waiting``, shared with the process launcher that ``make demo``
and ``make bench`` use; tests import it from here."""

from __future__ import annotations

from devtools.waiting import NotInTime, wait_until

__all__ = ["NotInTime", "wait_until"]
