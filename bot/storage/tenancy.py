"""Rows from before orgs were kept apart: given to the deployment's own org, once it is known.

The migration that added the org to every row (``0005_orgs``) fills it in when the database
itself says which org it served (a stored authorization, the watcher's one snapshot). When it
cannot, the rows stay unassigned (``org_id = ''``), seen by no org, until the bot learns its org
from its settings or from Webex and gives them to it here.
"""

from __future__ import annotations

from sqlalchemy import update

from bot.storage.models import AuditEntry, NotifySpace, PendingChange, Subscription
from bot.storage.store import Store, rows_matched

UNASSIGNED = ""


def claim_unassigned(store: Store, org_id: str) -> int:
    """Give every unassigned row to ``org_id``; how many there were (0 after the first time)."""
    with store.session() as session, session.begin():
        return sum(rows_matched(session, update(table).where(table.org_id == UNASSIGNED)
                                .values(org_id=org_id))
                   for table in (PendingChange, AuditEntry, Subscription, NotifySpace))
