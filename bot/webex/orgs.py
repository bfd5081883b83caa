"""The org registry: which orgs are connected to this deployment, and each one's admin access.

An org is connected by an admin token of its own: ``WEBEX_ADMIN_TOKEN`` (or
``WEBEX_ADMIN_REFRESH_TOKEN``) connects one org, ``WEBEX_ORG_ID`` or the token's own; each pair
stored by ``admin authorize`` / ``admin service-app`` (``AdminGrants``, one per org) connects its
org. When the settings' org also has a stored pair, the settings win (as before orgs were kept
apart). A request is served with the admin access of the org Webex says the requester belongs
to, never of another.

The deployment's *home* org is the operator's own: ``NOTIFY_ROOM_IDS`` belong to it, and rows
kept from before orgs were kept apart are given to it (``bot.storage.tenancy``).
"""

from __future__ import annotations

import logging
import threading
import time

from bot.config import Settings
from bot.storage.admin_grants import AdminGrants
from bot.storage.secret_box import SecretBox
from bot.storage.store import Store
from bot.storage.tenancy import claim_unassigned, home_org
from bot.webex.admin import AdminAccess
from bot.webex.admin_token import AdminToken
from bot.webex.rules_client import RulesClient

log = logging.getLogger(__name__)
# The stored authorizations are read again this often (one small query): an org connected or
# disconnected by another process or instance is seen within this time.
GRANTS_RECHECK_SECONDS = 5.0


class OrgRegistry:
    def __init__(self, settings: Settings, store: Store, box: SecretBox, rules: RulesClient):
        self._settings = settings
        self._store = store
        self._box = box
        self._rules = rules
        self._grants = AdminGrants(store, box)
        self._settings_access = (AdminAccess(settings, AdminToken(settings, store, box), rules)
                                 if settings.admin_token_configured else None)
        self._granted: dict[str, AdminAccess] = {}
        self._lock = threading.Lock()
        self._grant_orgs: tuple[float, tuple[str, ...]] | None = None
        self._home_claimed = False
        self._home_learned: str | None = None  # "" once learned that there is none

    def settings_org_id(self) -> str | None:
        """The org ``WEBEX_ADMIN_TOKEN`` connects (asked of Webex once, unless ``WEBEX_ORG_ID``
        names it), or None without a token in the settings."""
        return self._settings_access.managed_org_id() if self._settings_access else None

    def connected(self, *, fresh: bool = False) -> list[str]:
        """Every connected org: the settings' first, then the stored ones, first authorized first
        (``fresh``: the stored ones read now, not a few seconds ago)."""
        orgs = [org_id for org_id in (self.settings_org_id(),) if org_id]
        return orgs + [org_id for org_id in self.granted_orgs(fresh=fresh) if org_id not in orgs]

    def granted_orgs(self, *, fresh: bool = False) -> tuple[str, ...]:
        """The orgs with a stored authorization (read again every few seconds, or now)."""
        with self._lock:
            if fresh or self._grant_orgs is None or self._grant_orgs[0] < time.monotonic():
                self._grant_orgs = (time.monotonic() + GRANTS_RECHECK_SECONDS,
                                    tuple(self._grants.orgs()))
            return self._grant_orgs[1]

    def access(self, org_id: str) -> AdminAccess | None:
        """``org_id``'s admin access, or None when the org is not connected."""
        if self._settings_access is not None and org_id == self.settings_org_id():
            return self._settings_access
        if org_id not in self.granted_orgs():
            if not self._grants.has(org_id):
                return None
            self.recheck(org_id)  # connected a moment ago (another process, the OAuth callback)
        with self._lock:
            if org_id not in self._granted:
                token = AdminToken(self._settings, self._store, self._box, org_id)
                # The stored pair is the org's own token: its own org, no orgId to name.
                self._granted[org_id] = AdminAccess(self._settings, token,
                                                    self._rules.for_org(None), org_id=org_id)
            return self._granted[org_id]

    def recheck(self, org_id: str) -> None:
        """Read the stored authorizations again now: ``org_id`` was just connected or
        disconnected in this process (others see it within ``GRANTS_RECHECK_SECONDS``)."""
        with self._lock:
            self._grant_orgs = None
            self._granted.pop(org_id, None)

    def served_by_grant(self, org_id: str) -> bool:
        """Whether ``org_id`` is served by its stored pair (not by the settings' token)."""
        access = self.access(org_id)
        return access is not None and access is not self._settings_access

    def sole_org(self) -> str | None:
        """The one connected org, when there is exactly one (a single-org deployment)."""
        connected = self.connected()
        return connected[0] if len(connected) == 1 else None

    def sole_access(self) -> AdminAccess | None:
        """The only connected org's admin access; for the settings' token alone, without waiting
        for Webex to say which org that is (start-up reads it meanwhile)."""
        if self._settings_access is not None and not self.granted_orgs():
            return self._settings_access
        org_id = self.sole_org()
        return self.access(org_id) if org_id else None

    def _home_by_grant(self) -> str | None:
        """The org of the stored authorization the bot found alone the first time it looked
        (with several: none), kept in the database for good: when that org is disconnected and
        another's authorization is left alone, the other does not become the home org."""
        if self._home_learned is None:
            granted = self.granted_orgs()
            if not granted:
                return None  # nothing connected yet: nothing to learn
            self._home_learned = home_org(self._store, granted[0] if len(granted) == 1 else None) \
                or ""
        return self._home_learned or None

    def home_org_id(self) -> str | None:
        """The operator's own org: ``WEBEX_ORG_ID``, else the org of ``WEBEX_ADMIN_TOKEN``, else
        the org of the stored authorization found alone when the bot first looked (kept, see
        ``_home_by_grant``); None when none says.

        The first time it is known in a process, rows from before orgs were kept apart are given
        to it (a no-op after the first time)."""
        home = self._settings.webex_org_id or self.settings_org_id() or self._home_by_grant()
        if home is not None and not self._home_claimed:
            claimed = claim_unassigned(self._store, home)
            if claimed:
                log.info("%d row(s) kept from before orgs were kept apart given to the home org",
                         claimed)
            self._home_claimed = True
        return home
