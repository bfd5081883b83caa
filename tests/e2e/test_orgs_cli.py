"""``flask --app app orgs list|connect|disconnect`` as an operator runs them, beside the bot under
gunicorn, against the emulator: acme is the home org (WEBEX_ADMIN_TOKEN); the Service App is
authorized in initech, not in globex. And the operators' views of several orgs (``/healthz``,
``check``, ``admin status``) when one org's pair is refused."""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime

import pytest
import requests
from cryptography.fernet import Fernet

from bot.ops.preflight import org_label
from bot.storage.store import Store
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


def admin_token_health(bot) -> dict:
    return requests.get(f"{bot.url}/healthz", timeout=10).json()["components"]["admin_token"]


def check_lines(env, workdir) -> tuple[int, dict[str, str]]:
    """``check``'s exit code and each line (its status and detail) by the check's name."""
    done = flask_cli(env, workdir, "check")
    lines = {}
    for line in done.stdout.splitlines():
        status, _, rest = line.partition(" ")
        name, _, detail = rest.strip().partition(": ")
        lines[name] = f"{status} {detail}"
    return done.returncode, lines


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
    assert ("ok   admin token: Alice Fuller (alice@acme.example); these admin lines are about "
            "the home org (WEBEX_ADMIN_TOKEN's); 1 other connected org: its `org` line below, "
            "from the database") in check.stdout
    health = admin_token_health(bot)
    assert health["ok"] is True and health["orgs"] == 2 and health["orgs_with_problem"] == 0
    assert health["sources"] == {"settings": 1, "service-app": 1}
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


@pytest.fixture
def stored_pairs(emulator, tmp_path):
    """No WEBEX_ADMIN_TOKEN: initech, then acme (the home org, WEBEX_ORG_ID) connected by Service
    App pairs; acme's access tokens live 4 s, so they are refreshed often."""
    port = free_port()
    env = bot_env(emulator, tmp_path, SECRET, port, **SERVICE_APP,
                  WEBEX_SERVICE_APP_ID=emulator.id("vmrules-service-app"),
                  WEBEX_ORG_ID=emulator.id("acme"),
                  BOT_SECRET_KEY=Fernet.generate_key().decode(), WATCH_INTERVAL_SECONDS="0")
    del env["WEBEX_ADMIN_TOKEN"]
    bot = start_gunicorn(env, tmp_path, port, workers=1)  # it migrates the database
    for key, token_seconds in (("initech", None), ("acme", 4)):
        emulator.control("POST", "settings", json={"accessTokenSeconds": token_seconds})
        done = orgs(env, tmp_path, "connect", "--org-id", emulator.id(key))
        assert done.returncode == 0, done.stdout + done.stderr
    yield bot, env, tmp_path
    bot.stop()


def revoke(emulator, org_key: str) -> None:
    """The org takes the Service App's access away: every token of its machine account is gone."""
    org_id = emulator.id(org_key)
    with emulator.state.lock:
        for token in [t for t, g in emulator.state.grants.items() if g.kind == "serviceApp"
                      and emulator.state.people[g.person_id]["orgId"] == org_id]:
            del emulator.state.grants[token]


def learn_home(env: dict[str, str], org_id: str) -> None:
    """The home org as the bot keeps it once learned (``""``: it found several orgs)."""
    from bot.storage.models import HomeOrg

    store = Store(env["DATABASE_URL"])
    try:
        with store.session() as session, session.begin():
            session.merge(HomeOrg(name="home", org_id=org_id, learned_at=datetime.now(UTC)))
    finally:
        store.dispose()


