"""Webhook envelopes: the small, checked event object the rest of the bot works with."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class InvalidEnvelope(ValueError):
    """The body is not JSON, or not a Webex webhook envelope; the message says which."""


@dataclass(frozen=True)
class WebexEvent:
    """One webhook delivery: what happened (``resource``/``event``) to what (``data``)."""

    resource: str
    event: str
    data_id: str
    data: dict[str, Any]
    actor_id: str | None
    org_id: str | None
    webhook_id: str | None

    @property
    def key(self) -> str:
        """Identifies the event across duplicate deliveries."""
        return f"{self.resource}:{self.event}:{self.data_id}"


def parse_envelope(body: bytes) -> WebexEvent:
    """Parse a verified body into a ``WebexEvent``; raise ``InvalidEnvelope`` naming the problem."""
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEnvelope("body is not valid JSON") from exc
    if not isinstance(envelope, dict):
        raise InvalidEnvelope("body is not a JSON object")
    for field in ("resource", "event"):
        if not isinstance(envelope.get(field), str) or not envelope[field]:
            raise InvalidEnvelope(f"envelope has no '{field}'")
    data = envelope.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
        raise InvalidEnvelope("envelope has no 'data.id'")
    return WebexEvent(
        resource=envelope["resource"],
        event=envelope["event"],
        data_id=data["id"],
        data=data,
        actor_id=_optional_str(envelope.get("actorId")),
        org_id=_optional_str(envelope.get("orgId")),
        webhook_id=_optional_str(envelope.get("id")),
    )


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
