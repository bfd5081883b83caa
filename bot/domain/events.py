"""Webhook envelopes: the small, checked event object the rest of the bot works with."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 32  # a Webex envelope nests 2 or 3 levels deep
MAX_ID_LENGTH = 512  # Webex ids are about 80 characters
_PLAIN_ID = re.compile(r"[^\s/\\?#%]+")


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
    """Parse a verified body into a ``WebexEvent``; raise ``InvalidEnvelope`` naming the problem.

    The parsing is bounded: Webex sends UTF-8 JSON, so anything else (UTF-16 or UTF-32, with or
    without a byte order mark, or bytes that are not UTF-8) is refused, as are nesting deeper than
    ``MAX_DEPTH``, integers longer than Python converts (``sys.get_int_max_str_digits``), the
    non-JSON constants ``NaN``/``Infinity`` and strings holding a lone surrogate (``"\\ud800"``,
    which no database or log can store as UTF-8). Each is an ``InvalidEnvelope`` with its reason,
    never another exception.
    """
    envelope = load_json(body)
    if not isinstance(envelope, dict):
        raise InvalidEnvelope("body is not a JSON object")
    for field in ("resource", "event"):
        if not isinstance(envelope.get(field), str) or not envelope[field]:
            raise InvalidEnvelope(f"envelope has no '{field}'")
    data = envelope.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
        raise InvalidEnvelope("envelope has no 'data.id'")
    if len(data["id"]) > MAX_ID_LENGTH or not _PLAIN_ID.fullmatch(data["id"]):
        # It goes into Webex URLs (GET /messages/{id}): nothing that could change the path.
        raise InvalidEnvelope("envelope's 'data.id' is not a Webex id")
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


def load_json(body: bytes) -> Any:
    """The JSON value of ``body``, which must be UTF-8; ``InvalidEnvelope`` says what is wrong."""
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in body[:4]:
        raise InvalidEnvelope("body must be UTF-8 JSON (it looks like UTF-16 or UTF-32)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEnvelope("body must be UTF-8 JSON (it holds bytes that are not UTF-8)") from exc
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except InvalidEnvelope:
        raise
    except RecursionError as exc:
        raise InvalidEnvelope(f"body is nested more than {MAX_DEPTH} levels deep") from exc
    except json.JSONDecodeError as exc:
        raise InvalidEnvelope(f"body is not valid JSON ({exc.msg} at character {exc.pos})") from exc
    except ValueError as exc:  # an integer longer than sys.get_int_max_str_digits() digits
        raise InvalidEnvelope(f"body holds a number of more than {sys.get_int_max_str_digits()} "
                              "digits") from exc
    _check_values(value)
    return value


def _no_constant(name: str) -> Any:
    raise InvalidEnvelope(f"body is not valid JSON ({name} is not a JSON value)")


def _check_values(value: Any) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` and strings with a lone surrogate, without
    recursion (the check itself must not be the thing that overflows)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise InvalidEnvelope(f"body is nested more than {MAX_DEPTH} levels deep")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InvalidEnvelope("body holds a string with a lone surrogate "
                                      "(an escape such as \\ud800 with no pair)") from exc
