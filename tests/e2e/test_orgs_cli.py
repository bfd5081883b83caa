"""``flask --app app orgs list|connect|disconnect`` as an operator runs them, beside the bot under
gunicorn, against the emulator: acme is the home org (WEBEX_ADMIN_TOKEN); the Service App is
authorized in initech, not in globex."""

from __future__ import annotations

import subprocess
import time

import pytest
from cryptography.fernet import Fernet

from bot.ops.preflight import org_label
from bot.webex.orgs import GRANTS_RECHECK_SECONDS
from tests.support.bot_process import BIN, bot_env, flask_cli, free_port, start_gunicorn
from tests.support.bot_server import card_text
from tests.support.deliveries import deliver, event_for, say
from tests.support.factories import SECRET
from tests.support.waiting import wait_until

SERVICE_APP = {"WEBEX_ADMIN_CLIENT_ID": "vmrules-sa-client-id",
               "WEBEX_ADMIN_CLIENT_SECRET": "vmrules-sa-client-secret",
               "WEBEX_APPLICATIONS_TOKEN": "developer-token"}


@pytest.fixture
def deployment(emulator, tmp_path):
    port = free_port()
    env = bot_env(emulator, tmp_path, SECRET, port, **SERVICE_APP,
                  WEBEX_SERVICE_APP_ID=emulator.id("vmrules-service-app"),
                  BOT_SECRET_KEY=Fernet.generate_key().decode(), WATCH_INTERVAL_SECONDS="0")
    bot = start_gunicorn(env, tmp_path, port, workers=1)
    yield bot, env, tmp_path
    bot.stop()


def orgs(env, workdir, *args: str) -> subprocess.CompletedProcess:
    return flask_cli(env, workdir, "orgs", *args)


def answer_to(emulator, bot, key: str, text: str) -> str:
    room = f"dm-{key}"
    bot_id, room_id = emulator.id("bot"), emulator.id(room)

    def replies() -> list[dict]:
        with emulator.state.lock:
            return [dict(m) for m in emulator.state.messages.values()
                    if m["personId"] == bot_id and m["roomId"] == room_id]

    before = len(replies())
    message = say(emulator, text, key=key, room=room)
    assert deliver(bot.url, *event_for(emulator, message)) in (200, 202)
    reply = wait_until(lambda: replies()[before:], f"the bot's answer to {key}", timeout=20)[-1]
    return card_text(reply) if reply.get("attachments") else reply["markdown"]


def test_the_operator_connects_lists_and_disconnects_orgs(emulator, deployment):
    bot, env, workdir = deployment
    initech, globex, acme = (emulator.id(key) for key in ("initech", "globex", "acme"))

    done = orgs(env, workdir, "connect", "--org-id", initech)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stored: the Service App acts as" in done.stdout and "(Initech)" in done.stdout
    refused = orgs(env, workdir, "connect", "--org-id", globex)
    assert refused.returncode == 1 and "Webex refused the Service App token" in refused.stderr
    home = orgs(env, workdir, "connect", "--org-id", acme)
    assert home.returncode == 1 and "is the home org, connected by WEBEX_ADMIN_TOKEN" in home.stderr

    assert "Passcodes expire after 60 days" in answer_to(emulator, bot, "iris", "show")
    assert "Passcodes expire after 100 days" in answer_to(emulator, bot, "alice", "show")

    listed = orgs(env, workdir, "list")
    assert listed.returncode == 0, listed.stderr
    assert "source: WEBEX_ADMIN_TOKEN, the home org" in listed.stdout
    assert f"({initech}, Initech)" in listed.stdout and "source: service-app" in listed.stdout
    assert "open change requests: 0" in listed.stdout and "status: ok" in listed.stdout
    assert "watcher: has not read the rules yet" in listed.stdout
    assert globex not in listed.stdout
    status = flask_cli(env, workdir, "admin", "status")
    assert status.returncode == 0 and "source: the settings (WEBEX_ADMIN_TOKEN)" in status.stdout
    assert "Initech" in status.stdout
    check = flask_cli(env, workdir, "check")
    assert any(line.startswith("ok ") and ": Initech: service-app, access token until" in line
               for line in check.stdout.splitlines()), check.stdout
    for output in (done, listed, status, check):
        assert "developer-token" not in output.stdout + output.stderr
        assert "admin-token" not in output.stdout + output.stderr

    uuid = org_label(initech)  # the org's id as Control Hub shows it, and orgs list first
    wrong = orgs(env, workdir, "disconnect", "--org-id", uuid, "--yes")
    assert wrong.returncode == 1 and f"no org is kept by the id '{uuid}'" in wrong.stderr
    assert "--org-id takes its id as Webex's API gives it (Y2lz..." in wrong.stderr
    assert "is not connected" not in wrong.stderr and "Initech" in orgs(env, workdir, "list").stdout
    kept = subprocess.run([str(BIN / "flask"), "--app", "app", "orgs", "disconnect", "--org-id",
                           initech], cwd=workdir, env=env, input="n\n", capture_output=True,
                          text=True, timeout=60)
    assert kept.returncode == 1 and "the stored token pair" in kept.stdout
    assert "not disconnected: nothing was forgotten" in kept.stderr
    gone = orgs(env, workdir, "disconnect", "--org-id", initech, "--yes")
    assert gone.returncode == 0 and "disconnected" in gone.stdout, gone.stderr
    assert "Initech" not in orgs(env, workdir, "list").stdout
    time.sleep(GRANTS_RECHECK_SECONDS + 0.5)  # the running bot reads the stored orgs again
    assert "Your organization is not connected" in answer_to(emulator, bot, "iris", "show")
    again = orgs(env, workdir, "disconnect", "--org-id", initech, "--yes")
    assert again.returncode == 1 and "is not connected" in again.stderr
    home = orgs(env, workdir, "disconnect", "--org-id", acme, "--yes")
    assert home.returncode == 1 and "is the home org" in home.stderr
