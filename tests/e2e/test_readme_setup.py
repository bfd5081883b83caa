"""README's "Production setup" followed on a fresh clone, against the emulator (issue 14, item 6),
and ``make demo CONNECT=1`` in that clone (item 7: the demo needs only ``requirements.txt``; the
operator command it prints works against it).

The commands are README's own: the fenced blocks marked ``<!-- setup: NAME -->`` are read from
README and run as written with bash in the clone's root, so README and this test cannot drift.
Only the ``.env`` values differ (README's block names the variables; each gets a value for the
emulator here, and a variable this test does not know fails it) and ``WEBEX_BASE_URL`` is added.
No ``WEBEX_ADMIN_TOKEN`` anywhere: the org is connected through the Integration's consent page.

The clone is ``git clone`` of this checkout, so it holds the committed state only. Its ``.venv``
is made by README's install block (``pip install -r requirements.txt -c constraints.txt`` from the
package index as configured on the machine, as an operator's would be; about 20 s with pip's cache
warm), never shared with this checkout's.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from devtools.processes import Process, free_port, port_in_use, start
from tests.support.bot_server import Persona, card_text
from tests.support.consent import consent
from tests.support.paths import REPO
from tests.support.waiting import wait_until

BLOCK = re.compile(r"<!-- setup: (?P<name>[\w-]+) -->\n```\w*\n(?P<body>.*?)```", re.DOTALL)
# What an operator's shell passes on: nothing of the bot's settings, of this checkout (no
# PYTHONPATH, no virtual environment) or of pytest; pip's and the proxies' configuration.
SHELL_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")
DEV_TOOLS = ("pytest", "ruff", "mypy", "playwright", "lint-imports")
SECRET = "readme-webhook-secret-0123456789"
BOT_SECRET_KEY = "ZmRzYWZkc2FmZHNhZmRzYWZkc2FmZHNhZmRzYWZkc2E="  # a Fernet key


def readme_blocks() -> dict[str, str]:
    return {m["name"]: m["body"] for m in BLOCK.finditer((REPO / "README.md").read_text())}


def operator_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k in SHELL_VARIABLES or k.startswith("PIP_") or k.lower().endswith("_proxy")}
    return env | extra


def run_block(name: str, clone: Path, timeout: float = 120, **extra: str) -> str:
    """Run README's block ``name`` in the clone's root; its output (the test fails on exit != 0)."""
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_blocks()[name]], cwd=clone,
                          env=operator_env(**extra), capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"README's {name} block failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A fresh clone with README's install block done."""
    where = tmp_path_factory.mktemp("readme") / "vmbot"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(where)], check=True, timeout=120)
    run_block("install", where, timeout=900)
    return where


def dotenv(values: dict[str, str], emulator) -> str:
    """README's ``.env`` block with this test's value for each variable it names."""
    lines = []
    for line in readme_blocks()["env"].splitlines():
        name, sep, _ = line.partition("=")
        if not sep or line.startswith("#"):
            continue
        assert name in values, f"README's .env names {name}: give this test a value for it"
        lines.append(f"{name}={values[name]}")
    return "\n".join([*lines, f"WEBEX_BASE_URL={emulator.base_url}"]) + "\n"


def settings_for(emulator, clone: Path, port: int) -> dict[str, str]:
    return {
        "WEBEX_BOT_TOKEN": "bot-token",
        "WEBEX_WEBHOOK_SECRET": SECRET,
        "WEBEX_ADMIN_CLIENT_ID": "vmrules-client-id",  # the emulator's seeded Integration
        "WEBEX_ADMIN_CLIENT_SECRET": "vmrules-client-secret",
        "PUBLIC_URL": f"http://127.0.0.1:{port}/",
        "BOT_SECRET_KEY": BOT_SECRET_KEY,
        "OPS_TOKEN": "readme-ops-token-0123456789",
        # README's example is PostgreSQL; this disk survives the test, so SQLite (step 3) will do.
        "DATABASE_URL": f"sqlite:///{clone / 'instance' / 'bot.sqlite3'}",
    }


def start_readme_gunicorn(clone: Path, port: int) -> Process:
    # README's start block as written; where it listens is chosen as README says, by
    # GUNICORN_CMD_ARGS, so that two runs never want one port.
    return start("gunicorn (README's start block)", ["bash", "-c", readme_blocks()["start"]],
                 env=operator_env(GUNICORN_CMD_ARGS=f"--bind=127.0.0.1:{port}"), cwd=clone,
                 log_path=clone.parent / f"gunicorn-{port}.log", url=f"http://127.0.0.1:{port}",
                 ready_url=f"http://127.0.0.1:{port}/healthz", timeout=60)


