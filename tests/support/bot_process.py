"""Run the bot as operators do: ``gunicorn app:app`` with the checked-in gunicorn config."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.paths import REPO

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    })
    env.update(extra)
    return env


@dataclass
class BotProcess:
    process: subprocess.Popen
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, as a crashed machine would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:  # whatever is left of its session (a worker that outlived the master) goes too
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


def start_gunicorn(env: dict[str, str], workdir: Path, port: int, *, workers: int = 2,
                   wait: bool = True) -> BotProcess:
    """Start gunicorn in ``workdir`` (so no stray ``.env`` is read) and wait for ``/healthz``."""
    log_path = workdir / f"gunicorn-{port}-{time.monotonic_ns()}.log"
    command = [str(BIN / "gunicorn"), "app:app", "-c", str(REPO / "gunicorn.conf.py"),
               "--pythonpath", str(REPO), "-b", f"127.0.0.1:{port}", "--workers", str(workers)]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    bot = BotProcess(process, f"http://127.0.0.1:{port}", log_path)
    if wait:
        _wait_healthy(bot)
    return bot


def _wait_healthy(bot: BotProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bot.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited early:\n{bot.log()}")
        try:
            if requests.get(f"{bot.url}/healthz", timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or listening while the workers still boot
        time.sleep(0.1)
    bot.stop()
    raise RuntimeError(f"gunicorn did not become healthy:\n{bot.log()}")


def flask_cli(env: dict[str, str], workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``flask --app app ARGS`` as an operator would."""
    return subprocess.run([str(BIN / "flask"), "--app", "app", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=60)