def test_one_orgs_refused_pair_is_not_hidden_behind_the_good_pair_authorized_first(
        emulator, stored_pairs):
    bot, env, workdir = stored_pairs
    acme, initech = emulator.id("acme"), emulator.id("initech")
    assert admin_token_health(bot)["ok"] is True

    revoke(emulator, "acme")
    health = wait_until(lambda: (lambda h: h if not h["ok"] else None)(admin_token_health(bot)),
                        "healthz to show acme's refused refresh", timeout=30)

    assert health["orgs"] == 2 and health["orgs_with_problem"] == 1
    assert "1 of 2 connected orgs need an operator (1 refused refresh(es))" in health["problem"]
    assert "`flask --app app admin status`" in health["problem"]
    for named in (acme, initech, org_label(acme), org_label(initech), "Initech", "Acme"):
        assert named not in str(health)  # which org: admin status, orgs list, check

    code, lines = check_lines(env, workdir)  # the live lines are the home org's: acme
    assert code == 1, lines
    assert lines["admin token"].startswith("FAIL Webex refused to refresh the admin token"), lines
    assert lines["admin token"].endswith(
        f"; these admin lines are about org {org_label(acme)} (Acme Telephony), the home org "
        "(WEBEX_ORG_ID); 1 other connected org: its `org` line below, from the database"), lines
    assert lines[f"org {org_label(acme)}"].startswith("FAIL Acme Telephony: service-app")
    assert lines[f"org {org_label(initech)}"].startswith("ok Initech: service-app")

    without_home = {k: v for k, v in env.items() if k != "WEBEX_ORG_ID"}  # initech tried: first
    code, lines = check_lines(without_home | {"NOTIFY_ROOM_IDS": emulator.id("notify")}, workdir)
    assert code == 1, lines  # acme's line still fails
    assert lines["home org"] == (
        "WARN 2 orgs are connected and none is the home org (the bot will find several): "
        "NOTIFY_ROOM_IDS are told of nothing until WEBEX_ORG_ID names the home org"), lines
    assert lines["admin token"] == (
        "ok Voicemail Rules Service App (vmrules-service-app@initech.machine.example); these "
        f"admin lines are about org {org_label(initech)} (Initech), the first authorized (there "
        "is no home org); 1 other connected org: its `org` line below, from the database"), lines
    assert lines["voicemail rules"] == "ok readable (passcode expiry 60 days)"  # initech's
    assert lines["managed org"] == f"ok {org_label(initech)} (Initech), the admin token's own org"
    assert lines[f"org {org_label(acme)}"].startswith("FAIL Acme Telephony: service-app")

    globex = emulator.id("globex")  # a home org that is not connected: a warning, initech tried
    code, lines = check_lines(env | {"WEBEX_ORG_ID": globex}, workdir)
    assert lines["home org"] == (
        f"WARN WEBEX_ORG_ID names org {org_label(globex)}, which has no stored pair: that org is "
        "not connected, and NOTIFY_ROOM_IDS belong to it; connect it (`flask --app app orgs "
        "connect --org-id` with it) or correct WEBEX_ORG_ID"), lines
    assert "the first authorized (the home org is not connected)" in lines["admin token"]

    # Without WEBEX_ORG_ID, the home org the bot learned (kept for good) is what check goes by.
    told_nothing = "NOTIFY_ROOM_IDS are told of nothing until WEBEX_ORG_ID names the home org"
    learned_homes = [
        (initech, None),
        (globex, f"WARN the home org, org {org_label(globex)} (connected alone when the bot first "
                 f"looked, kept for good), is no longer connected: {told_nothing} or that org is "
                 "connected again"),
        ("", "WARN several orgs were connected when the bot first looked, so it has no home org: "
             f"{told_nothing}")]
    for learned, home_line in learned_homes:
        learn_home(env, learned)
        code, lines = check_lines(without_home | {"NOTIFY_ROOM_IDS": emulator.id("notify")},
                                  workdir)
        assert lines.get("home org") == home_line, lines
        why = ("the home org (connected alone when the bot first looked, kept)"
               if learned == initech else "the first authorized")
        assert f"about org {org_label(initech)} (Initech), {why}" in lines["admin token"], lines

    status = flask_cli(env, workdir, "admin", "status")
    assert status.returncode == 1 and "status: PROBLEM: Webex refused to refresh" in status.stdout
