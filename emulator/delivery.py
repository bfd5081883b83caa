"""Webhook delivery: signed envelopes POSTed to every matching webhook from a background thread."""

from __future__ import annotations

from .state import State


def publish(state: State, *, resource: str, event: str, data: dict, actor_id: str) -> None:
    """Deliver ``resource``/``event`` with ``data`` to every webhook that should see it.

    Called by the API handlers after the change is made (messages/created, messages/deleted,
    attachmentActions/created, ...). Returns at once; delivery happens in the background.
    """
    # (to be written)
    return None
