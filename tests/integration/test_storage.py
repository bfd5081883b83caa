"""Storage on both SQLite and PostgreSQL: the inbox's exclusive claims, leases, pending changes."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, event, update

from bot.domain.events import parse_envelope
from bot.inbox.queue import Inbox
from bot.storage.leases import Leases
from bot.storage.models import Base, InboxEvent
from bot.storage.pending import PendingChanges
from bot.storage.secret_box import SecretBox
from bot.storage.store import Store, upgrade
from tests.support.factories import envelope
from tests.support.waiting import wait_until


@pytest.fixture
def store(database_url):
    store = Store(database_url)
    yield store
    store.dispose()


def record(inbox: Inbox, data_id: str) -> int | None:
    raw = json.dumps(envelope(data_id=data_id)).encode()
    return inbox.record(parse_envelope(raw), raw)


def test_migrations_match_the_models(store, database_url):
    upgrade(database_url)  # a second run changes nothing
    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_an_event_is_stored_once(store):
    inbox = Inbox(store)
    assert record(inbox, "a") is not None
    assert record(inbox, "a") is None
    assert inbox.counts() == {"pending": 1}


def test_concurrent_claims_never_share_an_event(store):
    inbox = Inbox(store)
    for number in range(60):
        record(inbox, f"event-{number}")
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer(owner: str) -> None:
        while (item := inbox.claim(owner, timedelta(seconds=30))) is not None:
            with lock:
                claimed.append(item.row_id)
            inbox.done(item.row_id, owner)

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 60
    assert inbox.counts() == {"done": 60}


def test_an_abandoned_claim_is_taken_over_after_its_lease(store):
    inbox = Inbox(store)
    row = record(inbox, "x")
    first = inbox.claim("dead-worker", timedelta(seconds=-1))  # its lease is already over
    assert first.row_id == row
    second = inbox.claim("live-worker", timedelta(seconds=30))
    assert second.row_id == row and second.attempts == 2
    assert not inbox.done(row, "dead-worker")  # the old claimer cannot write over the new one
    assert inbox.done(row, "live-worker")


def test_a_live_claim_is_not_taken(store):
    inbox = Inbox(store)
    record(inbox, "y")
    assert inbox.claim("w1", timedelta(seconds=30)) is not None
    assert inbox.claim("w2", timedelta(seconds=30)) is None


def test_retry_later_waits_for_its_time(store):
    inbox = Inbox(store)
    row = record(inbox, "z")
    inbox.claim("w", timedelta(seconds=30))
    inbox.retry_later(row, "w", "boom", timedelta(seconds=60))
    assert inbox.claim("w", timedelta(seconds=30)) is None


def test_leases_have_one_holder(store):
    leases = Leases(store)
    assert leases.acquire("job", "a", timedelta(seconds=30))
    assert not leases.acquire("job", "b", timedelta(seconds=30))
    assert leases.acquire("job", "a", timedelta(seconds=30))  # renewal
    assert leases.acquire("other", "b", timedelta(seconds=30))
    assert leases.acquire("expired", "a", timedelta(seconds=-1))
    assert leases.acquire("expired", "b", timedelta(seconds=30))


def test_a_pending_change_is_claimed_once(store):
    from cryptography.fernet import Fernet

    pending = PendingChanges(store, SecretBox(Fernet.generate_key()), "org-acme")
    change = pending.create(requester_id="p", requester_name="P", room_id="r", room_type="direct",
                            thread_id=None, before={}, patch={"defaultVoicemailPin": "908172"})
    results = []
    threads = [threading.Thread(target=lambda: results.append(pending.claim(change.id)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1
    assert pending.pin(change.id) == "908172"
    assert pending.resolve(change.id, "applied")
    assert pending.pin(change.id) is None


def test_deliveries_arriving_together_are_each_stored_once(store):
    """Group commit: concurrent records share transactions; each event gets one id, its
    duplicates None, whatever order they arrive in."""
    inbox = Inbox(store)
    results: dict[str, list] = {}
    lock = threading.Lock()
    start = threading.Barrier(24)

    def deliver(number: int) -> None:
        data_id = f"together-{number % 12}"  # every event twice, at once
        start.wait(timeout=10)
        row_id = record(inbox, data_id)
        with lock:
            results.setdefault(data_id, []).append(row_id)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 12
    for row_ids in results.values():
        assert sorted(row_ids, key=lambda r: r is None)[1:] == [None]
    ids = [next(r for r in row_ids if r is not None) for row_ids in results.values()]
    assert len(set(ids)) == 12 and inbox.counts() == {"pending": 12}


def test_one_batch_with_new_stored_and_repeated_events(store, monkeypatch):
    """A batch is one statement: new events get ids; an event stored before, and the second copy
    of one repeated within the batch, get None."""
    inbox = Inbox(store)
    old = record(inbox, "batch-old")
    batches = []
    commit = inbox._commit
    monkeypatch.setattr(inbox, "_commit", lambda batch: batches.append(len(batch)) or commit(batch))
    arrived = threading.Barrier(6)  # the five deliveries and this test
    gate = threading.Lock()
    results: dict[str, list] = {}

    def deliver(data_id: str) -> None:
        arrived.wait(timeout=10)
        row_id = record(inbox, data_id)
        with gate:
            results.setdefault(data_id, []).append(row_id)

    # Holding the commit turn makes the five wait together, so that they form one batch.
    with inbox._committer:
        threads = [threading.Thread(target=deliver, args=(data_id,)) for data_id in
                   ("batch-a", "batch-b", "batch-a", "batch-old", "batch-c")]
        for thread in threads:
            thread.start()
        arrived.wait(timeout=10)
        wait_until(lambda: len(inbox._arrivals) == 5, "the five deliveries waiting together",
                   detail=lambda: len(inbox._arrivals))
    for thread in threads:
        thread.join(timeout=30)
    assert batches == [5]
    assert results["batch-old"] == [None]
    assert sorted(results["batch-a"], key=lambda r: r is None)[1:] == [None]
    new_ids = [results["batch-a"][0] or results["batch-a"][1], results["batch-b"][0],
               results["batch-c"][0]]
    assert None not in new_ids and len(set(new_ids + [old])) == 4
    assert inbox.counts() == {"pending": 4}


def test_events_done_long_ago_are_forgotten_and_nothing_else(store):
    inbox = Inbox(store)
    old, recent, failed, waiting = (record(inbox, f"forget-{n}") for n in range(4))
    for row_id in (old, recent, failed):
        claimed = inbox.claim("me", timedelta(seconds=30), row_id)
        assert claimed is not None
    inbox.done(old, "me")
    inbox.done(recent, "me")
    inbox.failed(failed, "me", "gave up")
    with store.engine.begin() as connection:  # processed eight days ago, failed too
        connection.execute(update(InboxEvent).where(InboxEvent.id.in_([old, failed])).values(
            processed_at=datetime.now(UTC) - timedelta(days=8)))
    assert inbox.forget_done(timedelta(days=7)) == 1
    assert inbox.counts() == {"done": 1, "failed": 1, "pending": 1}
    assert record(inbox, "forget-1") is None  # a recent event's duplicate is still dropped


@pytest.mark.parametrize("failure", ["database gone", "every connection busy"])
def test_a_failed_commit_fails_every_delivery_in_it(store, monkeypatch, failure):
    from sqlalchemy.exc import OperationalError, TimeoutError

    from bot.storage.store import StoreUnavailable

    inbox = Inbox(store)

    def unreachable():
        if failure == "database gone":
            raise OperationalError("INSERT", {}, Exception("database is gone"))
        raise TimeoutError("QueuePool limit reached, connection timed out")

    monkeypatch.setattr(store.engine, "begin", unreachable)
    errors = []

    def deliver(number: int) -> None:
        try:
            record(inbox, f"lost-{number}")
        except StoreUnavailable as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(errors) == 6  # none answered as stored (nor as a duplicate)
    monkeypatch.undo()
    assert inbox.counts() == {}


def test_sqlite_writers_take_turns_across_processes(tmp_path):
    """Two stores on one file stand for two processes: the second writer waits in the queue
    (an flock next to the database) until the first has committed."""
    import time

    url = f"sqlite:///{tmp_path / 'turns.sqlite3'}"
    upgrade(url)
    first, second = Store(url), Store(url)
    order: list[str] = []

    def hold() -> None:
        with first.writing():
            order.append("first in")
            time.sleep(0.3)
            order.append("first out")

    holder = threading.Thread(target=hold)
    holder.start()
    wait_until(lambda: order == ["first in"], "the first writer to hold the turn",
               detail=lambda: order)
    with second.writing():
        order.append("second in")
    holder.join()
    assert order == ["first in", "first out", "second in"]
    assert (tmp_path / "turns.sqlite3-writer.lock").exists()
    first.dispose()
    second.dispose()


def test_an_authorization_state_is_taken_once_and_not_after_it_expires(store, database_url):
    from bot.storage.admin_grants import AdminGrants
    from bot.storage.models import OAuthState

    upgrade(database_url)
    grants = AdminGrants(store, SecretBox(fernet_key()))
    grants.begin("state-1", "verifier-1", ("a", "b"))
    grants.begin("state-2", "verifier-2", ("a",))
    with store.session() as session, session.begin():
        session.execute(update(OAuthState).values(expires_at=datetime.now(UTC) - timedelta(1))
                        .where(OAuthState.scopes == "a"))

    taken = grants.take("state-1")
    assert taken is not None and taken.verifier == "verifier-1" and taken.scopes == ("a", "b")
    assert grants.take("state-1") is None  # single use
    assert grants.take("state-2") is None  # expired
    assert grants.take("never-issued") is None


def test_a_refreshed_pair_is_stored_only_over_the_version_it_replaces(store, database_url):
    from bot.storage.admin_grants import AdminGrants, TokenPair

    upgrade(database_url)
    grants = AdminGrants(store, SecretBox(fernet_key()))
    now = datetime.now(UTC)
    first = TokenPair("access-1", "refresh-1", now + timedelta(hours=1), 3600, None)
    grants.save(kind="integration", client_id="c", pair=first, owner_id="p", owner_name="P",
                org_id="o", scopes=("s",))
    version = grants.get("o").version
    second = TokenPair("access-2", "refresh-2", now + timedelta(hours=2), 3600, now)

    assert grants.replace_if("o", version, second) is True
    assert grants.replace_if("o", version, first) is False  # a second refresher lost the race
    stored = grants.get("o")
    assert stored.pair.access_token == "access-2" and stored.version == version + 1
    assert stored.pair.access_expires_at == now + timedelta(hours=2)


def fernet_key() -> bytes:
    from cryptography.fernet import Fernet

    return Fernet.generate_key()


def test_leases_taken_together_have_one_holder_and_one_transaction(store):
    leases = Leases(store)
    assert leases.acquire("held", "b", timedelta(seconds=30))
    assert leases.acquire("mine", "a", timedelta(seconds=30))
    assert leases.acquire("expired", "b", timedelta(seconds=-1))
    commits: list[object] = []
    event.listen(store.engine, "commit", lambda connection: commits.append(connection))

    taken = leases.acquire_each(["new-1", "held", "mine", "expired", "new-2"], "a",
                                timedelta(seconds=30))

    assert taken == {"new-1", "mine", "expired", "new-2"}
    assert len(commits) == 1  # a catch-up's hundreds of claims: one disk flush
    assert not leases.acquire("new-1", "b", timedelta(seconds=30))
    assert leases.acquire("held", "b", timedelta(seconds=30))  # still b's


def test_an_org_is_not_forgotten_while_its_change_is_being_applied(store):
    """A disconnect that begins while a change is being claimed (here: an expired change whose
    PUT went unanswered, claimed to be settled) waits for the claim and then forgets nothing:
    the settling would write the org's history back once forgotten."""
    from bot.storage.models import PendingChange
    from bot.storage.org_data import ChangeBeingApplied, forget_org, holdings

    change = PendingChanges(store, SecretBox(fernet_key()), "org-a").create(
        requester_id="p", requester_name="P", room_id="r", room_type="direct", thread_id=None,
        before={}, patch={"expirePasscode": {"enabled": True, "numberOfDays": 61}})
    outcome: list[str] = []

    def disconnect() -> None:
        try:
            forget_org(store, "org-a")
            outcome.append("forgotten")
        except ChangeBeingApplied:
            outcome.append("refused")

    with store.session() as claiming, claiming.begin():
        claiming.execute(update(PendingChange).where(PendingChange.id == change.id).values(
            status="applying", expires_at=datetime.now(UTC) - timedelta(minutes=1)))
        forgetting = threading.Thread(target=disconnect)
        forgetting.start()
        forgetting.join(timeout=0.5)  # it waits for the claim's transaction
    forgetting.join(timeout=20)
    assert outcome == ["refused"]
    assert holdings(store, "org-a").pending_changes == 1


