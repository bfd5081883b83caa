"""Vetting a new admin token before it is stored: who it acts as, in which org, whether it
carries the scopes the bot needs, and (for an Integration) whether the person who allowed it is a
Full Administrator.

Webex's token answer does not list the scopes granted (WEBEX_FACTS), so when it does not, they
are checked by their effect, as ``check`` does: roles on ``GET /people/{id}`` (people_read),
``GET /roles`` (roles_read), the rules read (telephony_config_read). The write scope, and the
optional audit_events_read, can only be taken as asked: a probing write would land in the org's
audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.config import Settings
from bot.domain.authorization import FULL_ADMIN
from bot.webex import oauth
from bot.webex.clients import admin_api, sdk_call
from bot.webex.errors import WebexCallError
from bot.webex.rules_client import RulesClient

log = logging.getLogger(__name__)


@dataclass
class Vetted:
    """Who a new token acts as, and whether the bot can work with it (``refusal`` None)."""

    owner_id: str = ""
    owner_name: str = ""
    owner_email: str = ""
    org_id: str = ""
    roles: list[str] = field(default_factory=list)
    scopes: tuple[str, ...] = ()
    refusal: str | None = None


def vet(settings: Settings, token: str, *, kind: str, asked: tuple[str, ...],
        granted: tuple[str, ...] | None) -> Vetted:
    api = admin_api(settings, token)
    try:
        me = sdk_call(api, lambda a: a.people.me())
    except WebexCallError as exc:
        return Vetted(refusal=f"Webex refused to tell who the new token belongs to ({exc})")
    vetted = Vetted(owner_id=me.id, owner_name=me.displayName or "",
                    owner_email=(me.emails or [""])[0], org_id=me.orgId)
    person, person_error = _attempt(lambda: sdk_call(api, lambda a: a.people.get(me.id)))
    role_names, roles_error = _attempt(
        lambda: {r.id: r.name for r in sdk_call(api, lambda a: list(a.roles.list()))})
    rules = RulesClient(base_url=settings.webex_base_url, org_id=None,
                        timeout=settings.webex_timeout_seconds)
    _, rules_error = _attempt(lambda: rules.get(token))
    who = f"{vetted.owner_name} ({vetted.owner_email})"
    roles_seen = person is not None and person.roles is not None
    if roles_seen and role_names is not None:
        vetted.roles = [role_names.get(role_id, role_id) for role_id in person.roles]
    if kind == "integration":
        if not roles_seen:
            vetted.refusal = (f"the admin roles of {who} cannot be seen with this token: "
                              f"{vetted.owner_name} is not an administrator of the org, or the "
                              "spark-admin:people_read scope was not granted. A Full "
                              "Administrator must allow the access.")
            return vetted
        if role_names is not None and FULL_ADMIN not in vetted.roles:
            has = ", ".join(vetted.roles) or "no admin role"
            vetted.refusal = (f"{who} has {has}, not {FULL_ADMIN}: a {FULL_ADMIN} of the org "
                              "must allow the access.")
            return vetted
    missing = []
    if granted is not None:
        missing = [scope for scope in oauth.REQUIRED_SCOPES if scope not in granted]
    else:
        if person_error or (kind == "service-app" and person is None):
            missing.append("spark-admin:people_read")
        if roles_error:
            missing.append("spark-admin:roles_read")
        if rules_error:
            missing.append("spark-admin:telephony_config_read")
    if missing:
        vetted.refusal = ("the token lacks scopes the bot needs: " + ", ".join(missing)
                          + " (allow every scope the authorization asks for)")
        return vetted
    vetted.scopes = granted if granted is not None else asked
    return vetted


def _attempt(action):
    try:
        return action(), None
    except WebexCallError as exc:
        return None, str(exc)



def role_names_of(settings: Settings, token: str, person_id: str) -> frozenset[str]:
    """The admin roles of ``person_id`` (by name) as an admin token of their org sees them."""
    api = admin_api(settings, token)
    person = sdk_call(api, lambda a: a.people.get(person_id))
    names = {role.id: role.name for role in sdk_call(api, lambda a: list(a.roles.list()))}
    return frozenset(names.get(role_id, role_id) for role_id in person.roles or [])


def org_name(settings: Settings, token: str, org_id: str) -> str | None:
    """The org's display name (Webex's Organizations API), or None when Webex does not say."""
    try:
        return sdk_call(admin_api(settings, token),
                        lambda a: a.organizations.get(org_id)).displayName or None
    except WebexCallError as exc:
        log.info("the name of a newly connected org is not known: %s", exc)
        return None
