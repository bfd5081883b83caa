"""An inbox row the parser now refuses (stored by an older version that accepted it) fails once,
with the reason, instead of being claimed again and again (issue 12, item 6: the worker side)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.domain.events import parse_envelope
from bot.inbox.queue import Inbox
from bot.storage.models import InboxEvent
from bot.storage.store import Store
from tests.support.factories import envelope


@pytest.fixture
def inbox(database_url):
    store = Store(database_url)
    yield Inbox(store)
    store.dispose()


def test_an_unreadable_stored_envelope_fails_at_once(inbox):
    raw = json.dumps(envelope(data_id="old-row")).encode()
    row_id = inbox.record(parse_envelope(raw), raw)
    deep = raw.decode().replace('"old-row"', '"old-row", "n": ' + "[" * 40 + "]" * 40)
    with inbox._store.writing() as connection:  # as an older version stored it
        connection.execute(update(InboxEvent).where(InboxEvent.id == row_id)
                           .values(envelope=deep))

    assert inbox.claim("me", timedelta(seconds=30)) is None
    assert inbox.claim("me", timedelta(seconds=30)) is None

    with inbox._store.session() as session:
        row = session.scalars(select(InboxEvent).where(InboxEvent.id == row_id)).one()
    assert row.status == "failed" and row.attempts == 1
    assert "nested more than" in row.last_error
