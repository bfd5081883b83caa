"""Wiring: build every service the handlers use from the settings, once per process."""

from __future__ import annotations

from .admin import AdminAccess
from .admin_token import AdminToken
from .audit import AuditLog, Subscriptions
from .config import Settings
from .context import Services
from .directory import Directory
from .messenger import Messenger
from .pending import PendingChanges
from .rules_client import RulesClient
from .secret_box import SecretBox
from .snapshots import Snapshots
from .store import Store
from .webex import bot_api


def build_services(settings: Settings, store: Store) -> Services:
    box = SecretBox.from_settings(settings)
    admin = AdminAccess(settings, AdminToken(settings, store, box),
                        RulesClient(base_url=settings.webex_base_url, org_id=settings.webex_org_id))
    return Services(
        settings=settings,
        messenger=Messenger(bot_api(settings)),
        admin=admin,
        directory=Directory(admin),
        pending=PendingChanges(store, box),
        audit=AuditLog(store),
        subscriptions=Subscriptions(store),
        snapshots=Snapshots(store),
    )
