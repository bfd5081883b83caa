"""End to end: the bot under gunicorn, webhooks registered by the CLI, events from the emulator."""

from __future__ import annotations

import runpy
import sqlite3

import pytest
import requests

from tests.support.bot_process import REPO, bot_env, flask_cli, free_port, start_gunicorn
from tests.support.waiting import wait_until

SECRET = "e2e-webhook-secret-5678"


@pytest.fixture
def deployment(emulator, tmp_path):
    port = free_port()
    env = bot_env(emulator, tmp_path, SECRET, port)
    bot = start_gunicorn(env, tmp_path, port)
    yield emulator, env, tmp_path, bot
    bot.stop()


def test_signed_delivery_from_the_emulator_reaches_the_bot_under_gunicorn(deployment):
    emulator, env, workdir, bot = deployment
    sync = flask_cli(env, workdir, "webhooks", "sync")
    assert sync.returncode == 0, sync.stderr
    assert "messages/created: created" in sync.stdout
    assert "attachmentActions/created: created" in sync.stdout

    sent = requests.post(f"{emulator.base_url}messages", timeout=10,
                         headers={"Authorization": "Bearer alice-token"},
                         json={"roomId": emulator.id("dm-alice"), "text": "show"}).json()

    wait_until(lambda: f"event messages:created:{sent['id']} accepted" in bot.log(),
               "the event's acceptance in gunicorn's log", timeout=15)
    database = workdir / "bot.sqlite3"
    rows = sqlite3.connect(database).execute(
        "SELECT resource, event, actor_id FROM inbox_events WHERE data_id = ?", (sent["id"],)
    ).fetchall()
    assert rows == [("messages", "created", emulator.id("alice"))]
    deliveries = emulator.control("GET", "deliveries").json()["items"]
    assert any(d["dataId"] == sent["id"] and d["status"] == 202 for d in deliveries)


def test_webhooks_sync_is_idempotent_and_reactivates(deployment):
    emulator, env, workdir, _bot = deployment
    assert flask_cli(env, workdir, "webhooks", "sync").returncode == 0
    again = flask_cli(env, workdir, "webhooks", "sync")
    assert again.returncode == 0 and again.stdout.count("up to date") == 2
    assert len(emulator.state.webhooks) == 2

    hook_id = next(iter(emulator.state.webhooks))
    emulator.control("PUT", f"webhooks/{hook_id}/status", json={"status": "inactive"})
    status = flask_cli(env, workdir, "webhooks", "status")
    assert status.returncode == 1 and "inactive" in status.stdout
    revived = flask_cli(env, workdir, "webhooks", "sync")
    assert f"re-activated {hook_id}" in revived.stdout
    assert flask_cli(env, workdir, "webhooks", "status").returncode == 0
    assert len(emulator.state.webhooks) == 2


def test_the_webhook_check_reactivates_with_the_bots_secret(emulator, tmp_path):
    # Registered under an earlier secret: only a PUT that sends the secret makes deliveries verify.
    port = free_port()
    earlier = bot_env(emulator, tmp_path, "an-earlier-webhook-secret", port)
    assert flask_cli(earlier, tmp_path, "webhooks", "sync").returncode == 0
    env = bot_env(emulator, tmp_path, SECRET, port, WEBHOOK_CHECK_INTERVAL_SECONDS="1")
    bot = start_gunicorn(env, tmp_path, port, workers=1)
    try:
        hook_id = next(h for h, w in emulator.state.webhooks.items() if w["resource"] == "messages")
        emulator.control("PUT", f"webhooks/{hook_id}/status", json={"status": "inactive"})
        wait_until(lambda: emulator.state.webhooks[hook_id]["status"] == "active",
                   "the webhook re-activated", timeout=20)
        sent = requests.post(f"{emulator.base_url}messages", timeout=10,
                             headers={"Authorization": "Bearer alice-token"},
                             json={"roomId": emulator.id("dm-alice"), "text": "show"}).json()
        delivered = wait_until(lambda: [d for d in emulator.control("GET", "deliveries")
                                        .json()["items"] if d["dataId"] == sent["id"]],
                               "the emulator's delivery of the message", timeout=15)
        assert [d["status"] for d in delivered] == [202]
    finally:
        bot.stop()


def test_sync_moves_webhooks_to_a_new_public_url(deployment):
    emulator, env, workdir, _bot = deployment
    flask_cli(env, workdir, "webhooks", "sync")
    moved = flask_cli(env | {"PUBLIC_URL": "https://bot.example.com/"}, workdir, "webhooks", "sync")
    assert moved.stdout.count("updated") == 2
    targets = {w["targetUrl"] for w in emulator.state.webhooks.values()}
    assert targets == {"https://bot.example.com/webhooks/webex"}


