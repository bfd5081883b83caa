"""``/healthz``'s ``components.admin_token`` with several orgs connected: one org's refused or
expiring pair is not hidden behind another's good one, nor a good one behind a bad one; the
component counts and dates, naming no org (without OPS_TOKEN anyone reads it), and stays one
query however many orgs are connected (load balancers read it)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from bot.app import create_app
from bot.ops.admin_health import admin_token_health
from bot.ops.preflight import org_label
from bot.storage.admin_grants import AdminGrants, TokenPair
from bot.storage.secret_box import SecretBox
from bot.storage.store import Store
from tests.support.databases import migrated_sqlite_url
from tests.support.factories import make_settings

REFUSED = ("Webex refused to refresh the admin token (invalid_grant): an operator runs "
           "`flask --app app admin service-app` (after a Full Administrator authorizes the "
           "Service App in Control Hub)")
STORED_ONLY = {"webex_admin_token": None, "webex_admin_client_id": "vmrules-sa-client-id",
               "webex_admin_client_secret": "vmrules-sa-client-secret"}


def org_id() -> str:
    """A new org id in Webex's shape (its label, the uuid inside, is what Control Hub shows)."""
    return base64.b64encode(f"ciscospark://us/ORGANIZATION/{uuid.uuid4()}".encode()).decode() \
        .rstrip("=")


class Deployment:
    def __init__(self, tmp_path, **settings):
        url = migrated_sqlite_url(tmp_path / "bot.sqlite3")
        self.settings = make_settings(tmp_path, database_url=url, **settings)
        self.store = Store(url)
        self.grants = AdminGrants(self.store, SecretBox.from_settings(self.settings))
        self.orgs: dict[str, str] = {}  # org id -> name

    def connect(self, name: str, *, access_in: timedelta = timedelta(days=13),
                refresh_in: timedelta = timedelta(days=90), kind: str = "service-app",
                org: str | None = None) -> str:
        now, org = datetime.now(UTC), org or org_id()
        pair = TokenPair(f"access-{name}", f"refresh-{name}", now + access_in, 14 * 24 * 3600,
                         now + refresh_in)
        self.grants.save(kind=kind, client_id="vmrules-sa-client-id", pair=pair,
                         owner_id=f"machine-{name}", owner_name=f"Service App in {name}",
                         org_id=org, scopes=("spark-admin:people_read",), org_name=name)
        self.orgs[org] = name
        return org

    def healthz(self) -> dict:
        app = create_app(self.settings, processor=lambda event: "ignored")  # no job, no Webex
        try:
            response = app.test_client().get("/healthz")
        finally:
            app.extensions["vmbot.background"].stop()
        assert response.status_code == 200
        component = response.json["components"]["admin_token"]
        for org, name in self.orgs.items():  # counts and dates only: no org named
            for named in (org, org_label(org), name):
                assert named not in str(component), component
        return component


@pytest.fixture
def stored_only(tmp_path):
    deployment = Deployment(tmp_path, **STORED_ONLY)
    yield deployment
    deployment.store.dispose()


@pytest.mark.parametrize("refused_first", [True, False])
def test_a_refused_pair_is_not_hidden_behind_a_good_one_nor_a_good_one_behind_it(
        stored_only, refused_first):
    names = ["Initech", "Acme"] if refused_first else ["Acme", "Initech"]
    orgs = {name: stored_only.connect(name) for name in names}
    stored_only.grants.set_problem(orgs["Initech"], REFUSED)

    health = stored_only.healthz()

    assert health["ok"] is False
    assert health["orgs"] == 2 and health["orgs_with_problem"] == 1
    assert health["source"] == "service-app" and health["sources"] == {"service-app": 2}
    assert health["problem"] == ("1 of 2 connected orgs need an operator (1 refused refresh(es)): "
                                 "`flask --app app admin status` (or `flask --app app orgs list`)"
                                 " says which, and what to run")


