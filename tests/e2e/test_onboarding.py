"""Onboarding an org (issue 14, items 1-3), as operators and admins do it: the bot under gunicorn,
the CLI as a separate process, the emulator as Webex over HTTP, the browser's part done with
``requests`` (consent page → form → redirect followed to the bot's ``/oauth/callback``).

No ``WEBEX_ADMIN_TOKEN`` anywhere: the bot starts with only the Integration's (or the Service
App's) client id and secret, says it is not yet authorized, and works once authorized.
"""

from __future__ import annotations

import sqlite3
import time
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet

from tests.support.bot_process import bot_env, flask_cli, free_port, start_gunicorn
from tests.support.bot_server import card_text
from tests.support.consent import consent, with_query
from tests.support.deliveries import deliver, event_for, say
from tests.support.factories import SECRET
from tests.support.waiting import wait_until

CLIENT = {"WEBEX_ADMIN_CLIENT_ID": "vmrules-client-id",
          "WEBEX_ADMIN_CLIENT_SECRET": "vmrules-client-secret"}
SERVICE_APP = {"WEBEX_ADMIN_CLIENT_ID": "vmrules-sa-client-id",
               "WEBEX_ADMIN_CLIENT_SECRET": "vmrules-sa-client-secret"}


@pytest.fixture(scope="module")
def deployment(emulator_session, tmp_path_factory):
    """One gunicorn (two workers) with no admin token; each test starts unauthorized."""
    workdir = tmp_path_factory.mktemp("onboarding")
    port = free_port()
    env = bot_env(emulator_session, workdir, SECRET, port, **CLIENT,
                  BOT_SECRET_KEY=Fernet.generate_key().decode(),
                  NOTIFY_ROOM_IDS=emulator_session.id("notify"))
    del env["WEBEX_ADMIN_TOKEN"]
    bot = start_gunicorn(env, workdir, port, workers=2)
    yield bot, env, workdir
    bot.stop()


@pytest.fixture
def bot(deployment, emulator):
    bot, env, workdir = deployment
    with sqlite3.connect(workdir / "bot.sqlite3") as db:
        db.execute("DELETE FROM admin_grants")
        db.execute("DELETE FROM oauth_states")
    return deployment


def authorization_url(env, workdir) -> str:
    done = flask_cli(env, workdir, "admin", "authorize")
    assert done.returncode == 0, done.stdout + done.stderr
    urls = [line for line in done.stdout.splitlines() if line.startswith("http")]
    assert len(urls) == 1, done.stdout
    return urls[0]


def stored_kind(workdir) -> str | None:
    with sqlite3.connect(workdir / "bot.sqlite3") as db:
        row = db.execute("SELECT kind FROM admin_grants").fetchone()
    return row[0] if row else None


def bot_replies(emulator, room: str = "dm-alice") -> list[dict]:
    bot_id, room_id = emulator.id("bot"), emulator.id(room)
    with emulator.state.lock:
        return [dict(m) for m in emulator.state.messages.values()
                if m["personId"] == bot_id and m["roomId"] == room_id]


def show(emulator, bot) -> str:
    """Alice types ``show``; the text of the bot's answer."""
    before = len(bot_replies(emulator))
    message = say(emulator, "show")
    assert deliver(bot.url, *event_for(emulator, message)) in (200, 202)
    replies = wait_until(lambda: bot_replies(emulator)[before:], "the bot's answer to show",
                         timeout=20)
    return card_text(replies[-1]) if replies[-1].get("attachments") else replies[-1]["markdown"]


def no_secret_in(text: str, emulator) -> None:
    with emulator.state.lock:
        tokens = [t for g in emulator.state.grants.values() for t in (g.token, g.refresh_token)
                  if t]
    assert not [t for t in tokens if t in text], "a token was shown"


def healthz(bot) -> dict:
    return requests.get(f"{bot.url}/healthz", timeout=10).json()["components"]["admin_token"]


# --- item 1: the Integration ----------------------------------------------------------------------

def test_before_authorization_the_bot_says_so(emulator, bot):
    process, env, workdir = bot
    assert "not yet authorized" in show(emulator, process)
    assert healthz(process)["ok"] is False
    assert "admin authorize" in healthz(process)["problem"]
    status = flask_cli(env, workdir, "admin", "status")
    assert status.returncode == 1 and "not yet authorized" in status.stdout
    check = flask_cli(env, workdir, "check")
    assert check.returncode == 1
    assert "FAIL admin token: the bot is not yet authorized: an operator runs `flask --app app " \
        "admin authorize`" in check.stdout


