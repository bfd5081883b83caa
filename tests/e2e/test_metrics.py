"""Metrics: endpoint templates, the exposition, Webex calls counted, several processes at once."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from bot.ops import metrics
from bot.webex.rules_client import retrying_session
from tests.support.bot_process import REPO

ALICE = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hbGljZQ"


@pytest.mark.parametrize("method, url, expected", [
    ("get", f"https://webexapis.com/v1/people/{ALICE}", "GET /people/{id}"),
    ("GET", "https://webexapis.com/v1/people/me", "GET /people/me"),
    ("PUT", f"http://127.0.0.1:8900/v1/telephony/config/voicemail/rules?orgId={ALICE}",
     "PUT /telephony/config/voicemail/rules"),
    ("GET", f"https://webexapis.com/v1/attachment/actions/{ALICE}", "GET /attachment/actions/{id}"),
    ("DELETE", "https://webexapis.com/v1/webhooks/123e4567-e89b-12d3-a456-426614174000",
     "DELETE /webhooks/{id}"),
    ("POST", "https://webexapis.com/v1/access_token", "POST /access_token"),
    ("GET", "https://webexapis.com/v1/messages/" + "x" * 60, "GET /messages/{id}"),
])
def test_a_concrete_url_becomes_its_endpoint_template(method, url, expected):
    assert metrics.endpoint(method, url) == expected


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def exposed(body: bytes) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


def test_what_the_bot_records_comes_back_in_the_exposition():
    before = metrics.render()[0]
    metrics.event_received("messages", "created", "accepted")
    metrics.event_received(None, None, "refused_signature")
    metrics.event_received("rooms", "created", "accepted")  # not a label a sender can invent
    metrics.event_processed("done", 1.5)
    metrics.event_processed("retried", 99)
    metrics.command("show", "ok")
    metrics.change_applied("undo")
    metrics.webex_call("GET", f"https://webexapis.com/v1/people/{ALICE}", 429)
    body, content_type = metrics.render()

    assert content_type.startswith("text/plain")
    old, new = exposed(before), exposed(body)
    delta = {key: value - old.get(key, 0.0) for key, value in new.items()}
    received = "vmbot_events_received_total"
    assert delta[(received, (("event", "created"), ("outcome", "accepted"),
                             ("resource", "messages")))] == 1
    assert delta[(received, (("event", "unknown"), ("outcome", "refused_signature"),
                             ("resource", "unknown")))] == 1
    assert delta[(received, (("event", "created"), ("outcome", "accepted"),
                             ("resource", "other")))] == 1
    assert delta[("vmbot_events_processed_total", (("outcome", "done"),))] == 1
    assert delta[("vmbot_events_processed_total", (("outcome", "retried"),))] == 1
    assert delta[("vmbot_event_processing_seconds_count", ())] == 1  # the retry is not observed
    assert delta[("vmbot_event_processing_seconds_bucket", (("le", "2.5"),))] == 1
    assert delta[("vmbot_commands_total", (("command", "show"), ("outcome", "ok")))] == 1
    assert delta[("vmbot_changes_applied_total", (("kind", "undo"),))] == 1
    assert delta[("vmbot_webex_calls_total", (("endpoint", "GET /people/{id}"),
                                              ("status", "429")))] == 1


def test_a_misspelt_outcome_is_a_programming_error():
    with pytest.raises(ValueError, match="accepted"):
        metrics.event_received("messages", "created", "acepted")
    with pytest.raises(ValueError):
        metrics.event_processed("ok")
    with pytest.raises(ValueError):
        metrics.change_applied("revert")


def test_an_instrumented_session_counts_every_answer_retries_included(emulator):
    emulator.add_fault(method="GET", path="/v1/people/me", status=503, retryAfter=0, count=2)
    session = metrics.instrument(metrics.instrument(retrying_session(backoff=0)))  # idempotent
    labels = {"endpoint": "GET /people/me"}
    before = {s: sample("vmbot_webex_calls_total", **labels, status=s) for s in ("200", "503")}

    answer = session.get(f"{emulator.base_url}people/me", timeout=5,
                         headers={"Authorization": "Bearer bot-token"})

    assert answer.status_code == 200
    assert sample("vmbot_webex_calls_total", **labels, status="503") - before["503"] == 2
    assert sample("vmbot_webex_calls_total", **labels, status="200") - before["200"] == 1


def test_no_answer_counts_as_an_error():
    session = metrics.instrument(retrying_session(attempts=0))
    labels = {"endpoint": "GET /rooms", "status": "error"}
    before = sample("vmbot_webex_calls_total", **labels)
    with pytest.raises(requests.ConnectionError):
        session.get("http://127.0.0.1:1/v1/rooms", timeout=2)
    assert sample("vmbot_webex_calls_total", **labels) - before == 1


def test_the_sdk_and_the_rules_client_are_counted(emulator):
    from bot.config import load_settings
    from bot.webex.clients import bot_api
    from bot.webex.rules_client import RulesClient

    settings = load_settings(webex_bot_token="bot-token", webex_webhook_secret="s",
                             webex_admin_token="admin-token", webex_base_url=emulator.base_url)
    me = {"endpoint": "GET /people/me", "status": "200"}
    rules = {"endpoint": "GET /telephony/config/voicemail/rules", "status": "200"}
    before = sample("vmbot_webex_calls_total", **me), sample("vmbot_webex_calls_total", **rules)

    bot_api(settings).people.me()
    RulesClient(base_url=emulator.base_url).get("admin-token")

    assert sample("vmbot_webex_calls_total", **me) - before[0] == 1
    assert sample("vmbot_webex_calls_total", **rules) - before[1] == 1


WRITER = """
import sys
from bot.ops import metrics
for _ in range(int(sys.argv[1])):
    metrics.command("show", "ok")
    metrics.event_processed("done", 0.2)