def test_the_home_orgs_token_does_not_hide_another_orgs_refused_pair(tmp_path):
    deployment = Deployment(tmp_path)  # WEBEX_ADMIN_TOKEN connects the home org
    initech = deployment.connect("Initech")
    deployment.grants.set_problem(initech, REFUSED)

    health = deployment.healthz()

    assert health["ok"] is False and health["orgs"] == 2 and health["orgs_with_problem"] == 1
    assert health["source"] == "several"
    assert health["sources"] == {"settings": 1, "service-app": 1}
    deployment.store.dispose()


def test_the_soonest_expiry_and_an_expiring_refresh_token_among_good_ones(stored_only):
    for number in range(3):
        stored_only.connect(f"Org {number}", access_in=timedelta(days=10 + number))
    soonest = stored_only.connect("Umbrella", access_in=timedelta(hours=2),
                                  refresh_in=timedelta(days=3))
    stored_only.connect("Initech")
    stored_only.grants.set_problem(next(o for o, n in stored_only.orgs.items() if n == "Initech"),
                                   REFUSED)

    health = stored_only.healthz()

    assert health["ok"] is False and health["orgs"] == 5 and health["orgs_with_problem"] == 2
    assert "(1 refused refresh(es), 1 refresh token(s) expiring within 7 days)" in health["problem"]
    umbrella = stored_only.grants.get(soonest)
    assert umbrella is not None and umbrella.pair.refresh_expires_at is not None
    assert health["access_expires_at"] == umbrella.pair.access_expires_at.isoformat()
    assert health["refresh_expires_at"] == umbrella.pair.refresh_expires_at.isoformat()


def test_every_org_good_is_ok(stored_only):
    for name in ("Acme", "Initech", "Globex"):
        stored_only.connect(name)

    health = stored_only.healthz()

    assert health["ok"] is True and health["orgs"] == 3 and health["orgs_with_problem"] == 0
    assert "problem" not in health


def test_a_single_org_sees_its_source_expiry_and_what_to_run(stored_only):
    org = stored_only.connect("Acme", kind="integration")
    stored_only.grants.set_problem(org, REFUSED)
    grant = stored_only.grants.get(org)
    assert grant is not None

    health = stored_only.healthz()

    assert health["ok"] is False and health["orgs"] == 1 and health["source"] == "integration"
    assert health["problem"] == REFUSED  # its own words: what to run
    assert health["access_expires_at"] == grant.pair.access_expires_at.isoformat()


def test_the_settings_token_alone(tmp_path):
    deployment = Deployment(tmp_path, webex_org_id=org_id())

    health = deployment.healthz()

    assert health["ok"] is True and health["orgs"] == 1 and health["source"] == "settings"
    assert health["access_expires_at"] is None  # the settings' token's expiry is not known
    deployment.store.dispose()


def test_a_pair_stored_for_the_home_org_of_the_settings_is_not_counted_twice(tmp_path):
    home = org_id()
    deployment = Deployment(tmp_path, webex_org_id=home)
    deployment.connect("Home", org=home)  # stored before WEBEX_ADMIN_TOKEN was set: unused
    deployment.connect("Globex")

    health = deployment.healthz()

    assert health["orgs"] == 2 and health["sources"] == {"settings": 1, "service-app": 1}
    deployment.store.dispose()


def test_nothing_connected(stored_only):
    health = stored_only.healthz()

    assert health["ok"] is False and health["orgs"] == 0 and health["source"] is None
    assert "not yet authorized" in health["problem"]


def test_it_is_one_query_however_many_orgs(stored_only):
    for number in range(200):
        stored_only.connect(f"Org {number}")
    seen: list[str] = []
    event.listen(stored_only.store.engine, "before_cursor_execute",
                 lambda _conn, _cursor, statement, *_rest: seen.append(statement))

    health = admin_token_health(stored_only.settings, stored_only.store)

    assert health["orgs"] == 200 and health["ok"] is True
    assert len(seen) == 1, seen  # no pair opened, no org read one by one
