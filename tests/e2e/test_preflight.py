"""``flask --app app check`` as an operator runs it, against the emulator."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory

from bot.config import load_settings
from bot.storage import store
from bot.storage.store import MIGRATIONS
from bot.webex import webhooks
from bot.webex.clients import bot_api
from emulator.state import Grant
from tests.support.bot_process import bot_env, flask_cli

SECRET = "preflight-webhook-secret-1234"
PORT = 8765  # only named in PUBLIC_URL; nothing listens there
ADMIN_SCOPES = ["spark:all", "spark-admin:people_read", "spark-admin:roles_read",
                "spark-admin:telephony_config_read", "spark-admin:telephony_config_write"]
CHECKS = ("database", "bot token", "admin token", "admin role", "admin scopes", "managed org",
          "voicemail rules", "webhooks")


@pytest.fixture
def env(emulator, tmp_path):
    return bot_env(emulator, tmp_path, SECRET, PORT)


@pytest.fixture
def ready(emulator, env, tmp_path):
    """A deployment whose schema is at head and whose webhooks are registered."""
    store.upgrade(env["DATABASE_URL"])
    settings = load_settings(webex_bot_token="bot-token", webex_webhook_secret=SECRET,
                             webex_admin_token="admin-token", webex_base_url=emulator.base_url)
    webhooks.sync(bot_api(settings), target_url=f"http://127.0.0.1:{PORT}/webhooks/webex",
                          secret=SECRET)
    return env


SECRET_SETTINGS = ("WEBEX_BOT_TOKEN", "WEBEX_ADMIN_TOKEN", "WEBEX_WEBHOOK_SECRET",
                   "WEBEX_ADMIN_CLIENT_SECRET", "WEBEX_ADMIN_REFRESH_TOKEN")


def check(env, workdir, **extra: str) -> tuple[int, dict[str, str]]:
    """Run the check; its exit code and each check's line by name."""
    env = env | extra
    done = flask_cli(env, workdir, "check")
    secrets = [env[name] for name in SECRET_SETTINGS if name in env]
    assert not [s for s in secrets if s in done.stdout + done.stderr], "a secret was printed"
    lines = {}
    for line in done.stdout.splitlines():
        status, _, rest = line.partition(" ")
        name, _, detail = rest.strip().partition(": ")
        lines[name] = f"{status} {detail}"
    assert tuple(lines) == CHECKS, done.stdout + done.stderr
    return done.returncode, lines


def test_all_ok_after_db_upgrade_and_webhooks_sync(emulator, env, tmp_path):
    for command in (("db", "upgrade"), ("webhooks", "sync")):
        assert flask_cli(env, tmp_path, *command).returncode == 0

    code, lines = check(env, tmp_path)

    assert code == 0 and all(line.startswith("ok ") for line in lines.values()), lines
    assert lines["bot token"] == "ok Voicemail Rules Bot (vmrules@webex.bot)"
    assert lines["admin token"] == "ok Alice Fuller (alice@acme.example)"
    assert lines["admin role"] == "ok Full Administrator"
    assert "telephony_config_write shows when a change is applied" in lines["admin scopes"]
    assert "(the admin token's own org)" in lines["managed org"]
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()  # the newest migration's
    assert lines["database"].endswith(f"schema at head ({head})")
    assert lines["webhooks"] == ("ok messages/created and attachmentActions/created active at "
                                 f"http://127.0.0.1:{PORT}/webhooks/webex, signed with "
                                 "WEBEX_WEBHOOK_SECRET")


def test_a_bad_bot_token_is_named_and_webhooks_are_not_checked(ready, tmp_path):
    code, lines = check(ready, tmp_path, WEBEX_BOT_TOKEN="not-a-token")

    assert code == 1
    assert lines["bot token"].startswith("FAIL Webex HTTP 401")
    assert lines["webhooks"] == "skip needs a working bot token"
    assert lines["admin token"].startswith("ok ")


def test_a_revoked_admin_token_without_refresh_settings(emulator, ready, tmp_path):
    del emulator.state.grants["admin-token"]

    code, lines = check(ready, tmp_path)

    assert code == 1
    assert lines["admin token"] == ("FAIL the admin token was refused and no refresh settings "
                                    "exist")
    assert {lines[name] for name in ("admin role", "admin scopes", "managed org",
                                     "voicemail rules")} == {"skip needs a working admin token"}


