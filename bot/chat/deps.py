"""What the change flow uses, handed to it explicitly (not the whole ``Services``): the handlers
and the change watcher build it from their services and one org's scope (its admin access and
its rows only); unit tests hand in fakes."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

from bot.chat.context import OrgScope, Services
from bot.chat.notifications import Notifier
from bot.storage.audit import AuditLog
from bot.storage.pending import PendingChanges
from bot.storage.snapshots import Snapshots
from bot.webex.admin import AdminAccess
from bot.webex.directory import Directory
from bot.webex.messenger import Messenger


@dataclass(frozen=True)
class ChangeFlowDeps:
    pending: PendingChanges  # the requests, claimed once
    admin: AdminAccess  # reads and changes the org's rules; knows the org
    directory: Directory  # the requester's roles, looked up afresh before applying
    audit: AuditLog
    snapshots: Snapshots  # the change watcher's copy of the rules
    messenger: Messenger  # deletes a spent confirmation card
    notifier: Notifier
    parallel: Executor  # the fresh rules read alongside the fresh role check

    @classmethod
    def of(cls, services: Services, org: OrgScope) -> ChangeFlowDeps:
        return cls(pending=org.pending, admin=org.admin, directory=services.directory,
                   audit=org.audit, snapshots=org.snapshots,
                   messenger=services.messenger, notifier=Notifier.of(services, org),
                   parallel=services.parallel)
