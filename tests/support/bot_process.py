"""Run the bot as operators do: ``gunicorn app:app`` with the checked-in gunicorn config, started
and stopped by the launcher ``make demo`` and ``make bench`` use too (``devtools.processes``)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from devtools.processes import BIN, Process, free_port, gunicorn_command, start
from tests.support.paths import REPO

BotProcess = Process  # what start_gunicorn returns: .url, .log(), .stop(), .kill(), .popen

__all__ = ["BIN", "REPO", "BotProcess", "bot_env", "flask_cli", "free_port", "start_gunicorn"]


def bot_env(emulator, workdir: Path, secret: str, port: int, **extra: str) -> dict[str, str]:
    """The environment a deployment against ``emulator`` would have (nothing from ``.env``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBEX_", "BOT_", "PUBLIC_"))}
    env.update({
        "WEBEX_BOT_TOKEN": "bot-token",
        "WEBEX_ADMIN_TOKEN": "admin-token",
        "WEBEX_WEBHOOK_SECRET": secret,
        "WEBEX_BASE_URL": emulator.base_url,
        "PUBLIC_URL": f"http://127.0.0.1:{port}/",
        "DATABASE_URL": f"sqlite:///{workdir / 'bot.sqlite3'}",
        "PYTHONPATH": str(REPO),
        "WATCH_INTERVAL_SECONDS": "0",  # off unless a test watches: its reads would count as calls
    })
    env.update(extra)
    return env


def start_gunicorn(env: dict[str, str], workdir: Path, port: int, *, workers: int = 2,
                   wait: bool = True) -> Process:
    """Start gunicorn in ``workdir`` (so no stray ``.env`` is read) and wait for ``/healthz``
    (failing with the log's tail if gunicorn exits or does not answer within 30 s)."""
    url = f"http://127.0.0.1:{port}"
    return start("gunicorn", gunicorn_command(port, "--workers", str(workers)), env=env,
                 cwd=workdir, log_path=workdir / f"gunicorn-{port}-{time.monotonic_ns()}.log",
                 url=url, ready_url=f"{url}/healthz" if wait else None)


def start_one_worker_bot(emulator, workdir: Path, secret: str, **extra: str) -> Process:
    """A bot for a whole test module: one gunicorn worker, its own secret key, events let go
    after 2 s (so a retried event comes back soon); no webhooks registered, tests deliver."""
    from cryptography.fernet import Fernet

    port = free_port()
    env = bot_env(emulator, workdir, secret, port, BOT_SECRET_KEY=Fernet.generate_key().decode(),
                  EVENT_LEASE_SECONDS="2", **extra)
    return start_gunicorn(env, workdir, port, workers=1)


def flask_cli(env: dict[str, str], workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``flask --app app ARGS`` as an operator would."""
    return subprocess.run([str(BIN / "flask"), "--app", "app", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=60)
