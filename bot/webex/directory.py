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
from bot.webex.admin_token import AdminNotAuthorized
from bot.webex.clients import sdk_call
from bot.webex.orgs import OrgRegistry

PEOPLE_TTL_SECONDS = 60.0
ROLES_TTL_SECONDS = 600.0
# Whose org a person is of changes rarely (an account moved between orgs); a stale guess costs one
# more lookup, never a wrong answer: the admin token's answer names the person's org.
ORG_OF_PERSON_TTL_SECONDS = 3600.0


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
    """Looks up requesters (person, org, type, admin roles by name) with the admin token of the
    org Webex says they belong to.

    Which org that is comes from Webex's person record, never from the event: with one org
    connected, its admin token reads the person (and says if they are of another org); with
    several, the person's org is remembered from an earlier lookup or read first with the bot's
    token (which sees any person's ``orgId``, not their roles), then their roles with that org's
    admin token. A person of an org that is not connected gets no roles and that org's id.
    """

    def __init__(self, orgs: OrgRegistry, bot: WebexAPI, *, parallel: Executor | None = None,
                 people_ttl: float = PEOPLE_TTL_SECONDS, roles_ttl: float = ROLES_TTL_SECONDS,
                 first_org_from_the_chat: bool = False):
        self._orgs = orgs
        self._bot = bot
        # With no org connected yet, a person is still looked up (with the bot's token) when the
        # first org may connect itself: `connect` is then the way in (see build_services).
        self._first_org_from_the_chat = first_org_from_the_chat
        self._parallel = parallel or ThreadPoolExecutor(max_workers=2, thread_name_prefix="roles")
        self._people = TTLCache(people_ttl)
        self._roles = TTLCache(roles_ttl)
        self._org_of = TTLCache(ORG_OF_PERSON_TTL_SECONDS)

    def likely_org(self, person_id: str) -> str | None:
        """The org ``person_id`` belonged to when last looked up, or the only connected org: the
        org whose admin token is asked first (a guess checked against Webex's answer)."""
        return self._org_of.get(person_id) or self._orgs.sole_org()

    def requester(self, person_id: str, *, fresh: bool = False) -> Requester:
        """The person behind ``person_id``; raise ``WebexCallError`` if Webex cannot say, and
        ``AdminNotAuthorized`` when no org is connected at all and the first may not connect
        itself.

        The role list does not depend on the person, so when it must be read too (``fresh``, or
        not cached) it is read at the same time as the person.
        """
        if not fresh:
            cached = self._people.get(person_id)
            # Looked up while their org was (not) connected, and it still is (not): else their
            # roles are read (again) with their org's token, or dropped.
            if cached is not None and cached[1] == (self._orgs.access(cached[0].org_id) is not None):
                return cached[0]
        org_id = self.likely_org(person_id)
        if org_id is None:
            # Read now: an org authorized a moment ago, in another process, answers at once.
            connected = self._orgs.connected(fresh=True)
            if not connected and not self._first_org_from_the_chat:
                raise AdminNotAuthorized()
            org_id = connected[0] if len(connected) == 1 else None
        if org_id is None:
            org_id = sdk_call(self._bot, lambda api: api.people.get(person_id)).orgId
        requester = self._look_up(person_id, org_id, fresh=fresh)
        if requester.org_id != org_id and self._orgs.access(requester.org_id) is not None:
            requester = self._look_up(person_id, requester.org_id, fresh=fresh)  # moved orgs
        self._org_of.put(person_id, requester.org_id)
        self._people.put(person_id, (requester, self._orgs.access(requester.org_id) is not None))
        return requester

    def _look_up(self, person_id: str, org_id: str, *, fresh: bool) -> Requester:
        """The person as ``org_id``'s admin token sees them (the bot's token when the org is not
        connected: then with no roles)."""
        access = self._orgs.access(org_id)
        if access is None:
            person = sdk_call(self._bot, lambda api: api.people.get(person_id))
            return _requester(person, frozenset())
        names = None if fresh else self._roles.get(org_id)
        roles_read = self._parallel.submit(self.load_role_names, org_id) if names is None else None
        person = access.sdk(lambda api: api.people.get(person_id))
        if roles_read is not None:
            names = roles_read.result()
        if person.orgId != org_id:
            return _requester(person, frozenset())  # another org's roles are not this token's to say
        role_ids = list(person.roles or [])
        # A role newer than the cached list: read them again (names is never None here, by the above).
        if names is None or any(role_id not in names for role_id in role_ids):
            names = self.load_role_names(org_id)
        return _requester(person, frozenset(names[role_id] for role_id in role_ids
                                            if role_id in names))

    def load_role_names(self, org_id: str | None = None) -> dict[str, str]:
        """Read an org's roles (id to name; default: the only connected org's) and cache them;
        also done once at start-up."""
        access = self._orgs.access(org_id) if org_id else self._orgs.sole_access()
        if access is None:
            return {}
        names = {role.id: role.name for role in access.sdk(lambda api: list(api.roles.list()))}
        self._roles.put(org_id or access.managed_org_id(), names)
        return names


def _requester(person: Any, role_names: frozenset[str]) -> Requester:
    return Requester(person_id=person.id, display_name=person.displayName or "",
                     email=(person.emails or [""])[0], org_id=person.orgId,
                     person_type=person.type or "person", role_names=role_names)