def test_the_integration_flow_from_the_printed_url_to_a_working_show(emulator, bot):
    process, env, workdir = bot
    url = authorization_url(env, workdir)
    query = dict(parse_qsl(urlsplit(url).query))
    assert url.startswith(f"{emulator.base_url}authorize?")
    assert query["client_id"] == "vmrules-client-id"
    assert query["redirect_uri"] == f"{process.url}/oauth/callback"
    assert query["code_challenge_method"] == "S256" and query["code_challenge"] and query["state"]
    assert set(query["scope"].split()) == {
        "spark-admin:people_read", "spark-admin:roles_read", "spark-admin:telephony_config_read",
        "spark-admin:telephony_config_write", "spark-admin:audit_events_read"}

    callback = consent(emulator, url)
    assert callback.startswith(f"{process.url}/oauth/callback?")
    page = requests.get(callback, timeout=30)

    assert page.status_code == 200, page.text
    assert "The bot is authorized" in page.text and "Alice Fuller" in page.text
    no_secret_in(page.text, emulator)
    assert stored_kind(workdir) == "integration"
    assert "Passcode" in show(emulator, process) or "passcode" in show(emulator, process)
    assert healthz(process)["ok"] is True and healthz(process)["source"] == "integration"
    status = flask_cli(env, workdir, "admin", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "owner: Alice Fuller" in status.stdout and "spark-admin:audit_events_read" in status.stdout
    assert "access token expires: " in status.stdout and "refresh token expires: " in status.stdout
    no_secret_in(status.stdout + status.stderr + process.log(), emulator)
    code = dict(parse_qsl(urlsplit(callback).query))["code"]
    assert code not in process.log() and "/oauth/callback?(redacted)" in process.log()
    # the state was single use: the same answer again is refused and changes nothing
    again = requests.get(callback, timeout=30)
    assert again.status_code == 400 and "not valid" in again.text


def test_a_wrong_state_is_refused_before_anything(emulator, bot):
    process, env, workdir = bot
    callback = consent(emulator, authorization_url(env, workdir))
    forged = with_query(callback, state="forged-state-value")
    emulator.control("DELETE", "calls")

    page = requests.get(forged, timeout=30)

    assert page.status_code == 400 and "This authorization link is not valid" in page.text
    assert emulator.calls().get("POST /v1/access_token", 0) == 0  # the code was never exchanged
    assert stored_kind(workdir) is None


def test_denied_consent(emulator, bot):
    process, env, workdir = bot
    page = requests.get(consent(emulator, authorization_url(env, workdir), decision="deny"),
                        timeout=30)
    assert page.status_code == 400 and "The access was denied" in page.text
    assert stored_kind(workdir) is None


@pytest.mark.parametrize(("person", "said"), [
    ("nina", "Nina Noble is not an administrator"),
    ("rita", "Rita Reed (rita@acme.example) has Read-only Administrator, not Full Administrator")])
def test_a_non_full_administrator_is_refused(emulator, bot, person, said):
    process, env, workdir = bot
    page = requests.get(consent(emulator, authorization_url(env, workdir), person=person),
                        timeout=30)
    assert page.status_code == 403 and said in page.text, page.text
    assert "Nothing was changed" in page.text
    assert stored_kind(workdir) is None


def test_a_missing_scope_is_refused(emulator, bot):
    process, env, workdir = bot
    url = authorization_url(env, workdir)
    scopes = dict(parse_qsl(urlsplit(url).query))["scope"].replace("spark-admin:roles_read", "")
    page = requests.get(consent(emulator, with_query(url, scope=" ".join(scopes.split()))),
                        timeout=30)
    assert page.status_code == 403 and "lacks scopes the bot needs: spark-admin:roles_read" \
        in page.text, page.text
    assert stored_kind(workdir) is None


# --- item 2: the Service App ----------------------------------------------------------------------

def service_app(env, workdir, emulator, **extra: str):
    return flask_cli(env | SERVICE_APP | extra, workdir, "admin", "service-app",
                     "--application-id", emulator.id("vmrules-service-app"),
                     "--org-id", emulator.id("acme"))


def test_the_service_app_flow(emulator, bot, tmp_path):
    """A deployment of its own: its processes refresh with the Service App's client."""
    _, env, _ = bot
    port = free_port()
    env = bot_env(emulator, tmp_path, SECRET, port, **SERVICE_APP,
                  BOT_SECRET_KEY=env["BOT_SECRET_KEY"])
    del env["WEBEX_ADMIN_TOKEN"]
    emulator.control("POST", "settings", json={"accessTokenSeconds": 4})
    process = start_gunicorn(env, tmp_path, port, workers=1)
    try:
        done = service_app(env, tmp_path, emulator, WEBEX_APPLICATIONS_TOKEN="developer-token")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "stored: the Service App acts as Voicemail Rules Service App" in done.stdout
        assert stored_kind(tmp_path) == "service-app"
        assert "developer-token" not in done.stdout + done.stderr
        time.sleep(4.5)  # the first access token has expired: the pair refreshes by itself
        assert "asscode" in show(emulator, process)
        status = flask_cli(env, tmp_path, "admin", "status")
        assert status.returncode == 0 and "source: service-app" in status.stdout
        assert "refreshed at: not yet" not in status.stdout
        assert healthz(process)["source"] == "service-app"
        no_secret_in(status.stdout + process.log(), emulator)
    finally:
        process.stop()


def test_the_service_app_refused_without_the_applications_scope(emulator, bot):
    process, env, workdir = bot
    done = service_app(env, workdir, emulator, WEBEX_APPLICATIONS_TOKEN="alice-token")
    assert done.returncode == 1 and "Webex refused the Service App token" in done.stderr
    assert stored_kind(workdir) is None


# --- item 3: the token's life -----------------------------------------------------------------------

def test_a_short_lived_token_is_refreshed_before_it_expires(emulator, bot):
    process, env, workdir = bot
    emulator.control("POST", "settings", json={"accessTokenSeconds": 12})
    requests.get(consent(emulator, authorization_url(env, workdir)), timeout=30).raise_for_status()
    emulator.control("DELETE", "calls")
    with emulator.state.lock:
        emulator.state.call_log.clear()

    # due 6 s before expiry (half a short lifetime); the check runs every 10 s in one process
    wait_until(lambda: emulator.calls().get("POST /v1/access_token", 0) >= 1,
               "a refresh ahead of expiry", timeout=25)
    assert "asscode" in show(emulator, process)

    with emulator.state.lock:
        refused = [c for c in emulator.state.call_log if c["status"] == 401]
    assert refused == []
    with sqlite3.connect(workdir / "bot.sqlite3") as db:
        assert db.execute("SELECT version FROM admin_grants").fetchone()[0] >= 2


def test_a_refused_refresh_is_announced(emulator, bot):
    process, env, workdir = bot
    requests.get(consent(emulator, authorization_url(env, workdir)), timeout=30).raise_for_status()
    with emulator.state.lock:  # the org revoked the bot's access: both tokens are gone
        for token in [t for t, g in emulator.state.grants.items() if g.kind == "integration"
                      and g.client_id == "vmrules-client-id" and t != "refreshable-admin-token"]:
            del emulator.state.grants[token]

    assert "authorization has expired" in show(emulator, process)

    notify = wait_until(lambda: bot_replies(emulator, "notify"), "the announcement", timeout=25)
    assert "Webex refused to refresh the admin token" in notify[-1]["markdown"]
    assert "admin authorize" in notify[-1]["markdown"]
    assert healthz(process)["ok"] is False and "refused to refresh" in healthz(process)["problem"]
    check = flask_cli(env, workdir, "check")
    assert check.returncode == 1
    assert "Webex refused to refresh the admin token" in check.stdout
    status = flask_cli(env, workdir, "admin", "status")
    assert status.returncode == 1 and "PROBLEM: Webex refused to refresh" in status.stdout
    no_secret_in(check.stdout + status.stdout + process.log(), emulator)


# --- item 7: help without settings --------------------------------------------------------------------

def test_the_commands_are_listed_even_when_settings_are_missing(emulator, tmp_path):
    env = bot_env(emulator, tmp_path, SECRET, 8765)
    del env["WEBEX_BOT_TOKEN"]

    listed = flask_cli(env, tmp_path, "--help")
    assert listed.returncode == 0, listed.stderr
    for command in ("admin", "check", "db", "secrets", "watch", "webhooks", "worker"):
        assert f"\n  {command} " in listed.stdout
    assert "authorize" in flask_cli(env, tmp_path, "admin", "--help").stdout

    refused = flask_cli(env, tmp_path, "admin", "status")
    assert refused.returncode == 1
    assert "configuration error: WEBEX_BOT_TOKEN is required" in refused.stderr


def test_outside_values_on_the_page_are_text(emulator, bot):
    process, env, workdir = bot
    emulator.control("PUT", f"people/{emulator.id('alice')}",
                     json={"displayName": "<script>alert(1)</script> Alice"})
    page = requests.get(consent(emulator, authorization_url(env, workdir)), timeout=30)
    assert page.status_code == 200, page.text
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt; Alice" in page.text
    forged = requests.get(f"{process.url}/oauth/callback?state=x&error=<img src=x>", timeout=30)
    assert forged.status_code == 400 and "<img" not in forged.text
