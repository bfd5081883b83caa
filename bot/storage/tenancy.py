"""Rows from before orgs were kept apart: given to the deployment's own org, once it is known.

The migration that added the org to every row (``0005_orgs``) fills it in when the database
itself says which org it served (a stored authorization, the watcher's one snapshot). When it
cannot, the rows stay unassigned (``org_id = ''``), seen by no org, until the bot learns its org
from its settings or from Webex and gives them to it here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from bot.storage.models import AuditEntry, HomeOrg, NotifySpace, PendingChange, Subscription
from bot.storage.store import Store, rows_matched

UNASSIGNED = ""


def claim_unassigned(store: Store, org_id: str) -> int:
    """Give every unassigned row to ``org_id``; how many there were (0 after the first time)."""
    with store.session() as session, session.begin():
        return sum(rows_matched(session, update(table).where(table.org_id == UNASSIGNED)
                                .values(org_id=org_id))
                   for table in (PendingChange, AuditEntry, Subscription, NotifySpace))


def home_org(store: Store, alone: str | None) -> str | None:
    """The home org learned from the stored authorizations: the one kept, else ``alone`` (the
    org of the only stored authorization; None: there are several), kept now for good."""
    with store.session() as session:
        kept = session.get(HomeOrg, "home")
    if kept is None:
        try:
            with store.session() as session, session.begin():
                session.add(HomeOrg(name="home", org_id=alone or "", learned_at=datetime.now(UTC)))
        except IntegrityError:  # another process learned it first: theirs is kept
            return home_org(store, alone)
        return alone
    return kept.org_id or None


def learned_home_org(store: Store) -> str | None:
    """What ``home_org`` has kept, without learning anything: the org id; ``""`` when the bot
    found several orgs the first time it looked (there is none); None before it first looked."""
    with store.session() as session:
        kept = session.get(HomeOrg, "home")
    return None if kept is None else kept.org_id