def test_what_the_watcher_finds_of_an_org_forgotten_meanwhile_is_not_kept(store):
    """A watcher look that ends while the org is being disconnected waits for the disconnect,
    then keeps nothing of the org (its rules, a change found), instead of writing it back."""
    from bot.storage.admin_grants import AdminGrants, OrgForgotten, TokenPair
    from bot.storage.audit import AuditLog
    from bot.storage.models import AdminGrant
    from bot.storage.org_data import holdings
    from bot.storage.snapshots import Snapshots

    pair = TokenPair("access", "refresh", datetime.now(UTC) + timedelta(hours=1), 3600, None)
    AdminGrants(store, SecretBox(fernet_key())).save(
        kind="service-app", client_id="c", pair=pair, owner_id="m", owner_name="M",
        org_id="org-a", scopes=("s",))
    snapshots = Snapshots(store, while_granted=True)
    outcome: list[str] = []

    def look_ends() -> None:
        try:
            snapshots.save_first("org-a", {"expirePasscode": {"enabled": True}})
            outcome.append("kept")
        except OrgForgotten:
            outcome.append("not kept")

    with store.session() as disconnecting, disconnecting.begin():  # as forget_org begins
        disconnecting.execute(delete(AdminGrant).where(AdminGrant.name == "org-a"))
        looking = threading.Thread(target=look_ends)
        looking.start()
        looking.join(timeout=0.5)  # it waits for the disconnect's transaction
    looking.join(timeout=20)
    assert outcome == ["not kept"]
    with pytest.raises(OrgForgotten):
        AuditLog(store, "org-a", while_granted=True).record_outside(
            actor=None, changes=[], before={}, after={})
    kept = holdings(store, "org-a")
    assert not kept.rules_snapshot and kept.history_entries == 0


