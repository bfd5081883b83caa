"""The periodic admin token check over many orgs' stored pairs, against the emulator over HTTP:
a pair is opened only when it needs a look (a refresh due, a problem not yet told), so with a
thousand orgs connected the check that runs every few seconds beside the people's requests
stays one query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from bot.chat.services import build_services
from bot.jobs.admin_token_check import check_admin_token
from bot.storage.admin_grants import AdminGrants, TokenPair
from bot.storage.secret_box import SecretBox
from bot.storage.store import Store
from tests.support.databases import migrated_sqlite_url
from tests.support.factories import make_settings

CLIENT_ID = "vmrules-client-id"
FORTNIGHT = 14 * 24 * 3600


@pytest.fixture
def deployment(emulator, tmp_path):
    url = migrated_sqlite_url(tmp_path / "bot.sqlite3")
    settings = make_settings(tmp_path, webex_base_url=emulator.base_url, database_url=url,
                             webex_admin_token=None, webex_admin_client_id=CLIENT_ID,
                             webex_admin_client_secret="vmrules-client-secret")
    store = Store(url)
    yield settings, store, AdminGrants(store, SecretBox.from_settings(settings))
    store.dispose()


def _save(grants: AdminGrants, org_id: str, *, expires_in: timedelta, lifetime: int = FORTNIGHT,
          refresh_expires_in: timedelta = timedelta(days=90), owner_id: str = "owner",
          access: str = "admin-token", refresh: str = "admin-refresh-token") -> None:
    now = datetime.now(UTC)
    pair = TokenPair(access, refresh, now + expires_in, lifetime, now + refresh_expires_in)
    grants.save(kind="integration", client_id=CLIENT_ID, pair=pair, owner_id=owner_id,
                owner_name="Alice Fuller", org_id=org_id, scopes=("s",))


def _statements(store: Store) -> list[str]:
    seen: list[str] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda _conn, _cursor, statement, *_rest: seen.append(statement))
    return seen


def test_nothing_due_costs_one_query_for_all_orgs(emulator, deployment):
    settings, store, grants = deployment
    for number in range(30):
        _save(grants, f"org-{number}", expires_in=timedelta(days=13))
    services = build_services(settings, store)
    emulator.control("DELETE", "calls")
    statements = _statements(store)

    assert check_admin_token(services, store) is None

    assert len(statements) == 1, statements  # no pair opened, no org looked up
    assert emulator.calls() == {}


def test_a_due_pair_is_refreshed_and_a_new_problem_marked_among_quiet_ones(emulator, deployment):
    settings, store, grants = deployment
    for number in range(10):
        _save(grants, f"org-{number}", expires_in=timedelta(days=13))
    acme = emulator.id("acme")
    _save(grants, acme, expires_in=timedelta(minutes=5), lifetime=3600,
          owner_id=emulator.id("alice"), access="refreshable-admin-token")
    _save(grants, "org-expiring", expires_in=timedelta(days=13),
          refresh_expires_in=timedelta(days=3))
    services = build_services(settings, store)
    emulator.control("DELETE", "calls")

    problem = check_admin_token(services, store)

    assert emulator.calls().get("POST /v1/access_token") == 1
    refreshed = grants.get(acme)
    assert refreshed is not None and refreshed.version == 2
    assert refreshed.pair.access_token != "refreshable-admin-token"
    assert problem is not None and "refresh token expires on" in problem
    expiring = grants.get("org-expiring")
    assert expiring is not None and expiring.announced_problem == problem
    # told once: the next round has nothing to look at
    statements = _statements(store)
    assert check_admin_token(services, store) is None
    assert len(statements) == 1, statements