metrics.webex_call("GET", "https://webexapis.com/v1/people/me", 200)
"""
READER = "import sys; from bot.ops import metrics; sys.stdout.write(metrics.render()[0].decode())"


def run_python(code: str, directory, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), metrics.MULTIPROC_ENV: str(directory)}
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_processes_sharing_a_multiprocess_directory_are_added_up(tmp_path):
    directory = tmp_path / "metrics"  # not there yet: the first process to need it makes it
    run_python(WRITER, directory, "3")
    run_python(WRITER, directory, "4")
    assert len(list(directory.glob("counter_*.db"))) == 2  # one file per process

    values = exposed(run_python(READER, directory).encode())

    assert values[("vmbot_commands_total", (("command", "show"), ("outcome", "ok")))] == 7
    assert values[("vmbot_event_processing_seconds_count", ())] == 7
    assert values[("vmbot_event_processing_seconds_bucket", (("le", "0.25"),))] == 7
    assert values[("vmbot_webex_calls_total", (("endpoint", "GET /people/me"),
                                               ("status", "200")))] == 2
    assert values[("vmbot_events_processed_total", (("outcome", "failed"),))] == 0


def test_under_gunicorn_every_worker_answers_with_the_sum_of_all(emulator, tmp_path):
    """Needs the route and the gunicorn.conf.py part described in bot/metrics.py."""
    from tests.e2e.test_gunicorn import wait_for
    from tests.support.bot_process import bot_env, flask_cli, free_port, start_gunicorn

    port = free_port()
    env = bot_env(emulator, tmp_path, "metrics-webhook-secret", port)
    bot = start_gunicorn(env, tmp_path, port, workers=2)
    try:
        if requests.get(f"{bot.url}/metrics", timeout=5).status_code == 404:
            pytest.skip("GET /metrics is not wired yet")
        assert flask_cli(env, tmp_path, "webhooks", "sync").returncode == 0
        for _ in range(4):
            requests.post(f"{emulator.base_url}messages", timeout=10, json={
                "roomId": emulator.id("dm-alice"), "text": "help"},
                headers={"Authorization": "Bearer alice-token"}).raise_for_status()

        def fetched() -> float:
            values = exposed(requests.get(f"{bot.url}/metrics", timeout=5).content)
            return values.get(("vmbot_webex_calls_total", (("endpoint", "GET /messages/{id}"),
                                                           ("status", "200"))), 0.0)

        wait_for(lambda: fetched() == 4, timeout=20)
        assert [fetched() for _ in range(6)] == [4] * 6
    finally:
        bot.stop()
