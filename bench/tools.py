"""What the benchmark's sections share: figures over repeated runs, the processes it starts and
measures, and the emulator as the benchmark drives it (its control API and its people)."""

from __future__ import annotations

import hashlib
import hmac
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from devtools.processes import Process, start

# --- small helpers -------------------------------------------------------------------------------

def stats(values: list[float]) -> dict:
    """Median, quartiles and range of repeated runs (the runs themselves kept)."""
    values = [v for v in values if v is not None]
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    q1, q3 = (statistics.quantiles(ordered, n=4, method="inclusive")[i] for i in (0, 2)) \
        if len(ordered) > 1 else (ordered[0], ordered[0])
    return {"n": len(ordered), "median": statistics.median(ordered), "q1": q1, "q3": q3,
            "min": ordered[0], "max": ordered[-1], "runs": values}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def iso_seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


# --- processes -----------------------------------------------------------------------------------

def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def launch(name: str, command: list[str], *, cwd: Path, env: dict, url: str, ready: str,
           workdir: Path) -> Process:
    """Start ``command`` with its log in ``workdir`` and wait up to 60 s for ``url + ready``."""
    return start(name, command, env=env, cwd=cwd, log_path=workdir / f"{name}-{time.monotonic_ns()}.log",
                 url=url, ready_url=url + ready, timeout=60)


def base_env() -> dict[str, str]:
    """The environment without anything that would change the bot's or gunicorn's settings."""
    drop = ("WEBEX_", "BOT_", "PUBLIC_", "DATABASE_", "NOTIFY_", "WATCH_", "WEBHOOK_", "EVENT_",
            "WORKER_", "LOG_", "PROMETHEUS_", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "PORT")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


# --- the emulator --------------------------------------------------------------------------------

class Emulator:
    def __init__(self, process: Process):
        self.process = process
        self.url = process.url
        self.http = requests.Session()
        self.http.trust_env = False
        self.directory = self.control("GET", "directory").json()
        self.ids = self.directory["ids"]

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1/"

    def control(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.http.request(method, f"{self.url}/_emulator/{path}", timeout=70, **kwargs)
        response.raise_for_status()
        return response

    def api(self, method: str, path: str, token: str, **kwargs) -> requests.Response:
        response = self.http.request(method, f"{self.url}/v1/{path}", timeout=30,
                                     headers={"Authorization": f"Bearer {token}"}, **kwargs)
        response.raise_for_status()
        return response

    def say(self, key: str, text: str) -> dict:
        return self.api("POST", "messages", f"{key}-token",
                        json={"roomId": self.ids[f"dm-{key}"], "text": text}).json()

    def calls(self) -> dict[str, int]:
        return self.control("GET", "calls").json()["counts"]

    def call_log(self) -> list[dict]:
        return self.control("GET", "calls/log").json()["items"]

    def reset_calls(self) -> None:
        self.control("DELETE", "calls")

    def deliveries_idle(self) -> bool:
        response = self.http.post(f"{self.url}/_emulator/deliveries/wait", params={"timeout": 10},
                                  timeout=20)
        return response.status_code == 200

    def bot_messages(self, key: str) -> list[dict]:
        """Everything the bot wrote in ``key``'s 1:1 space, newest first (every page)."""
        url = f"{self.url}/v1/messages"
        params: dict[str, Any] | None = {"roomId": self.ids[f"dm-{key}"], "max": 1000}
        found = []
        for _ in range(1000):  # bounded paging
            response = self.http.get(url, params=params, timeout=60,
                                     headers={"Authorization": f"Bearer {key}-token"})
            response.raise_for_status()
            found += [m for m in response.json()["items"] if m["personId"] == self.ids["bot"]]
            following = response.links.get("next", {}).get("url")
            if not following:
                return found
            url, params = following, None
        raise RuntimeError("too many pages")


def progress(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)
