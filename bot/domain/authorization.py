"""Who may do what: a requester's roles, by name, in their org, if it is connected. Rules as data.

The requester is always the ``personId`` Webex reports for the message or the card submit, looked
up with the admin token; nothing typed into a message or a card can change who is asking.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

FULL_ADMIN = "Full Administrator"
# The roles the GET page names ("full, user or read-only administrator or location administrator").
VIEW_ROLES = frozenset({FULL_ADMIN, "Read-only Administrator", "User Administrator",
                        "Location Administrator"})
CHANGE_ROLES = frozenset({FULL_ADMIN})  # the PUT page: "requires a full administrator"


class Permission(Enum):
    # Anyone, even of an org that is not connected: `connect`, whose handler decides.
    ANY_ORG = "anyone, of any organization"
    ANYONE = "anyone in the org"
    VIEW = "a Full, Read-only, User or Location Administrator"
    CHANGE = "a Full Administrator"


@dataclass(frozen=True)
class Requester:
    """The person behind an event, as the admin token sees them."""

    person_id: str
    display_name: str
    email: str
    org_id: str
    person_type: str  # "person" or "bot"
    role_names: frozenset[str]

    @property
    def is_bot(self) -> bool:
        return self.person_type == "bot"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


# The chat adds who can connect it, and how (which depends on the deployment).
NOT_CONNECTED = "Your organization is not connected to this bot, so it cannot help you here."


def decide(requester: Requester, permission: Permission, *,
           managed_org_id: str | None) -> Decision:
    """May ``requester`` do something that needs ``permission`` in the org ``managed_org_id``
    (None: their org is not connected)? A refusal says why, and no more."""
    if managed_org_id is None:
        return Decision(permission is Permission.ANY_ORG,
                        "" if permission is Permission.ANY_ORG else NOT_CONNECTED)
    if requester.org_id != managed_org_id:
        return Decision(False, "This concerns another organization's settings, so I cannot "
                               "help you with it.")
    if permission in (Permission.ANYONE, Permission.ANY_ORG):
        return Decision(True)
    needed = VIEW_ROLES if permission is Permission.VIEW else CHANGE_ROLES
    if requester.role_names & needed:
        return Decision(True)
    return Decision(False, f"This needs {permission.value}. Your account has "
                           f"{describe_roles(requester.role_names)}.")


def describe_roles(role_names: frozenset[str]) -> str:
    if not role_names:
        return "no admin role"
    return "the role " + ", ".join(sorted(role_names)) if len(role_names) == 1 else \
        "the roles " + ", ".join(sorted(role_names))
