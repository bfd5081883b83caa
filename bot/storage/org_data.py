"""Everything the bot keeps of one org, counted (to say it before a disconnect) and forgotten (at
the disconnect): its stored token pair, pending changes, history, subscriptions, notification
spaces, the watcher's copy of its rules and its open disconnect requests. Nothing of another org
is touched: every statement filters by the org."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select

from bot.storage.models import (
    AdminGrant,
    AuditEntry,
    DisconnectRequest,
    NotifySpace,
    PendingChange,
    RulesSnapshot,
    Subscription,
)
from bot.storage.pending import being_applied
from bot.storage.store import Store, rows_matched


@dataclass(frozen=True)
class OrgHoldings:
    """How much the bot keeps of an org."""

    token_pair: bool
    pending_changes: int
    history_entries: int
    subscribers: int
    notification_spaces: int
    rules_snapshot: bool


# (the table, its org column): the org's rows, each kind once.
_COUNTED = (("pending_changes", PendingChange, PendingChange.org_id),
            ("history_entries", AuditEntry, AuditEntry.org_id),
            ("subscribers", Subscription, Subscription.org_id),
            ("notification_spaces", NotifySpace, NotifySpace.org_id))
_ALSO_FORGOTTEN = ((AdminGrant, AdminGrant.name), (RulesSnapshot, RulesSnapshot.org_id),
                   (DisconnectRequest, DisconnectRequest.org_id))


def holdings(store: Store, org_id: str) -> OrgHoldings:
    with store.session() as session:
        counts = {name: session.scalar(select(func.count()).select_from(table)
                                       .where(column == org_id)) or 0
                  for name, table, column in _COUNTED}
        return OrgHoldings(token_pair=session.get(AdminGrant, org_id) is not None,
                           rules_snapshot=session.get(RulesSnapshot, org_id) is not None,
                           **counts)


class ChangeBeingApplied(Exception):
    """A change of the org is being applied: forgetting the org now would lose its record, or
    see it written back once the change is done."""


def forget_org(store: Store, org_id: str) -> OrgHoldings:
    """Delete everything kept of ``org_id``, in one transaction; what there was. Refused with
    ``ChangeBeingApplied`` (nothing deleted) while one of its changes is being applied."""
    with store.session() as session, session.begin():
        # The pair first: from this write on no other writer runs on SQLite, and on PostgreSQL
        # the org's requests are locked by the look below, so none is claimed between the look
        # and the deletes.
        forgotten = [rows_matched(session, delete(table).where(column == org_id))
                     for table, column in _ALSO_FORGOTTEN]
        if being_applied(session, org_id, lock=True):
            raise ChangeBeingApplied(org_id)  # the transaction is rolled back
        counts = {name: rows_matched(session, delete(table).where(column == org_id))
                  for name, table, column in _COUNTED}
        return OrgHoldings(token_pair=forgotten[0] > 0, rules_snapshot=forgotten[1] > 0,
                           **counts)
