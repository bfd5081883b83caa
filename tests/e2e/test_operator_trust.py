"""What operators' checks and ops endpoints may be trusted with (issue 12, item 9).

- ``flask --app app check`` and ``webhooks status`` compare each webhook's secret (Webex returns
  it in GET /webhooks) with WEBEX_WEBHOOK_SECRET, in constant time, and never print it.
- With OPS_TOKEN, ``/metrics`` needs the bearer token and ``/healthz`` tells others only its status.
- BOT_SECRET_KEY is required outside the emulator demo, and keys rotate with
  BOT_SECRET_KEY_PREVIOUS and ``flask --app app secrets rotate``.
"""

from __future__ import annotations

import pytest
import requests
from cryptography.fernet import Fernet

from bot.config import load_settings
from bot.storage import store as storage
from bot.storage.pending import PendingChanges
from bot.storage.secret_box import SecretBox
from bot.storage.store import Store
from bot.webex.clients import bot_api
from bot.webex.webhooks import sync
from tests.support.bot_process import bot_env, flask_cli, free_port, start_gunicorn
from tests.support.waiting import wait_until

SECRET = "trust-webhook-secret-9876"
OPS_TOKEN = "ops-token-for-the-scraper-0123456789"


@pytest.fixture(scope="module")
def guarded(emulator_session, tmp_path_factory):
    """One gunicorn with OPS_TOKEN set."""
    workdir = tmp_path_factory.mktemp("guarded")
    port = free_port()
    env = bot_env(emulator_session, workdir, SECRET, port, OPS_TOKEN=OPS_TOKEN,
                  BOT_SECRET_KEY=Fernet.generate_key().decode(), WEBHOOK_CHECK_INTERVAL_SECONDS="1")
    bot = start_gunicorn(env, workdir, port, workers=1)
    yield bot
    bot.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("headers", [{}, bearer("wrong-token-wrong-token-wrong"),
                                     {"Authorization": f"Basic {OPS_TOKEN}"}])
def test_metrics_need_the_ops_token(guarded, headers):
    answer = requests.get(f"{guarded.url}/metrics", headers=headers, timeout=10)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert "vmbot_" not in answer.text


def test_metrics_answer_the_ops_token(guarded):
    answer = requests.get(f"{guarded.url}/metrics", headers=bearer(OPS_TOKEN), timeout=10)
    assert answer.status_code == 200 and "vmbot_events_processed_total" in answer.text


def test_healthz_tells_only_its_status_without_the_token(guarded):
    anonymous = requests.get(f"{guarded.url}/healthz", timeout=10)
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ok"}
    operator = requests.get(f"{guarded.url}/healthz", headers=bearer(OPS_TOKEN), timeout=10)
    assert operator.status_code == 200
    assert operator.json()["components"]["database"] == {"ok": True}
    assert OPS_TOKEN not in guarded.log()


def test_healthz_and_the_log_show_a_webhook_signed_with_another_secret(emulator, guarded):
    settings = load_settings(_env_file=None, webex_bot_token="bot-token", webex_admin_token="a",
                             webex_webhook_secret=SECRET, webex_base_url=emulator.base_url)
    sync(bot_api(settings), target_url=f"{guarded.url}/webhooks/webex", secret=SECRET)
    with emulator.state.lock:
        hook = next(h for h in emulator.state.webhooks.values() if h["resource"] == "messages")
        hook["secret"] = "someone-elses-webhook-secret"

    def reported() -> dict | None:
        health = requests.get(f"{guarded.url}/healthz", headers=bearer(OPS_TOKEN), timeout=10)
        webhooks = health.json()["components"].get("webhooks") or {}
        items = webhooks.get("items") or []
        return webhooks if len(items) == 2 and not webhooks["ok"] else None

    webhooks = wait_until(reported, "the webhook check to report the secret", timeout=45,  # a busy host
                          interval=0.2)
    secrets = {item["resource"]: item["secret_matches"] for item in webhooks["items"]}
    assert secrets == {"messages": False, "attachmentActions": True}
    assert [item["status"] for item in webhooks["items"]] == ["active", "active"]
    assert "signed with a secret other than WEBEX_WEBHOOK_SECRET" in guarded.log()
    assert "someone-elses-webhook-secret" not in guarded.log()


@pytest.fixture
def synced(emulator, tmp_path):
    env = bot_env(emulator, tmp_path, SECRET, 8766)
    for command in (("db", "upgrade"), ("webhooks", "sync")):
        done = flask_cli(env, tmp_path, *command)
        assert done.returncode == 0, done.stderr
    return env