@pytest.mark.timeout(900)
def test_readmes_production_setup_on_a_clean_clone_ends_with_show_working(emulator, clone):
    port = free_port()
    env_file = clone / ".env"
    env_file.write_text(dotenv(settings_for(emulator, clone, port), emulator))
    assert "WEBEX_ADMIN_TOKEN" not in env_file.read_text()
    bot = None
    try:
        assert "database is up to date" in run_block("migrate", clone)
        bot = start_readme_gunicorn(clone, port)
        run_block("webhooks", clone)
        assert {w["targetUrl"] for w in emulator.state.webhooks.values()} == {
            f"http://127.0.0.1:{port}/webhooks/webex"}

        [url] = [line for line in run_block("authorize", clone).splitlines()
                 if line.startswith("http")]
        page = requests.get(consent(emulator, url, person="alice"), timeout=30)
        assert page.status_code == 200 and "The bot is authorized" in page.text, page.text

        verified = run_block("verify", clone)  # admin status, then check: exit 0 for both
        assert "source: integration" in verified and "FAIL" not in verified, verified
        alice = Persona(emulator, "alice")
        alice.say("show")
        reply = alice.wait_reply(timeout=30)
        assert "Voicemail passcode rules" in card_text(reply), reply
    finally:
        env_file.unlink()
        if bot is not None:
            bot.stop()


class DemoEmulator:
    """The emulator ``make demo`` started, as ``consent`` needs it (ids from its directory)."""

    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.url}/v1/"
        self._ids = requests.get(f"{self.url}/_emulator/directory", timeout=10).json()["ids"]

    def id(self, key: str) -> str:
        return self._ids[key]


def stop_demo(make: Process) -> None:
    """Ctrl-C as a terminal would send it: to the demo script, which stops what it started."""
    for pid in make.children():
        os.kill(pid, signal.SIGINT)
    make.popen.wait(timeout=60)


@pytest.mark.timeout(600)
def test_make_demo_installs_only_the_runtime_and_connects_the_org_by_consent(clone):
    emulator_port, bot_port = free_port(), free_port()
    env = operator_env(EMULATOR_PORT=str(emulator_port), BOT_PORT=str(bot_port))
    # NODE_STAMP= : the page's npm packages are not what this is about (and need the registry).
    make = start("make demo", ["make", "demo", "CONNECT=1", "NODE_STAMP="], env=env, cwd=clone,
                 log_path=clone.parent / "demo.log")
    try:
        wait_until(lambda: "demo is running" in make.log(), "make demo to start", timeout=300,
                   detail=make.log_tail)
        consent_link = f"http://127.0.0.1:{emulator_port}/v1/authorize?"
        links = [line.strip() for line in make.log().splitlines()
                 if line.strip().startswith(consent_link)]
        assert len(links) == 1, make.log_tail()
        url = links[0]
        venv = clone / ".venv"
        assert list(venv.glob(".installed-runtime-*")) and not list(venv.glob(".installed-dev-*"))
        assert [tool for tool in DEV_TOOLS if (venv / "bin" / tool).exists()] == []

        before = subprocess.run([str(venv / "bin" / "python"), "scripts/talk.py", "alice", "show"],
                                cwd=clone, env=env, capture_output=True, text=True, timeout=60)
        assert "not yet authorized" in before.stdout, before.stdout + before.stderr
        page = requests.get(consent(DemoEmulator(emulator_port), url), timeout=30)
        assert "The bot is authorized" in page.text, page.text
        after = subprocess.run([str(venv / "bin" / "python"), "scripts/talk.py", "alice", "show"],
                               cwd=clone, env=env, capture_output=True, text=True, timeout=60)
        assert "Voicemail passcode rules" in after.stdout, after.stdout + after.stderr
        # The operator commands, as the demo prints them, act on the demo's bot.
        [command] = [line.split(": ", 1)[1].strip() for line in make.log().splitlines()
                     if line.strip().startswith("Operator commands")]
        listed = subprocess.run(["bash", "-c", command], cwd=clone, env=env, capture_output=True,
                                text=True, timeout=60)
        assert listed.returncode == 0 and "source: integration" in listed.stdout, \
            listed.stdout + listed.stderr
    finally:
        stop_demo(make)
        make.stop()
    assert not port_in_use(emulator_port) and not port_in_use(bot_port), "the demo left a process"
    assert not (clone / "instance" / "demo.env").exists(), "the demo left its settings behind"
