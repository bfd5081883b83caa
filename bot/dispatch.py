"""The one place accepted events go. Commands and card submits are routed from here."""

from __future__ import annotations

import logging

from .events import WebexEvent

log = logging.getLogger(__name__)


def dispatch(event: WebexEvent) -> None:
    """Handle one accepted event. For now: record that it arrived; routing comes with the commands."""
    log.info("event %s dispatched (%s/%s)", event.data_id, event.resource, event.event)
