"""Start the emulator, gunicorn or any server as a child process, wait until it answers, stop it.

Used by the e2e and browser tests (``tests/support/bot_process.py``), ``make demo``
(``scripts/demo.py``) and ``make bench`` (``bench/run.py``)::

    emulator = start("emulator", [python, "-m", "emulator", "--port", "8900"], cwd=REPO,
                     env=env, log_path=workdir / "emulator.log",
                     ready_url="http://127.0.0.1:8900/_emulator/directory")
    ...
    emulator.stop()

Each process runs in its own session (process group), so that ``stop`` and ``kill`` also reach
what it started (gunicorn's workers). Without a ``log_path`` it writes to this terminal.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import requests

from devtools.waiting import wait_until

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the virtual environment's bin/ (gunicorn, flask)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class ProcessFailed(RuntimeError):
    """The process exited, or never answered, while it was starting."""


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    url: str = ""  # where it serves, when it does
    log_path: Path | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        """Everything it wrote so far ('' when it writes to the terminal)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def log_tail(self, chars: int = 3000) -> str:
        if self.log_path is None:
            return "(its output is above)"
        return self.log()[-chars:]

    def answers(self, url: str) -> bool:
        """True once ``url`` answers 200; ``ProcessFailed`` with the log's tail if it died."""
        if not self.running():
            raise ProcessFailed(f"{self.name} exited (code {self.popen.returncode}) during "
                                f"start-up:\n{self.log_tail()}")
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def wait_ready(self, url: str, timeout: float = 30.0) -> None:
        """Wait until ``url`` answers 200; stop the process and raise ``ProcessFailed`` (with the
        log's tail) if it dies first or does not answer in time."""
        try:
            wait_until(lambda: self.answers(url), f"{self.name} to answer at {url}",
                       timeout=timeout, interval=0.1)
        except ProcessFailed:
            self.stop()
            raise
        except AssertionError as timed_out:
            self.stop()
            raise ProcessFailed(f"{timed_out}\n{self.log_tail()}") from None

    def stop(self, timeout: float = 20.0, sig: int = signal.SIGTERM) -> int | None:
        """Ask it to stop with ``sig``; after ``timeout`` seconds, SIGKILL. Whatever is left of its
        process group (a worker that outlived the master) is killed too. Returns the exit code."""
        if self.running():
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self._kill_group()
        return self.popen.wait()

    def kill(self) -> None:
        """SIGKILL it and everything it started at once, as a crashed machine would."""
        self._kill_group()
        self.popen.wait()

    def children(self) -> list[int]:
        """The pids of its direct children (gunicorn's workers), from /proc."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.popen.pid:
                    pids.append(int(entry.name))
        return sorted(pids)

    def _kill_group(self) -> None:
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def start(name: str, command: list[str], *, env: dict[str, str], cwd: Path,
          log_path: Path | None = None, ready_url: str | None = None, url: str = "",
          timeout: float = 30.0) -> Process:
    """Start ``command`` in ``cwd`` with exactly ``env``, its output in ``log_path`` (or this
    terminal). With ``ready_url``, wait until that answers 200 (see ``Process.wait_ready``)."""
    if log_path is None:
        popen = subprocess.Popen(command, cwd=cwd, env=env, start_new_session=True)
    else:
        with open(log_path, "wb") as log_file:
            popen = subprocess.Popen(command, cwd=cwd, env=env, stdout=log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)
    process = Process(name, popen, url, log_path)
    if ready_url is not None:
        process.wait_ready(ready_url, timeout)
    return process


def emulator_command(port: int, *extra: str) -> list[str]:
    """``python -m emulator`` on ``port`` (run it with ``cwd=REPO``)."""
    return [str(BIN / "python"), "-m", "emulator", "--port", str(port), *extra]


def gunicorn_command(port: int, *extra: str, app: str = "app:app",
                     config: Path = REPO / "gunicorn.conf.py", pythonpath: Path = REPO) -> list[str]:
    """``gunicorn app:app`` with the checked-in config (as the Procfile runs it) on ``port``."""
    return [str(BIN / "gunicorn"), app, "-c", str(config), "--pythonpath", str(pythonpath),
            "-b", f"127.0.0.1:{port}", *extra]