def test_check_and_status_report_a_webhook_signed_with_another_secret(emulator, synced, tmp_path):
    other = "someone-elses-webhook-secret"
    with emulator.state.lock:  # as if someone re-registered it by hand, or the secret was rotated
        hook = next(h for h in emulator.state.webhooks.values() if h["resource"] == "messages")
        hook["secret"] = other

    check = flask_cli(synced, tmp_path, "check")
    status = flask_cli(synced, tmp_path, "webhooks", "status")

    assert check.returncode == 1
    line = next(line for line in check.stdout.splitlines() if " webhooks:" in line)
    assert line.startswith("FAIL") and "messages/created is signed with a secret other than " \
        "WEBEX_WEBHOOK_SECRET" in line and "webhooks sync" in line
    assert status.returncode == 1
    assert "messages/created: active" in status.stdout
    assert "secret DIFFERS from WEBEX_WEBHOOK_SECRET" in status.stdout
    assert "attachmentActions/created: active" in status.stdout and "secret ok" in status.stdout
    for output in (check, status):
        assert other not in output.stdout + output.stderr
        assert SECRET not in output.stdout + output.stderr

    fixed = flask_cli(synced, tmp_path, "webhooks", "sync")
    assert f"updated {hook['id']}" in fixed.stdout
    assert flask_cli(synced, tmp_path, "webhooks", "status").returncode == 0
    assert flask_cli(synced, tmp_path, "check").returncode == 0


def test_bot_secret_key_is_required_outside_the_demo(emulator, tmp_path):
    env = bot_env(emulator, tmp_path, SECRET, 8767, WEBEX_BASE_URL="https://webexapis.com/v1/")
    assert "BOT_SECRET_KEY" not in env

    cli = flask_cli(env, tmp_path, "check")
    port = free_port()
    bot = start_gunicorn(env, tmp_path, port, wait=False)
    try:
        bot.popen.wait(timeout=30)
    finally:
        bot.stop()

    for output in (cli.stderr.strip(), bot.log()):
        assert "configuration error: BOT_SECRET_KEY is required with a Webex WEBEX_BASE_URL" \
            in output, output
    assert cli.returncode != 0 and len(cli.stderr.strip().splitlines()) == 1
    assert bot.popen.returncode != 0
    assert "Traceback" not in cli.stderr + bot.log()


ORG = "org-of-the-pending-change"


def seal_pin(database_url: str, key: str) -> str:
    store = Store(database_url)
    try:
        return PendingChanges(store, SecretBox(key.encode()), ORG).create(
            requester_id="p", requester_name="P", room_id="r", room_type="direct",
            thread_id=None, before={}, patch={"defaultVoicemailPin": "908172"}).id
    finally:
        store.dispose()


def read_pin(database_url: str, change_id: str, **keys: str) -> str | None:
    settings = load_settings(_env_file=None, webex_bot_token="b", webex_admin_token="a",
                             webex_webhook_secret=SECRET, database_url=database_url, **keys)
    store = Store(database_url)
    try:
        return PendingChanges(store, SecretBox.from_settings(settings), ORG).pin(change_id)
    finally:
        store.dispose()


def test_a_key_rotation_keeps_pending_pins_readable(emulator, tmp_path):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    env = bot_env(emulator, tmp_path, SECRET, 8768, WEBEX_BASE_URL="https://webexapis.com/v1/",
                  BOT_SECRET_KEY=new)
    storage.upgrade(env["DATABASE_URL"])
    change_id = seal_pin(env["DATABASE_URL"], old)

    assert read_pin(env["DATABASE_URL"], change_id, bot_secret_key=new) is None
    assert read_pin(env["DATABASE_URL"], change_id, bot_secret_key=new,
                    bot_secret_key_previous=old) == "908172"
    lost = flask_cli(env, tmp_path, "secrets", "rotate")
    assert lost.returncode == 1 and "1 secrets could not be read" in lost.stderr

    rotated = flask_cli(env | {"BOT_SECRET_KEY_PREVIOUS": f"{Fernet.generate_key().decode()},{old}"},
                        tmp_path, "secrets", "rotate")

    assert rotated.returncode == 0, rotated.stderr
    assert "1 secrets sealed again with BOT_SECRET_KEY" in rotated.stdout
    assert read_pin(env["DATABASE_URL"], change_id, bot_secret_key=new) == "908172"
    assert old not in rotated.stdout + rotated.stderr and new not in rotated.stdout


def test_rotating_the_webhook_secret_keeps_pins_sealed_with_bot_secret_key(emulator, tmp_path):
    key = Fernet.generate_key().decode()
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    storage.upgrade(url)
    change_id = seal_pin(url, key)
    settings = load_settings(_env_file=None, webex_bot_token="b", webex_admin_token="a",
                             webex_webhook_secret="a-brand-new-webhook-secret", database_url=url,
                             bot_secret_key=key)
    store = Store(url)
    try:
        assert PendingChanges(store, SecretBox.from_settings(settings), ORG).pin(
            change_id) == "908172"
    finally:
        store.dispose()
