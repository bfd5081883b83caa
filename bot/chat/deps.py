"""What the change flow uses, handed to it explicitly (not the whole ``Services``): the handlers
and the change watcher build it from their services; unit tests hand in fakes."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

from bot.chat.context import Services
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
    admin: AdminAccess  # reads and changes the rules; knows the managed org
    directory: Directory  # the requester's roles, looked up afresh before applying
    audit: AuditLog
    snapshots: Snapshots  # the change watcher's copy of the rules
    messenger: Messenger  # deletes a spent confirmation card
    notifier: Notifier
    parallel: Executor  # the fresh rules read alongside the fresh role check

    @classmethod
    def of(cls, services: Services) -> ChangeFlowDeps:
        return cls(pending=services.pending, admin=services.admin, directory=services.directory,
                   audit=services.audit, snapshots=services.snapshots,
                   messenger=services.messenger, notifier=Notifier.of(services),
                   parallel=services.parallel)
