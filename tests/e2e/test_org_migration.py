"""Upgrading a single-org deployment to orgs kept apart (migration ``0005_orgs``): its history,
subscriptions, notification spaces and pending changes are found intact under its org, on
SQLite and PostgreSQL, by the migration alone and by an operator's `flask db upgrade` before
gunicorn starts; another org sees none of them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from bot.storage.audit import AuditLog, Subscriptions
from bot.storage.pending import PendingChanges
from bot.storage.secret_box import SecretBox
from bot.storage.store import MIGRATIONS, Store, upgrade
from tests.support.bot_process import start_gunicorn_bot
from tests.support.bot_server import Persona, card_text
from tests.support.factories import SECRET_KEY

BEFORE_ORGS = "0004_notify_spaces"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def legacy_url(request, tmp_path):
    """A database at the schema before orgs (SQLite file, or a fresh PostgreSQL database)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
        _migrate_to(url, BEFORE_ORGS)
        yield url
        return
    from tests.support.databases import fresh_postgres_database

    with fresh_postgres_database() as (url, _name):
        _migrate_to(url, BEFORE_ORGS)
        yield url


def _migrate_to(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    engine = create_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


def _single_org_rows(url: str, emulator, *, snapshot_of: str | None = None) -> str:
    """What a single-org deployment has kept: a change in its history, a subscriber, a
    notification space, a pending change (its id returned) and, maybe, the watcher's snapshot."""
    now = datetime.now(UTC)
    engine = create_engine(url)
    with engine.begin() as db:
        db.execute(text(
            "INSERT INTO audit_entries (change_id, actor_id, actor_name, actor_email, room_id, "
            "room_type, kind, changes, before, after, applied_at) VALUES ('change-1', :alice, "
            "'Alice Fuller', 'alice@acme.example', :room, 'direct', 'change', :changes, '{}', "
            "'{}', :at)"), {"alice": emulator.id("alice"), "room": emulator.id("dm-alice"),
                            "at": now - timedelta(days=1), "changes": json.dumps(
                                [{"label": "Passcode expiry", "before": "100 days",
                                  "after": "61 days"}])})
        db.execute(text("INSERT INTO subscriptions (person_id, display_name, created_at) VALUES "
                        "(:rita, 'Rita Reed', :at)"), {"rita": emulator.id("rita"), "at": now})
        db.execute(text("INSERT INTO notify_spaces (room_id, title, added_by_id, added_by_name, "
                        "added_at) VALUES (:room, 'Voicemail policy changes', :alice, "
                        "'Alice Fuller', :at)"),
                   {"room": emulator.id("notify"), "alice": emulator.id("alice"), "at": now})
        db.execute(text(
            "INSERT INTO pending_changes (id, requester_id, requester_name, room_id, room_type, "
            "before, patch, pin_generated, kind, status, created_at, expires_at) VALUES "
            "('pending-1', :alice, 'Alice Fuller', :room, 'direct', '{}', "
            "'{\"expirePasscode\": {\"enabled\": true, \"numberOfDays\": 50}}', false, 'change', "
            "'pending', :at, :until)"), {"alice": emulator.id("alice"),
                                          "room": emulator.id("dm-alice"), "at": now,
                                          "until": now + timedelta(minutes=10)})
        if snapshot_of:
            db.execute(text("INSERT INTO rules_snapshots (org_id, rules, seen_at) VALUES "
                            "(:org, '{}', :at)"), {"org": snapshot_of, "at": now})
    engine.dispose()
    return "pending-1"


def _kept_under(url: str, org_id: str, other_org: str) -> None:
    store = Store(url)
    box = SecretBox(SECRET_KEY.encode())
    try:
        history = AuditLog(store, org_id).recent(5)
        assert [entry.change_id for entry in history] == ["change-1"]
        assert history[0].changes[0].after == "61 days"
        subscriptions = Subscriptions(store, org_id)
        assert len(subscriptions.people()) == 1 and len(subscriptions.spaces()) == 1
        assert PendingChanges(store, box, org_id).get("pending-1") is not None
        assert AuditLog(store, other_org).recent(5) == []
        assert Subscriptions(store, other_org).people() == []
        assert Subscriptions(store, other_org).spaces() == []
        assert PendingChanges(store, box, other_org).get("pending-1") is None
    finally:
        store.dispose()


def test_the_org_the_database_knows_is_filled_in_by_the_migration(emulator, legacy_url):
    acme, globex = emulator.id("acme"), emulator.id("globex")
    _single_org_rows(legacy_url, emulator, snapshot_of=acme)
    upgrade(legacy_url)
    _kept_under(legacy_url, acme, globex)


def test_an_upgraded_single_org_deployment_under_gunicorn_keeps_its_history(emulator, legacy_url,
                                                                             tmp_path):
    """The operator's `flask db upgrade` on a single-org database that never knew its org (0004),
    then gunicorn: the rows go to the org Webex names for WEBEX_ADMIN_TOKEN, as soon as the bot
    learns it, and its people find them."""
    acme, globex = emulator.id("acme"), emulator.id("globex")
    _single_org_rows(legacy_url, emulator)
    bot = start_gunicorn_bot(emulator, tmp_path, database_url=legacy_url)  # acme's admin token
    try:
        alice = Persona(emulator, "alice")
        alice.say("history")
        history = card_text(alice.wait_reply())
        assert "61 days" in history and "Alice Fuller" in history
        _kept_under(legacy_url, acme, globex)
        rita = Persona(emulator, "rita")
        rita.say("unsubscribe")
        assert "Unsubscribed" in rita.wait_reply()["markdown"]
    finally:
        bot.stop()