def test_an_expired_admin_token_is_refreshed_when_refresh_settings_exist(emulator, ready, tmp_path):
    emulator.state.grants["refreshable-admin-token"].expired = True

    code, lines = check(ready, tmp_path, WEBEX_ADMIN_TOKEN="refreshable-admin-token",
                        WEBEX_ADMIN_CLIENT_ID="vmrules-client-id",
                        WEBEX_ADMIN_CLIENT_SECRET="vmrules-client-secret",
                        WEBEX_ADMIN_REFRESH_TOKEN="admin-refresh-token")

    assert code == 0, lines
    assert lines["admin token"] == "ok Alice Fuller (alice@acme.example) (refreshed)"


def test_the_admin_token_of_a_read_only_administrator(emulator, ready, tmp_path):
    emulator.state.grants["rita-admin"] = Grant(token="rita-admin", person_id=emulator.id("rita"),
                                                kind="integration", scopes=ADMIN_SCOPES)

    code, lines = check(ready, tmp_path, WEBEX_ADMIN_TOKEN="rita-admin")

    assert code == 1
    assert lines["admin role"] == ("FAIL Rita Reed has Read-only Administrator; changing the rules "
                                   "needs Full Administrator")
    assert lines["admin token"] == "ok Rita Reed (rita@acme.example)"
    assert lines["voicemail rules"].startswith("ok readable")


def test_a_missing_scope_is_named(emulator, ready, tmp_path):
    scopes = [s for s in ADMIN_SCOPES if s != "spark-admin:roles_read"]
    emulator.state.grants["no-roles"] = Grant(token="no-roles", person_id=emulator.id("alice"),
                                              kind="integration", scopes=scopes)

    code, lines = check(ready, tmp_path, WEBEX_ADMIN_TOKEN="no-roles")

    assert code == 1
    assert lines["admin scopes"].startswith("FAIL missing or refused: spark-admin:roles_read")
    assert lines["admin role"].startswith("skip ")


def test_missing_webhooks(env, tmp_path):
    store.upgrade(env["DATABASE_URL"])

    code, lines = check(env, tmp_path)

    assert code == 1
    assert lines["webhooks"] == ("FAIL messages/created missing; attachmentActions/created missing;"
                                 " run `flask --app app webhooks sync`")


def test_an_unreachable_database(ready, tmp_path):
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"

    code, lines = check(ready, tmp_path, DATABASE_URL=url)

    assert code == 1
    assert lines["database"] == f"FAIL cannot connect to {url} (OperationalError)"
    assert lines["admin token"].startswith("ok ")  # the configured token is still checked
    assert lines["webhooks"].startswith("ok ")


REFRESH_ONLY = {"WEBEX_ADMIN_CLIENT_ID": "vmrules-client-id",
                "WEBEX_ADMIN_CLIENT_SECRET": "vmrules-client-secret",
                "WEBEX_ADMIN_REFRESH_TOKEN": "admin-refresh-token"}


def test_refresh_settings_without_an_admin_token(ready, tmp_path):
    env = {k: v for k, v in ready.items() if k != "WEBEX_ADMIN_TOKEN"}

    code, lines = check(env, tmp_path, **REFRESH_ONLY)

    assert code == 0, lines
    assert lines["admin token"].startswith("ok Alice Fuller (alice@acme.example)")


def test_refresh_settings_without_an_admin_token_or_a_database(ready, tmp_path):
    env = {k: v for k, v in ready.items() if k != "WEBEX_ADMIN_TOKEN"}

    code, lines = check(env, tmp_path, DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none",
                        **REFRESH_ONLY)

    assert code == 1
    assert lines["admin token"] == ("FAIL not checked: WEBEX_ADMIN_TOKEN is not set and the database"
                                    " (where refreshed tokens live) is not ready")


def test_sqlite_where_the_disk_does_not_survive_a_restart_is_a_warning(ready, tmp_path):
    done = flask_cli(ready | {"PORT": "5000", "DYNO": "web.1"}, tmp_path, "check")

    *checks, warning = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr  # a warning fails nothing
    assert len(checks) == len(CHECKS) and all(line.startswith("ok ") for line in checks)
    assert warning.startswith("WARN database durability: DATABASE_URL is SQLite on a platform "
                              "that sets PORT and DYNO, whose disk does not survive a restart")
    assert warning.endswith("Set DATABASE_URL to a PostgreSQL database (postgresql+psycopg://...)")


def test_port_alone_is_no_platform_with_a_throwaway_disk(ready, tmp_path):
    code, lines = check(ready, tmp_path, PORT="5000")  # the helper wants exactly the checks

    assert code == 0
