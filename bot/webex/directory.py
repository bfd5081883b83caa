"""Who is asking: people and role names looked up with the admin token, cached briefly.

Reads may use a cached answer (60 s by default); applying a change asks with ``fresh=True`` so a
role removed a minute ago cannot be used to change the rules.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from webexpythonsdk import WebexAPI

from bot.domain.authorization import Requester
from bot.webex.admin import AdminAccess

PEOPLE_TTL_SECONDS = 60.0
ROLES_TTL_SECONDS = 600.0


class TTLCache:
    """A small thread-safe cache whose entries expire ``ttl`` seconds after they were stored."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl
        self._clock = clock
        self._items: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None or entry[0] < self._clock():
                self._items.pop(key, None)
                return None
            return entry[1]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = (self._clock() + self._ttl, value)


class Directory:
    """Looks up requesters (person, org, type, admin roles by name) with the admin token."""

    def __init__(self, admin: AdminAccess, *, parallel: Executor | None = None,
                 people_ttl: float = PEOPLE_TTL_SECONDS, roles_ttl: float = ROLES_TTL_SECONDS):
        self._admin = admin
        self._parallel = parallel or ThreadPoolExecutor(max_workers=2, thread_name_prefix="roles")
        self._people = TTLCache(people_ttl)
        self._roles = TTLCache(roles_ttl)

    def requester(self, person_id: str, *, fresh: bool = False) -> Requester:
        """The person behind ``person_id``; raise ``WebexCallError`` if Webex cannot say.

        The role list does not depend on the person, so when it must be read too (``fresh``, or
        not cached) it is read at the same time as the person.
        """
        if not fresh:
            cached = self._people.get(person_id)
            if cached is not None:
                return cached
        names = None if fresh else self._roles.get("all")
        roles_read = self._parallel.submit(self.load_role_names) if names is None else None
        person = self._call(lambda api: api.people.get(person_id))
        if roles_read is not None:
            names = roles_read.result()
        role_ids = list(person.roles or [])
        # A role newer than the cached list: read them again (names is never None here, by the above).
        if names is None or any(role_id not in names for role_id in role_ids):
            names = self.load_role_names()
        requester = Requester(
            person_id=person.id,
            display_name=person.displayName or "",
            email=(person.emails or [""])[0],
            org_id=person.orgId,
            person_type=person.type or "person",
            role_names=frozenset(names[role_id] for role_id in role_ids if role_id in names),
        )
        self._people.put(person_id, requester)
        return requester

    def load_role_names(self) -> dict[str, str]:
        """Read the org's roles (id to name) and cache them; also done once at start-up."""
        names = {role.id: role.name for role in self._call(lambda api: list(api.roles.list()))}
        self._roles.put("all", names)
        return names

    def _call(self, action: Callable[[WebexAPI], Any]) -> Any:
        return self._admin.sdk(action)
