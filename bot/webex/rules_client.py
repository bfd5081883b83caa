"""The voicemail rules API (not wrapped by webexpythonsdk): GET and PUT with bounded retries.

429/502/503/504 and connection errors are retried a few times, honouring ``Retry-After`` up to a
cap; a malformed ``Retry-After`` falls back to exponential backoff instead of failing. PUT is
idempotent (the same body twice leaves the same rules), so retrying it is safe.

The change watcher reads with ``get(token, retry=False)``: one try, no sleeping on a 429 inside
the call (it would hold one of the watcher's few slots for up to the Retry-After cap, three
times); the watcher defers that org instead, and reads it again at its next turn.
"""

from __future__ import annotations

import copy
from typing import Any, TypedDict, Unpack

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from bot.ops import metrics
from bot.webex.errors import RETRYABLE_STATUSES, WebexCallError

RULES_PATH = "telephony/config/voicemail/rules"


class WebexRetry(Retry):
    """urllib3's Retry, plus two Webex-specific choices.

    A malformed Retry-After means "use the backoff", not a crash. A POST (posting a message) is
    retried only on 429, which means Webex did not take it; a 5xx or a lost answer might mean it
    did, and posting twice would show the admin the same message twice.
    """

    def parse_retry_after(self, retry_after: str) -> float:
        try:
            return super().parse_retry_after(retry_after)
        except InvalidHeader:
            return 0

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST":
            return status_code == 429 and self.total is not False
        return super().is_retry(method, status_code, has_retry_after)


class RetryOptions(TypedDict, total=False):
    """``retry_policy``'s options, for those who pass them on."""

    attempts: int
    max_retry_after: int
    backoff: float


def retry_policy(*, attempts: int = 3, max_retry_after: int = 10,
                 backoff: float = 0.3) -> WebexRetry:
    """Bounded retries of what Webex says is temporary (429/502/503/504, connection failures)."""
    return WebexRetry(
        total=attempts, connect=attempts, read=attempts, status=attempts, other=0,
        status_forcelist=RETRYABLE_STATUSES, allowed_methods=frozenset({"GET", "PUT", "DELETE"}),
        respect_retry_after_header=True, retry_after_max=max_retry_after,
        backoff_factor=backoff, backoff_max=max_retry_after, raise_on_status=False,
    )


def mount_retries(session: requests.Session, retry: WebexRetry | int,
                  pool_size: int = 16) -> requests.Session:
    """Give ``session`` the retry policy and a connection pool sized for threaded workers."""
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def environment_once(session: requests.Session, url: str) -> requests.Session:
    """Resolve, once, what ``requests`` would read from the environment on every request to
    ``url`` (proxies, ``NO_PROXY``, a CA bundle) and stop it reading it again.

    The environment does not change while the process runs, and re-reading it was a fifth of the
    CPU a reply cost. Every request of these sessions goes to the Webex base URL, so the proxy
    chosen for it holds for all of them.
    """
    settings = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies.update(settings["proxies"])
    session.verify, session.cert = settings["verify"], settings["cert"]
    session.trust_env = False
    return session


def retrying_session(**policy: Unpack[RetryOptions]) -> requests.Session:
    return metrics.instrument(mount_retries(requests.Session(), retry_policy(**policy)))


def single_try_session(pool_size: int) -> requests.Session:
    """A session that never retries (urllib3's ``Retry(0)``: an error or a 429 is the answer)."""
    return metrics.instrument(mount_retries(requests.Session(), 0, pool_size=pool_size))


class RulesClient:
    """Reads and updates the org's voicemail rules with the admin token."""

    def __init__(self, *, base_url: str, org_id: str | None = None,
                 session: requests.Session | None = None, timeout: float = 10.0,
                 single_try_pool: int = 16):
        self._url = base_url + RULES_PATH
        self._org_id = org_id
        self._session = session or environment_once(retrying_session(), base_url)
        # For reads that must not wait inside the call (the watcher's), shared by every twin.
        self._single_try = environment_once(single_try_session(single_try_pool), base_url)
        self._timeout = timeout

    def for_org(self, org_id: str | None) -> RulesClient:
        """The same client (and connections) for ``org_id``'s rules (None: the token's own org)."""
        twin = copy.copy(self)
        twin._org_id = org_id
        return twin

    def get(self, token: str, *, retry: bool = True) -> dict[str, Any]:
        """The rules; ``retry=False``: one try, a 429 raised at once (with its ``retry_after``)."""
        response = self._call("GET", token, session=None if retry else self._single_try)
        if response.status_code != 200:
            raise WebexCallError.from_response(response)
        return response.json()

    def put(self, token: str, patch: dict[str, Any]) -> None:
        """Apply ``patch``; Webex answers 204 with no body."""
        response = self._call("PUT", token, json=patch)
        if response.status_code not in (200, 204):
            raise WebexCallError.from_response(response)

    def _call(self, method: str, token: str, session: requests.Session | None = None,
              **kwargs: Any) -> requests.Response:
        params = {"orgId": self._org_id} if self._org_id else None
        headers = {"Authorization": f"Bearer {token}"}
        try:
            return (session or self._session).request(method, self._url, params=params,
                                                      headers=headers, timeout=self._timeout,
                                                      **kwargs)
        except requests.RequestException as exc:
            raise WebexCallError.from_exception(exc) from exc