def test_a_watcher_look_and_a_disconnect_at_once_never_deadlock(store):
    """The look has replaced the org's rules (its row locked) when the disconnect begins: the
    disconnect waits for the look and then forgets everything, the look's rules too. (Holding
    the stored pair after the org's row, the other order than the disconnect's, deadlocked on
    PostgreSQL: one of the two was aborted.)"""
    from bot.storage.admin_grants import AdminGrants, TokenPair
    from bot.storage.org_data import forget_org, holdings
    from bot.storage.snapshots import Snapshots

    pair = TokenPair("access", "refresh", datetime.now(UTC) + timedelta(hours=1), 3600, None)
    AdminGrants(store, SecretBox(fernet_key())).save(
        kind="service-app", client_id="c", pair=pair, owner_id="m", owner_name="M",
        org_id="org-a", scopes=("s",))
    snapshots = Snapshots(store, while_granted=True)
    snapshots.save_first("org-a", {"expirePasscode": {"enabled": True}})
    known = snapshots.read("org-a")
    replaced, release, failures = threading.Event(), threading.Event(), []

    def hold_after_the_replace(_conn, _cursor, statement, *_rest) -> None:
        if threading.current_thread().name == "look" and statement.startswith("UPDATE rules"):
            replaced.set()
            release.wait(timeout=20)  # the look's transaction stays open here

    def run(name: str, action) -> threading.Thread:
        def guarded() -> None:
            try:
                action()
            except Exception as exc:  # noqa: BLE001 - what the test asserts there is none of
                failures.append(f"{name}: {exc!r}")
        thread = threading.Thread(target=guarded, name=name)
        thread.start()
        return thread

    event.listen(store.engine, "after_cursor_execute", hold_after_the_replace)
    try:
        look = run("look", lambda: snapshots.replace(
            "org-a", known, {"expirePasscode": {"enabled": False}}))
        assert replaced.wait(timeout=10)
        disconnect = run("disconnect", lambda: forget_org(store, "org-a"))
        disconnect.join(timeout=1.0)  # it waits for the look
        release.set()
        look.join(timeout=20)
        disconnect.join(timeout=20)
    finally:
        release.set()
        event.remove(store.engine, "after_cursor_execute", hold_after_the_replace)
    assert failures == []
    kept = holdings(store, "org-a")
    assert not kept.token_pair and not kept.rules_snapshot