def test_sqlite_on_a_platform_with_a_throwaway_disk_is_warned_of_at_start(emulator, tmp_path):
    port = free_port()
    env = bot_env(emulator, tmp_path, SECRET, port, PORT=str(port), DYNO="web.1")
    bot = start_gunicorn(env, tmp_path, port, workers=1)
    try:
        line = wait_until(lambda: [line for line in bot.log().splitlines()
                                   if "DATABASE_URL is SQLite on a platform" in line],
                          "the start-up warning")[0]
    finally:
        bot.stop()
    assert "WARNING" in line and "sets PORT and DYNO" in line and "PostgreSQL" in line


def test_gunicorn_refuses_to_start_without_a_required_setting(emulator, tmp_path):
    port = free_port()
    env = bot_env(emulator, tmp_path, SECRET, port)
    del env["WEBEX_WEBHOOK_SECRET"]
    bot = start_gunicorn(env, tmp_path, port, wait=False)
    assert bot.popen.wait(timeout=30) != 0
    assert "configuration error: WEBEX_WEBHOOK_SECRET is required" in bot.log()


def configured_workers(monkeypatch, tmp_path, web_concurrency: str | None) -> int:
    """``workers`` as gunicorn.conf.py sets it under ``WEB_CONCURRENCY``."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # no directory of its own made
    if web_concurrency is None:
        monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    else:
        monkeypatch.setenv("WEB_CONCURRENCY", web_concurrency)
    return runpy.run_path(str(REPO / "gunicorn.conf.py"))["workers"]


@pytest.mark.parametrize("web_concurrency, workers",
                         [(None, 2), ("", 2), ("1", 1), ("6", 6), (" 3 ", 3)])
def test_worker_count_follows_web_concurrency(monkeypatch, tmp_path, web_concurrency, workers):
    assert configured_workers(monkeypatch, tmp_path, web_concurrency) == workers


@pytest.mark.parametrize("web_concurrency", ["lots", "0", "-1", "2.5"])
def test_a_malformed_web_concurrency_is_one_line(monkeypatch, tmp_path, capsys, web_concurrency):
    with pytest.raises(SystemExit):
        configured_workers(monkeypatch, tmp_path, web_concurrency)
    assert capsys.readouterr().err.strip().startswith(
        "configuration error: WEB_CONCURRENCY must be a whole number")


def test_gunicorn_refuses_to_start_with_no_workers(emulator, tmp_path):
    # "0" passes gunicorn's own int() on import (a non-number would stop it there, in a traceback)
    port = free_port()
    env = bot_env(emulator, tmp_path, SECRET, port, WEB_CONCURRENCY="0")
    bot = start_gunicorn(env, tmp_path, port, wait=False)
    try:
        assert bot.popen.wait(timeout=30) != 0
    finally:
        bot.stop()
    assert "configuration error: WEB_CONCURRENCY must be a whole number" in bot.log()
    assert "Traceback" not in bot.log()


def test_flask_cli_reports_a_malformed_setting_in_one_line(emulator, tmp_path):
    env = bot_env(emulator, tmp_path, SECRET, 9, WATCH_INTERVAL_SECONDS="soon")
    result = flask_cli(env, tmp_path, "webhooks", "status")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith(
        "configuration error: WATCH_INTERVAL_SECONDS")


def test_chunked_deliveries_are_read_whole_and_limited(deployment):
    """Without a Content-Length the body is read to its end, and refused past 1 MiB."""
    import http.client
    import json

    from tests.support.factories import envelope, signed

    _emulator, env, _workdir, bot = deployment
    host, port = bot.url.split("//")[1].split(":")

    def chunked(raw: bytes) -> int:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request("POST", "/webhooks/webex", body=iter([raw[:10], raw[10:]]),
                               headers={"Content-Type": "application/json",
                                        "X-Spark-Signature":
                                            signed(raw, SECRET)[1]["X-Spark-Signature"]},
                               encode_chunked=True)
            return connection.getresponse().status
        finally:
            connection.close()

    assert chunked(json.dumps(envelope(data_id="chunked-1")).encode()) == 202
    huge = envelope(data_id="chunked-2")
    huge["data"]["padding"] = "x" * (1024 * 1024)
    assert chunked(json.dumps(huge).encode()) == 413
