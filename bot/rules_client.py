"""The voicemail rules API (not wrapped by webexpythonsdk): GET and PUT with bounded retries.

429/502/503/504 and connection errors are retried a few times, honouring ``Retry-After`` up to a
cap; a malformed ``Retry-After`` falls back to exponential backoff instead of failing. PUT is
idempotent (the same body twice leaves the same rules), so retrying it is safe.
"""

from __future__ import annotations

from typing import Any, Callable

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from .webex_errors import RETRYABLE_STATUSES, WebexCallError

RULES_PATH = "telephony/config/voicemail/rules"


class WebexRetry(Retry):
    """urllib3's Retry, but a malformed Retry-After means "use the backoff", not a crash."""

    def parse_retry_after(self, retry_after: str) -> float:
        try:
            return super().parse_retry_after(retry_after)
        except InvalidHeader:
            return 0


def retrying_session(*, attempts: int = 3, max_retry_after: float = 10.0,
                     backoff: float = 0.3) -> requests.Session:
    """A requests session that retries what Webex says is temporary, a bounded number of times."""
    retry = WebexRetry(
        total=attempts, connect=attempts, read=attempts, status=attempts, other=0,
        status_forcelist=RETRYABLE_STATUSES, allowed_methods=frozenset({"GET", "PUT"}),
        respect_retry_after_header=True, retry_after_max=max_retry_after,
        backoff_factor=backoff, backoff_max=max_retry_after, raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class RulesClient:
    """Reads and updates the org's voicemail rules with the admin token."""

    def __init__(self, *, base_url: str, token: Callable[[], str], org_id: str | None = None,
                 session: requests.Session | None = None, timeout: float = 10.0):
        self._url = base_url + RULES_PATH
        self._token = token
        self._org_id = org_id
        self._session = session or retrying_session()
        self._timeout = timeout

    def get(self) -> dict[str, Any]:
        response = self._call("GET")
        if response.status_code != 200:
            raise WebexCallError.from_response(response)
        return response.json()

    def put(self, patch: dict[str, Any]) -> None:
        """Apply ``patch``; Webex answers 204 with no body."""
        response = self._call("PUT", json=patch)
        if response.status_code not in (200, 204):
            raise WebexCallError.from_response(response)

    def _call(self, method: str, **kwargs: Any) -> requests.Response:
        params = {"orgId": self._org_id} if self._org_id else None
        headers = {"Authorization": f"Bearer {self._token()}"}
        try:
            return self._session.request(method, self._url, params=params, headers=headers,
                                         timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise WebexCallError.from_exception(exc) from exc
