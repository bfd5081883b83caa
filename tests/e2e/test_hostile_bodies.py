"""Signed but pathological webhook bodies, under gunicorn: a 4xx with its reason, or accepted and
processed without error; never a 500 and never a traceback in the log.

The bodies carry a valid signature (whoever holds the webhook secret can send them), so they reach
the JSON parser: deep nesting, an integer longer than Python converts, UTF-16/UTF-32 JSON, bytes
that are not UTF-8, a lone surrogate, ``NaN``, an id that would change a Webex URL.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
import requests

from tests.support.bot_process import start_one_worker_bot
from tests.support.factories import SECRET, envelope, signed
from tests.support.waiting import wait_until

HEAD = b'{"resource":"messages","event":"created","data":{"id":"hostile-1","n":'


def body(value: bytes) -> bytes:
    return HEAD + value + b"}}"


def plain(data_id: str = "utf16-1") -> dict:
    return envelope(data_id=data_id)


REFUSED = [
    ("deep nesting", body(b"[" * 100_000 + b"]" * 100_000), "nested more than"),
    ("nesting past the limit", body(b"[" * 40 + b"]" * 40), "nested more than"),
    ("a 5000-digit number", body(b"9" * 5000), "more than 4300 digits"),
    ("UTF-16 with a BOM", json.dumps(plain()).encode("utf-16"), "body must be UTF-8 JSON"),
    ("UTF-16LE, no BOM", json.dumps(plain()).encode("utf-16-le"), "body must be UTF-8 JSON"),
    ("UTF-32", json.dumps(plain()).encode("utf-32"), "body must be UTF-8 JSON"),
    ("bytes that are not UTF-8", body(b'"\xff\xfe"'), "body must be UTF-8 JSON"),
    ("an encoded surrogate", body(b'"\xed\xa0\x80"'), "body must be UTF-8 JSON"),
    ("a lone surrogate escape", body(b'"\\ud800"'), "lone surrogate"),
    ("a lone surrogate in data.id",
     b'{"resource":"messages","event":"created","data":{"id":"\\udc00x"}}', "lone surrogate"),
    ("NaN", body(b"NaN"), "NaN is not a JSON value"),
    ("an id that changes the URL",
     b'{"resource":"messages","event":"created","data":{"id":"../people/me"}}',
     "'data.id' is not a Webex id"),
]


@pytest.fixture(scope="module")
def bot(emulator_session, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("hostile")
    process = start_one_worker_bot(emulator_session, workdir, SECRET)
    yield process, workdir
    process.stop()


@pytest.mark.parametrize("name, raw, reason", REFUSED, ids=[case[0] for case in REFUSED])
def test_a_pathological_body_is_refused_with_its_reason(bot, name, raw, reason):
    process, _ = bot
    raw, headers = signed(raw)
    answer = requests.post(f"{process.url}/webhooks/webex", data=raw, headers=headers, timeout=10)

    assert answer.status_code == 400, answer.text
    assert reason in answer.json()["error"]
    assert "Traceback" not in process.log()


def inbox_row(workdir, data_id: str):
    with sqlite3.connect(workdir / "bot.sqlite3") as db:
        return db.execute("SELECT status, attempts, last_error FROM inbox_events "
                          "WHERE data_id = ?", (data_id,)).fetchone()


def test_odd_but_valid_values_are_accepted_and_processed_without_error(emulator, bot):
    """Deep-ish nesting, a long number, escapes and odd text in a valid envelope: the event is
    accepted, and processing ends (Webex knows no such message: 404, not retried)."""
    process, workdir = bot
    odd = envelope(data_id="odd-\u00e9\u20ac\U0001f600-1", roomId={"not": ["a", "string"]},
                   personId=12345, roomType=None, n=int("9" * 4000), nested=[[[[[[[["deep"]]]]]]]],
                   text="\u0000\u202e<@all> \ud83d\ude00")
    raw, headers = signed(json.dumps(odd).encode())
    answer = requests.post(f"{process.url}/webhooks/webex", data=raw, headers=headers, timeout=10)
    assert answer.status_code == 202, answer.text

    def processed() -> tuple | None:
        row = inbox_row(workdir, odd["data"]["id"])
        return row if row is not None and row[0] == "done" else None

    row = wait_until(processed, "the odd event to be processed", timeout=40,  # a busy host
                     interval=0.1, detail=lambda: inbox_row(workdir, odd["data"]["id"]))
    assert row[1] == 1  # once: retrying would not find the message either
    log = process.log()
    assert "Traceback" not in log and 'HTTP/1.1" 500 ' not in log
    assert "ended without retrying: Webex HTTP 404" in log
