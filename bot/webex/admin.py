"""Calls made with the admin token, refreshed once on a 401 and retried, in one place."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from webexpythonsdk import WebexAPI

from bot.config import Settings
from bot.webex.admin_token import TokenProvider
from bot.webex.clients import admin_api, sdk_call
from bot.webex.errors import WebexCallError
from bot.webex.rules_client import RulesClient

T = TypeVar("T")
log = logging.getLogger(__name__)


class AdminAccess:
    """One org's admin identity: people, roles, the voicemail rules, and the org itself
    (``org_id``: known from its stored authorization; None: ``WEBEX_ORG_ID`` or the token's own)."""

    def __init__(self, settings: Settings, token: TokenProvider, rules: RulesClient,
                 org_id: str | None = None):
        self._settings = settings
        self._token = token
        self._rules = rules
        self._apis: dict[str, WebexAPI] = {}
        self._lock = threading.Lock()
        self._org_lock = threading.Lock()
        self._org_id = org_id or settings.webex_org_id
        self._org_name: str | None = None

    def run(self, action: Callable[[str], T]) -> T:
        """``action(token)``; on a 401, again with a refreshed token (or AdminTokenExpired).

        Twice at most: the first "refreshed" token may be one another process stored meanwhile
        (an operator authorized again), which may be refused too; the second is a real refresh.
        """
        token = self._token.current()
        for _ in range(2):
            try:
                return action(token)
            except WebexCallError as exc:
                if not exc.is_unauthorized:
                    raise
            token = self._token.refresh(token)
        return action(token)

    def sdk(self, action: Callable[[WebexAPI], T]) -> T:
        return self.run(lambda token: sdk_call(self._api(token), action))

    def read_rules(self, *, retry: bool = True) -> dict[str, Any]:
        """The org's rules; ``retry=False``: one try per token (see ``RulesClient.get``)."""
        return self.run(lambda token: self._rules.get(token, retry=retry))

    def update_rules(self, patch: dict[str, Any]) -> None:
        self.run(lambda token: self._rules.put(token, patch))

    def managed_org_id(self) -> str:
        """The org this access is for: its stored authorization's, ``WEBEX_ORG_ID``, or the admin
        token's own org (asked once per process)."""
        if self._org_id is None:
            with self._org_lock:  # the start-up warm-up and a first event may ask at once
                if self._org_id is None:
                    self._org_id = self.sdk(lambda api: api.people.me()).orgId
        return self._org_id

    def managed_org_name(self) -> str | None:
        """The managed org's display name (Webex's Organizations API), asked until Webex says it,
        then kept; None while it cannot (the token may not read organizations)."""
        if self._org_name is None:
            org_id = self.managed_org_id()
            try:
                self._org_name = self.sdk(lambda api: api.organizations.get(org_id)).displayName
            except WebexCallError as exc:
                log.info("the managed org's name is not known: %s", exc)
        return self._org_name

    def _api(self, token: str) -> WebexAPI:
        with self._lock:
            if token not in self._apis:
                self._apis = {token: admin_api(self._settings, token)}  # keep only the current one
            return self._apis[token]
