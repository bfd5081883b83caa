"""The stored admin pair refreshed ahead of its expiry by exactly one of several token holders
at once (a lease and a compare-and-set), against the emulator over HTTP."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from bot.storage.admin_grants import AdminGrants, TokenPair
from bot.storage.secret_box import SecretBox
from bot.storage.store import Store
from bot.webex.admin_token import AdminToken
from tests.support.databases import migrated_sqlite_url
from tests.support.factories import make_settings


def test_many_holders_refresh_a_due_pair_once(emulator, tmp_path):
    url = migrated_sqlite_url(tmp_path / "bot.sqlite3")
    settings = make_settings(tmp_path, webex_base_url=emulator.base_url, database_url=url,
                             webex_admin_token=None, webex_admin_client_id="vmrules-client-id",
                             webex_admin_client_secret="vmrules-client-secret")
    store = Store(url)
    box = SecretBox.from_settings(settings)
    due = TokenPair("refreshable-admin-token", "admin-refresh-token",
                    datetime.now(UTC) + timedelta(minutes=5), 3600, None)
    AdminGrants(store, box).save(kind="integration", client_id="vmrules-client-id", pair=due,
                                 owner_id=emulator.id("alice"), owner_name="Alice Fuller",
                                 org_id=emulator.id("acme"), scopes=("s",))
    emulator.control("DELETE", "calls")
    holders = [AdminToken(settings, store, box) for _ in range(4)]  # as four processes
    got: list[str] = []
    threads = [threading.Thread(target=lambda h=h: got.append(h.current())) for h in holders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert emulator.calls().get("POST /v1/access_token") == 1
    stored = AdminGrants(store, box).get()
    assert stored is not None and stored.version == 2
    assert stored.pair.access_token != "refreshable-admin-token"
    # each holder used the new token, or the old one while it was still valid
    assert set(got) <= {stored.pair.access_token, "refreshable-admin-token"} and len(got) == 4
    store.dispose()