def test_a_change_settled_long_after_its_expiry_is_not_closed_as_interrupted_meanwhile(store):
    """A change of unknown outcome (its PUT unanswered) is settled whenever a Confirm or the
    watcher gets to it, maybe long after its expiry: the periodic expiry leaves it being
    applied; it closes as interrupted only a change taken more than APPLYING_AT_MOST ago."""
    from bot.domain.vocabulary import ChangeStatus, RoomType
    from bot.storage.models import PendingChange
    from bot.storage.pending import APPLYING_AT_MOST, expire_pending

    pending = PendingChanges(store, SecretBox(fernet_key()), "org-a")
    change = pending.create(requester_id="p", requester_name="P", room_id="r",
                            room_type=RoomType.DIRECT, thread_id=None, before={},
                            patch={"expirePasscode": {"enabled": True, "numberOfDays": 50}})
    assert pending.claim(change.id)
    pending.release(change.id, ChangeStatus.UNKNOWN)
    long_ago = datetime.now(UTC) - timedelta(minutes=30)
    with store.session() as session, session.begin():  # expired 30 minutes ago
        session.execute(update(PendingChange).where(PendingChange.id == change.id)
                        .values(expires_at=long_ago))

    assert pending.claim_to_settle(change.id)  # the watcher settles it now
    assert expire_pending(store) == 0
    assert pending.get(change.id).status == ChangeStatus.APPLYING and pending.applying_now()

    with store.session() as session, session.begin():  # its process died mid-way, long ago
        session.execute(update(PendingChange).where(PendingChange.id == change.id).values(
            applying_since=datetime.now(UTC) - APPLYING_AT_MOST - timedelta(seconds=1)))
    assert expire_pending(store) == 1
    assert pending.get(change.id).status == ChangeStatus.INTERRUPTED
