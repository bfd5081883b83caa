"""Run the bot as operators do: ``gunicorn app:app`` with the checked-in gunicorn config, started
and stopped by the launcher ``make demo`` and ``make bench`` use too (``devtools.processes``)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from bot.config import Settings
from devtools.processes import BIN, Process, free_port, gunicorn_command, start
from tests.support.paths import REPO

BotProcess = Process  # what start_gunicorn returns: .url, .log(), .stop(), .kill(), .popen

__all__ = ["BIN", "REPO", "BotProcess", "GunicornBot", "bot_env", "flask_cli", "free_port",
           "start_gunicorn", "start_gunicorn_bot"]


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


@dataclass
class GunicornBot:
    """The bot under gunicorn, as ``start_bot`` gives it in-process: its URL, the settings it
    was started with (a test opens its database with them) and ``stop()``."""

    url: str
    settings: Settings
    process: Process

    def stop(self) -> None:
        # Quick shutdown (SIGQUIT): a graceful one waits up to `keepalive` (5 s) for the
        # emulator's idle keep-alive connections, which a test's end does not need.
        self.process.stop(sig=signal.SIGQUIT)


def settings_environment(settings: Settings) -> dict[str, str]:
    """The environment variables that give a deployment exactly ``settings`` (field names are
    the variables' names; secrets revealed, lists comma-joined, unset ones left out)."""
    env = {}
    for name, value in settings.model_dump().items():
        if value is None or value == ():
            continue
        if isinstance(value, tuple):
            value = ",".join(_revealed(item) for item in value)
        env[name.upper()] = _revealed(value)
    return env


def _revealed(value: object) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


def start_gunicorn_bot(emulator, tmp_path: Path, *, workers: int = 2,
                       **overrides) -> GunicornBot:
    """``start_bot``'s deployment under gunicorn (``workers`` processes): the same settings
    (``make_settings``'s, with ``overrides``), its database migrated by ``flask db upgrade`` as an
    operator does, webhooks registered at the emulator for it."""
    from bot.webex.clients import bot_api
    from bot.webex.webhooks import sync
    from tests.support.factories import SECRET, make_settings

    port = free_port()
    settings = make_settings(tmp_path, **({"webex_base_url": emulator.base_url,
                                           "public_url": f"http://127.0.0.1:{port}/"} | overrides))
    names = {name.upper() for name in Settings.model_fields}
    env = {name: value for name, value in os.environ.items() if name.upper() not in names}
    env |= {"PYTHONPATH": str(REPO)} | settings_environment(settings)
    upgraded = flask_cli(env, tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    process = start_gunicorn(env, tmp_path, port, workers=workers)
    sync(bot_api(settings), target_url=f"{process.url}/webhooks/webex", secret=SECRET)
    return GunicornBot(process.url, settings, process)
