"""Webhook intake through the Flask test client: signatures, limits, envelopes, deduplication."""

from __future__ import annotations

import json
import time

import pytest

from bot.app import create_app
from bot.webhook.intake import InFlight, Intake
from tests.support.databases import migrated_sqlite_url
from tests.support.factories import SECRET, envelope, make_settings, signed
from tests.support.waiting import wait_until


@pytest.fixture
def received():
    return []


@pytest.fixture
def app(tmp_path, received):
    settings = make_settings(tmp_path, database_url=migrated_sqlite_url(tmp_path / "bot.sqlite3"))
    app = create_app(settings, processor=lambda event: received.append(event) or "recorded")
    yield app
    app.extensions["vmbot.background"].stop()


@pytest.fixture
def client(app):
    return app.test_client()


def stored(app) -> int:
    return sum(app.extensions["vmbot.inbox"].counts().values())


def post(client, raw: bytes, headers: dict):
    return client.post("/webhooks/webex", data=raw, headers=headers)


def test_correctly_signed_event_is_accepted_and_dispatched(client, received):
    body = envelope(data_id="msg-1")
    response = post(client, *signed(body))
    assert response.status_code == 202
    wait_until(lambda: received, "the event dispatched to the processor")
    assert [e.data_id for e in received] == ["msg-1"]
    assert received[0].resource == "messages" and received[0].actor_id == body["actorId"]


def test_duplicate_delivery_is_acknowledged_and_not_dispatched_again(client, received):
    raw, headers = signed(envelope(data_id="msg-dup"))
    assert post(client, raw, headers).status_code == 202
    again = post(client, raw, headers)
    assert again.status_code == 200 and again.json == {"status": "duplicate"}
    wait_until(lambda: received, "the event dispatched to the processor")
    time.sleep(0.2)
    assert len(received) == 1


@pytest.mark.parametrize("mangle", [
    pytest.param(lambda raw, h: (raw, {k: v for k, v in h.items() if k != "X-Spark-Signature"}),
                 id="missing"),
    pytest.param(lambda raw, h: (raw, {**h, "X-Spark-Signature": "0" * 40}), id="wrong"),
    pytest.param(lambda raw, h: (raw, {**h, "X-Spark-Signature": h["X-Spark-Signature"][:20]}),
                 id="truncated"),
    pytest.param(lambda raw, h: (json.dumps(json.loads(raw), indent=2).encode(), h),
                 id="re-serialised body"),
    pytest.param(lambda raw, h: (raw, {**h, "X-Spark-Signature": ""}), id="empty"),
    pytest.param(lambda raw, h: (raw, {**h, "X-Spark-Signature": "\u00e9" * 40}), id="non-ASCII"),
    pytest.param(lambda raw, h: (raw + b" ", h), id="body changed after signing"),
])
def test_bad_signatures_get_401_and_reach_nothing(app, client, received, mangle):
    raw, headers = mangle(*signed(envelope()))
    response = post(client, raw, headers)
    assert response.status_code == 401
    assert received == [] and stored(app) == 0


def test_signature_from_another_secret_is_refused(app, client, received):
    response = post(client, *signed(envelope(), secret="another-secret-entirely"))
    assert response.status_code == 401 and received == [] and stored(app) == 0


def test_uppercase_hex_signature_is_accepted(client, received):
    raw, headers = signed(envelope())
    headers["X-Spark-Signature"] = headers["X-Spark-Signature"].upper()
    assert post(client, raw, headers).status_code == 202


def test_oversized_body_gets_413(app, client, received):
    body = envelope()
    body["data"]["padding"] = "x" * (1024 * 1024)
    response = post(client, *signed(body))
    assert response.status_code == 413
    assert received == [] and stored(app) == 0


@pytest.mark.parametrize("raw, reason", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "body must be UTF-8 JSON"),
    (b"[1, 2]", "not a JSON object"),
    (json.dumps({"event": "created", "data": {"id": "x"}}).encode(), "'resource'"),
    (json.dumps({"resource": "messages", "data": {"id": "x"}}).encode(), "'event'"),
    (json.dumps({"resource": "messages", "event": "created"}).encode(), "'data.id'"),
    (json.dumps({"resource": "messages", "event": "created", "data": {"id": ""}}).encode(),
     "'data.id'"),
    (json.dumps({"resource": "messages", "event": "created", "data": {"id": 5}}).encode(),
     "'data.id'"),
])
def test_signed_non_envelopes_get_400_naming_the_problem(app, client, received, raw, reason):
    response = post(client, *signed(raw))
    assert response.status_code == 400
    assert reason in response.json["error"]
    assert received == [] and stored(app) == 0


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["components"]["database"]["ok"] is True


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path):
    settings = make_settings(tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = create_app(settings, processor=lambda e: "ignored")
    try:
        response = app.test_client().get("/healthz")
    finally:
        app.extensions["vmbot.background"].stop()  # its inbox worker would retry for ever
    assert response.status_code == 503
    assert response.json["components"]["database"]["ok"] is False


def test_only_post_is_accepted_on_the_webhook_path(client, received):
    response = client.get("/webhooks/webex")
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    assert response.json == {"error": "only POST is accepted here"}
    assert client.get("/healthz").status_code == 200  # other paths are Flask's, as before


def test_a_malformed_content_length_gets_400(app, client, received):
    raw, headers = signed(envelope())
    response = client.post("/webhooks/webex", data=raw, headers=headers,
                           environ_overrides={"CONTENT_LENGTH": "12x"})
    assert response.status_code == 400 and "Content-Length" in response.json["error"]
    assert received == [] and stored(app) == 0


def test_an_unexpected_failure_is_a_500_in_json_and_stores_nothing(app, client, monkeypatch):
    def broken(*_args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.extensions["vmbot.inbox"], "record", broken)
    response = post(client, *signed(envelope()))
    assert response.status_code == 500 and response.json == {"error": "internal error"}
    assert stored(app) == 0


def test_only_a_signed_request_holds_the_inbox_workers_back(app):
    """Acknowledging first: the inbox workers wait for a quiet moment between Webex's requests.
    A stream of unsigned requests (anyone can send them) must not count, or it would slow every
    answer of the bot down."""
    in_flight = InFlight(quiet_gap=1.0)
    intake = Intake(secret=SECRET, inbox=app.extensions["vmbot.inbox"],
                    on_accepted=lambda _row: None, in_flight=in_flight)
    assert intake.receive(json.dumps(envelope()).encode(), "0" * 40).status == 401
    started = time.monotonic()
    in_flight.wait_quiet(5)
    assert time.monotonic() - started < 0.5  # not held for the gap
    raw, headers = signed(envelope(data_id="msg-quiet"))
    assert intake.receive(raw, headers["X-Spark-Signature"]).status == 202
    started = time.monotonic()
    in_flight.wait_quiet(5)
    assert time.monotonic() - started >= 0.5  # a signed one is
