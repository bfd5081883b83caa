"""One error type for every failed Webex call: status, Webex's description and tracking id."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# 4xx answers that a later try may not repeat: the token may be fixed (401), the request timed out
# (408), the resource is locked for now (423), Webex asks to slow down (429).
TRANSIENT_CLIENT_STATUSES = frozenset({401, 408, 423, 429})


class WebexCallError(Exception):
    """A Webex call failed. ``status`` is None when no answer came (connection error, timeout)."""

    def __init__(self, status: int | None, description: str, tracking_id: str | None = None,
                 *, retry_after: float | None = None):
        self.status = status
        self.description = description
        self.tracking_id = tracking_id
        self.retry_after = retry_after  # seconds Webex asked to wait (a 429's Retry-After)
        label = f"HTTP {status}" if status else "no answer"
        tracking = f" (tracking id {tracking_id})" if tracking_id else ""
        super().__init__(f"Webex {label}: {description}{tracking}")

    @property
    def is_unavailable(self) -> bool:
        """Webex is busy or down: worth trying again later (after bounded retries failed)."""
        return self.status is None or self.status in RETRYABLE_STATUSES

    @property
    def is_permanent(self) -> bool:
        """Webex refused for good (400, 403, 404, 409, 410...): asking again gets the same answer,
        so an event that met it is ended rather than retried."""
        return self.status is not None and 400 <= self.status < 500 \
            and self.status not in TRANSIENT_CLIENT_STATUSES

    @property
    def is_refusal(self) -> bool:
        """Webex answered and said no (4xx but 429): the call was not carried out. A 5xx or no
        answer says nothing of whether a write landed."""
        return self.status is not None and 400 <= self.status < 500 and self.status != 429

    @property
    def is_unauthorized(self) -> bool:
        return self.status == 401

    @classmethod
    def from_response(cls, response: requests.Response) -> WebexCallError:
        description, tracking_id = _describe(response)
        return cls(response.status_code, description, tracking_id,
                   retry_after=_seconds(response.headers.get("Retry-After")))

    @classmethod
    def from_sdk(cls, error) -> WebexCallError:
        """From ``webexpythonsdk.ApiError``."""
        return cls.from_response(error.response)

    @classmethod
    def from_exception(cls, error: requests.RequestException) -> WebexCallError:
        return cls(None, f"{error.__class__.__name__} talking to Webex")


def _describe(response: requests.Response) -> tuple[str, str | None]:
    tracking_id = response.headers.get("TrackingID") or response.headers.get("trackingId")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return (response.reason or "no description"), tracking_id
    errors = body.get("errors")
    details = [str(e["description"]) for e in (errors if isinstance(errors, list) else [])
               if isinstance(e, dict) and e.get("description")]
    description = "; ".join(details) or body.get("message") or response.reason or "no description"
    return str(description), body.get("trackingId") or tracking_id


def _seconds(retry_after: str | None) -> float | None:
    """A ``Retry-After`` (seconds, or an HTTP date) in seconds from now; None when absent or
    malformed (the caller then chooses its own wait)."""
    if not retry_after:
        return None
    text = retry_after.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
