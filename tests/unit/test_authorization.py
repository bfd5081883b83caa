"""Authorization as one table of cases: role × permission × org."""

from __future__ import annotations

import pytest

from bot.domain.authorization import Permission, Requester, decide

ORG = "org-acme"


def person(*roles: str, org: str = ORG) -> Requester:
    return Requester("p", "P", "p@x", org, "person", frozenset(roles))


FULL, READ, USER, LOC, DEVICE = ("Full Administrator", "Read-only Administrator",
                                 "User Administrator", "Location Administrator",
                                 "Device Administrator")


@pytest.mark.parametrize("roles, permission, allowed", [
    ((FULL,), Permission.CHANGE, True),
    ((FULL,), Permission.VIEW, True),
    ((READ,), Permission.VIEW, True),
    ((READ,), Permission.CHANGE, False),
    ((USER,), Permission.VIEW, True),
    ((USER,), Permission.CHANGE, False),
    ((LOC,), Permission.VIEW, True),
    ((LOC,), Permission.CHANGE, False),
    ((DEVICE,), Permission.VIEW, False),
    ((), Permission.VIEW, False),
    ((), Permission.ANYONE, True),
    ((READ, FULL), Permission.CHANGE, True),
])
def test_roles_table(roles, permission, allowed):
    assert decide(person(*roles), permission, managed_org_id=ORG).allowed is allowed


@pytest.mark.parametrize("permission", list(Permission))
def test_other_orgs_are_refused_whatever_their_roles(permission):
    decision = decide(person(FULL, org="org-globex"), permission, managed_org_id=ORG)
    assert not decision.allowed and "another organization" in decision.reason


def test_refusal_names_the_role_needed_and_held():
    decision = decide(person(READ), Permission.CHANGE, managed_org_id=ORG)
    assert "Full Administrator" in decision.reason and READ in decision.reason


@pytest.mark.parametrize("permission", list(Permission))
def test_of_an_org_not_connected_only_connect_is_allowed(permission):
    decision = decide(person(FULL, org="org-globex"), permission, managed_org_id=None)
    assert decision.allowed is (permission is Permission.ANY_ORG)
    assert decision.allowed or "not connected" in decision.reason
