"""``make bench``: how close the bot gets to the floor that Webex's own round trips set.

Starts the emulator (``python -m emulator``) and the bot as the Procfile does (``gunicorn app:app``
with ``gunicorn.conf.py``), each as its own process on 127.0.0.1, plus a minimal signed-webhook
receiver under the same gunicorn settings (``bench/baseline_app.py``) as the yardstick. Then:

1. Webex calls per interaction, counted by the emulator (``/_emulator/calls``).
2. Critical path of ``show``: webhook sent -> reply posted, with latency L on every Webex call.
3. Acknowledgement latency p50/p99 with 0 ms and with slow Webex, and against the baseline.
4. A burst of distinct signed events plus duplicates from many concurrent senders.
5. Resident memory per gunicorn worker after each burst.

Every figure is repeated and reported as median, quartiles and min/max. Writes ``REPORT.md``
and ``results.json`` (``--out``, default ``bench/``). Every loop is bounded; nothing leaves
127.0.0.1.
"""

from __future__ import annotations

import argparse
import ast
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a file (make bench): devtools is beside bench/

from many_orgs import OrgsParams, many_orgs  # noqa: E402
from report import render  # noqa: E402
from tools import (  # noqa: E402
    Emulator,
    base_env,
    cpu_seconds,
    iso_seconds,
    launch,
    percentile,
    progress,
    rss_mb,
    sign,
    stats,
)

from devtools.processes import BIN, Process, emulator_command, free_port, gunicorn_command  # noqa: E402
from devtools.waiting import wait_until  # noqa: E402

RULES = "GET /v1/telephony/config/voicemail/rules"
POST_MESSAGE = "POST /v1/messages"
SUBMIT = "POST /v1/attachment/actions"


# --- parameters ----------------------------------------------------------------------------------

@dataclass
class Params:
    runs: int = 5                 # repetitions of every interaction and latency figure
    latencies_ms: tuple[int, ...] = (100, 300)
    slow_ms: int = 1000           # Webex latency for the acknowledgement comparison
    ack_events: int = 200         # events per acknowledgement-latency run
    ack_senders: int = 8
    burst_runs: int = 5
    burst_events: int = 1000
    duplicate_share: float = 0.10
    senders: int = 50             # concurrent senders in the burst (and the baseline's run)
    drain_timeout_s: float = 240  # longest wait for the inbox to empty
    orgs: OrgsParams = field(default_factory=OrgsParams)  # 6. many orgs (0 orgs: skipped)

    @classmethod
    def quick(cls) -> Params:
        """A smoke run: every phase, tiny sizes (seconds, not minutes)."""
        return cls(runs=1, latencies_ms=(30,), slow_ms=100, ack_events=8, ack_senders=2,
                   burst_runs=1, burst_events=20, senders=5, drain_timeout_s=60,
                   orgs=OrgsParams.quick())


def bench_seed(path: Path, extra_people: int) -> None:
    """The emulator's seed plus Full Administrators ``bench01``... with 1:1 spaces with the bot,
    so that each "cold" run has a requester nobody looked up before."""
    seed = json.loads((REPO / "emulator" / "seed.json").read_text())
    for number in range(1, extra_people + 1):
        key = f"bench{number:02d}"
        seed["people"].append({
            "key": key, "org": "acme", "displayName": f"Bench Admin {number}",
            "firstName": "Bench", "lastName": f"Admin {number}", "email": f"{key}@acme.example",
            "type": "person", "roles": ["id_full_admin"], "persona": "Full Administrator"})
        seed["tokens"].append({"token": f"{key}-token", "person": key, "kind": "user",
                               "scopes": ["spark:all"]})
        seed["rooms"].append({"key": f"dm-{key}", "type": "direct", "members": [key, "bot"]})
    path.write_text(json.dumps(seed))


# --- the bot -------------------------------------------------------------------------------------

class Bench:
    def __init__(self, params: Params, workdir: Path):
        self.params = params
        self.workdir = workdir
        self.secret = secrets.token_urlsafe(24)
        self.fernet_key = __import__("cryptography.fernet", fromlist=["Fernet"]).Fernet \
            .generate_key().decode()
        self._emulator: Emulator | None = None
        self._bot: Process | None = None
        self.bot_env: dict[str, str] = {}
        self.fresh_people = iter(f"bench{n:02d}" for n in range(1, 100))
        self.results: dict = {}

    # processes

    def start_emulator(self) -> None:
        seed = self.workdir / "seed.json"
        bench_seed(seed, extra_people=3 * self.params.runs + 4)
        port = free_port()
        process = launch("emulator", emulator_command(port, "--seed", str(seed), "--log-level",
                                                      "WARNING"),
                         cwd=REPO, env=base_env() | {"PYTHONPATH": str(REPO)},
                         url=f"http://127.0.0.1:{port}", ready="/_emulator/directory",
                         workdir=self.workdir)
        self._emulator = Emulator(process)

    @property
    def emulator(self) -> Emulator:
        if self._emulator is None:
            raise RuntimeError("the emulator is not started (start_emulator)")
        return self._emulator

    @property
    def bot(self) -> Process:
        if self._bot is None:
            raise RuntimeError("the bot is not started (start_bot)")
        return self._bot

    def start_bot(self, name: str) -> Process:
        """``gunicorn app:app`` with the checked-in gunicorn.conf.py, in its own directory (so no
        stray ``.env`` is read) and with a database of its own."""
        directory = self.workdir / name
        directory.mkdir()
        port = free_port()
        self.bot_env = base_env() | {
            "WEBEX_BOT_TOKEN": "bot-token",
            "WEBEX_ADMIN_TOKEN": "admin-token",
            "WEBEX_WEBHOOK_SECRET": self.secret,
            "WEBEX_BASE_URL": self.emulator.base_url,
            "PUBLIC_URL": f"http://127.0.0.1:{port}/",
            "DATABASE_URL": f"sqlite:///{directory / 'bot.sqlite3'}",
            "BOT_SECRET_KEY": self.fernet_key,
            "NOTIFY_ROOM_IDS": self.emulator.ids["notify"],
            "WATCH_INTERVAL_SECONDS": "0",
            "WEBHOOK_CHECK_INTERVAL_SECONDS": "0",
            "PYTHONPATH": str(REPO),
        }
        self.workdir_of_bot = directory
        self._bot = launch(f"bot-{name}", gunicorn_command(port), cwd=directory, env=self.bot_env,
                           url=f"http://127.0.0.1:{port}", ready="/healthz", workdir=self.workdir)
        return self._bot

    def start_baseline(self) -> Process:
        port = free_port()
        env = base_env() | {"WEBEX_WEBHOOK_SECRET": self.secret, "PYTHONPATH": str(REPO),
                            "PROMETHEUS_MULTIPROC_DIR": str(self.workdir / "baseline-metrics")}
        command = gunicorn_command(port, app="baseline_app:app",
                                   config=REPO / "bench" / "baseline_gunicorn.conf.py",
                                   pythonpath=REPO / "bench")
        return launch("baseline", command, cwd=self.workdir, env=env,
                      url=f"http://127.0.0.1:{port}", ready="/healthz", workdir=self.workdir)

    def sync_webhooks(self) -> None:
        done = subprocess.run([str(BIN / "flask"), "--app", "app", "webhooks", "sync"],
                              cwd=self.workdir_of_bot, env=self.bot_env, capture_output=True,
                              text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"webhooks sync failed: {done.stdout}{done.stderr}")

    # waiting

    def inbox(self) -> dict[str, int]:
        return requests.get(f"{self.bot.url}/healthz", timeout=10).json()["components"]["inbox"]

    def inbox_idle(self) -> bool:
        counts = self.inbox()
        return not counts.get("pending") and not counts.get("processing")

    def settle(self, timeout: float = 60, quiet: float = 0.1) -> None:
        """Until nothing moves: no webhook delivery pending, the inbox empty, and no new Webex
        call for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            idle = self.emulator.deliveries_idle() and self.inbox_idle()
            total = sum(self.emulator.calls().values())
            if not idle or total != last:
                last, since = total, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.05)
        raise TimeoutError("the bot did not settle")

    def drain(self, expected_done: int) -> float:
        """Wait until ``expected_done`` events are done and nothing is pending; seconds waited."""
        started = time.perf_counter()
        wait_until(lambda: self.inbox().get("done", 0) >= expected_done and self.inbox_idle(),
                   "the inbox to drain", timeout=self.params.drain_timeout_s, interval=0.1,
                   detail=self.inbox)
        return time.perf_counter() - started

    # ---------------------------------------------------------------------------------------------
    # 1. Webex calls per interaction

    def count(self, act, own_calls: dict[str, int]) -> dict:
        """Run ``act`` (which makes ``own_calls`` itself) and count the bot's Webex calls."""
        self.settle()
        self.emulator.reset_calls()
        act()
        self.settle()
        counts = self.emulator.calls()
        for endpoint, number in own_calls.items():
            counts[endpoint] -= number
        counts = {k: v for k, v in counts.items() if v}
        return {"total": sum(counts.values()), "endpoints": counts}

    def startup_calls(self) -> dict:
        """Calls a freshly started bot makes before its first event (all workers together)."""
        self.emulator.reset_calls()
        self.start_bot("interactions")
        wait_until(lambda: sum(self.emulator.calls().values()) >= 1, "the warm-up", timeout=30)
        self.settle(quiet=2)  # every worker done with its start-up reads
        counts = self.emulator.calls()
        return {"total": sum(counts.values()), "endpoints": counts,
                "workers": len(self.bot.children())}

    def latest_card(self, key: str, must_have: str) -> dict:
        for message in self.emulator.bot_messages(key):
            for attachment in message.get("attachments") or []:
                content = attachment["content"]
                if any(action.get("data", {}).get("action") == must_have
                       for action in content.get("actions", [])):
                    return message
        raise RuntimeError(f"no card with a {must_have!r} button in {key}'s space")

    def press(self, key: str, card: dict, action: str, **changes: str) -> dict:
        content = card["attachments"][0]["content"]
        inputs = _card_inputs(content)
        inputs |= next(a.get("data", {}) for a in content["actions"]
                       if a.get("data", {}).get("action") == action)
        inputs |= changes
        return self.emulator.api("POST", "attachment/actions", f"{key}-token",
                                 json={"type": "submit", "messageId": card["id"],
                                       "inputs": inputs}).json()

    def interactions(self) -> dict:
        emulator, runs = self.emulator, self.params.runs
        say = {POST_MESSAGE: 1}
        submit = {SUBMIT: 1}
        figures: dict[str, list[dict]] = {name: [] for name in (
            "show (cold)", "show (warm)", "edit", "form submit -> confirmation card",
            "confirm -> applied and notified", "history", "help")}
        for _ in range(runs):
            person = next(self.fresh_people)
            figures["show (cold)"].append(self.count(lambda person=person: emulator.say(person, "show"), say))
        self.warm("alice")
        for run in range(runs):
            figures["show (warm)"].append(self.count(lambda: emulator.say("alice", "show"), say))
            figures["edit"].append(self.count(lambda: emulator.say("alice", "edit"), say))
            form = self.latest_card("alice", "review")
            figures["form submit -> confirmation card"].append(self.count(
                lambda form=form, run=run: self.press("alice", form, "review",
                                                   expiry_days=str(60 + run)), submit))
            confirmation = self.latest_card("alice", "confirm")
            figures["confirm -> applied and notified"].append(self.count(
                lambda card=confirmation: self.press("alice", card, "confirm"), submit))
            figures["history"].append(self.count(lambda: emulator.say("alice", "history"), say))
            figures["help"].append(self.count(lambda: emulator.say("alice", "help"), say))
        applied = [m for m in emulator.bot_messages("alice") if "Change applied" in (
            m.get("markdown") or "")]
        if len(applied) < runs:
            raise RuntimeError(f"only {len(applied)} of {runs} changes were applied")
        return {name: {"calls": stats([r["total"] for r in rows]),
                       "endpoints": [r["endpoints"] for r in rows]}
                for name, rows in figures.items()}

    def warm(self, key: str, attempts: int = 16) -> None:
        """Let every worker look ``key`` up: `show` until five in a row make no people lookup
        (which worker takes an event is up to the kernel, so this is likely, not certain)."""
        quiet = 0
        for _ in range(attempts):
            counted = self.count(lambda: self.emulator.say(key, "show"), {POST_MESSAGE: 1})
            quiet = quiet + 1 if "GET /v1/people/{person_id}" not in counted["endpoints"] else 0
            if quiet >= 5:
                return

    # ---------------------------------------------------------------------------------------------
    # 2. Critical path

    def critical_path(self) -> dict:
        emulator = self.emulator
        figures: dict[str, dict] = {}
        for latency in self.params.latencies_ms:
            emulator.control("POST", "faults", json={"method": "*", "path": "/v1/*",
                                                     "latencyMs": latency})
            try:
                self.warm("alice")
                warm = [self.one_show("alice", latency) for _ in range(self.params.runs)]
                cold = [self.one_show(next(self.fresh_people), latency)
                        for _ in range(self.params.runs)]
            finally:
                emulator.control("DELETE", "faults")
            figures[str(latency)] = {"warm": self._path_figures(warm, latency),
                                     "cold": self._path_figures(cold, latency)}
        return figures

    def one_show(self, key: str, latency: int) -> dict:
        self.settle()
        self.emulator.reset_calls()
        sent = self.emulator.say(key, "show")
        time.sleep(3 * latency / 1000 + 0.2)  # no polling while the bot works
        self.settle()
        delivery = next(d for d in self.emulator.control("GET", "deliveries").json()["items"]
                        if d["dataId"] == sent["id"])
        webhook_sent = iso_seconds(delivery["time"]) - delivery["ms"] / 1000
        log = sorted(self.emulator.call_log(), key=lambda c: iso_seconds(c["time"]))
        posts = [c for c in log if c["endpoint"] == POST_MESSAGE]
        reply = posts[1]  # posts[0] is the person's own message
        return {"e2e_s": iso_seconds(reply["time"]) - webhook_sent,
                "calls": len(log) - 1,
                "overlap": _overlap(log, "GET /v1/people/{person_id}", RULES)}

    @staticmethod
    def _path_figures(rows: list[dict], latency: int) -> dict:
        seconds = latency / 1000
        floor = 3  # fetch the message; then the rules and the requester at once; then post
        return {"e2e_ms": stats([r["e2e_s"] * 1000 for r in rows]),
                "over_L": stats([r["e2e_s"] / seconds for r in rows]),
                "floor_calls": floor,
                "ratio_to_floor": stats([r["e2e_s"] / (floor * seconds) for r in rows]),
                "calls": stats([r["calls"] for r in rows]),
                "people_and_rules_overlap_ms": stats(
                    [r["overlap"] for r in rows if r["overlap"] is not None])}

    # ---------------------------------------------------------------------------------------------
    # 3. and 4. Acknowledgement, burst, memory

    def events(self, key: str, prefix: str, count: int) -> list[tuple[bytes, dict]]:
        """``count`` messages in ``key``'s 1:1 space, and their webhook events signed as Webex
        signs them (delivered straight to the bot, so the sender controls concurrency)."""
        person, room = self.emulator.ids[key], self.emulator.ids[f"dm-{key}"]
        with ThreadPoolExecutor(8) as pool:
            messages = list(pool.map(lambda n: self.emulator.say(key, f"{prefix}-{letters(n)}"),
                                     range(count)))
        signed = []
        for message in messages:
            body = json.dumps({
                "id": "Y2lzY29zcGFyazovL3VzL1dFQkhPT0svYmVuY2g", "name": "bench messages",
                "resource": "messages", "event": "created", "orgId": self.emulator.ids["acme"],
                "createdBy": self.emulator.ids["bot"], "appId": "bench", "ownedBy": "creator",
                "status": "active", "created": message["created"], "actorId": person,
                "data": {"id": message["id"], "roomId": room, "roomType": "direct",
                         "personId": person, "created": message["created"]}}).encode()
            signed.append((body, {"Content-Type": "application/json",
                                  "X-Spark-Signature": sign(self.secret, body)}))
        return signed

    def acknowledgements(self, baseline: Process) -> dict:
        """The same load on the baseline, then on the bot, run after run (pairs, so that a
        change in the machine's speed during the benchmark touches both)."""
        params, emulator = self.params, self.emulator
        figures: dict[str, list[dict]] = {"baseline": [], "0": [], str(params.slow_ms): []}
        done = self.inbox().get("done", 0)
        for run in range(params.runs):
            figures["baseline"].append(send_all(baseline.url, _dummies(
                self.secret, f"ack-{run}", params.ack_events), params.ack_senders))
            events = self.events("alice", f"ackzero-{letters(run)}", params.ack_events)
            figures["0"].append(send_all(self.bot.url, events, params.ack_senders))
            done += params.ack_events
            self.drain(done)
        slow_events = [self.events("alice", f"ackone-{letters(run)}", params.ack_events)
                       for run in range(params.runs)]
        emulator.control("POST", "faults", json={"method": "*", "path": "/v1/*",
                                                 "latencyMs": params.slow_ms})
        try:
            for events in slow_events:
                figures[str(params.slow_ms)].append(send_all(self.bot.url, events,
                                                             params.ack_senders))
        finally:
            emulator.control("DELETE", "faults")
        self.drain(done + params.runs * params.ack_events)
        return {latency: _latency_figures(runs) for latency, runs in figures.items()}

    def bursts(self, baseline: Process) -> dict:
        """Each burst first at the baseline (the same number of signed deliveries, the same
        senders), then at the bot: throughput as a ratio per pair."""
        params = self.params
        rows = []
        done = self.inbox().get("done", 0)
        for run in range(params.burst_runs):
            prefix = f"burst-{letters(run)}"
            events = self.events("alice", prefix, params.burst_events)
            duplicates = random.Random(run).sample(
                events, round(params.duplicate_share * len(events)))
            deliveries = events + duplicates
            random.Random(run + 100).shuffle(deliveries)
            baseline_pids = baseline.children() + [baseline.pid]
            cpu_before = cpu_seconds(baseline_pids)
            yardstick = send_all(baseline.url, _dummies(self.secret, prefix, len(deliveries)),
                                 params.senders)
            baseline_cpu = cpu_seconds(baseline_pids) - cpu_before
            bot_pids = self.bot.children() + [self.bot.pid]
            cpu_before = cpu_seconds(bot_pids)
            started = time.perf_counter()
            sent = send_all(self.bot.url, deliveries, params.senders)
            bot_cpu = cpu_seconds(bot_pids) - cpu_before
            done += len(events)
            wait_until(lambda done=done: self.inbox().get("done", 0) >= done and self.inbox_idle(),
                       "the burst to be processed", timeout=params.drain_timeout_s, interval=0.1,
                       detail=self.inbox)
            processed = time.perf_counter() - started
            replies = _replies_by_word(self.emulator.bot_messages("alice"), prefix)
            expected = {f"{prefix}-{letters(n)}" for n in range(len(events))}
            statuses = sent["statuses"]
            rows.append({
                "deliveries": len(deliveries), "distinct": len(events),
                "ack_all_s": sent["elapsed_s"], "processed_all_s": processed,
                "ack_per_s": len(deliveries) / sent["elapsed_s"],
                "baseline_ack_per_s": len(deliveries) / yardstick["elapsed_s"],
                "ack_per_s_over_baseline": yardstick["elapsed_s"] / sent["elapsed_s"],
                "cpu_ms_per_delivery": 1000 * bot_cpu / len(deliveries),
                "baseline_cpu_ms_per_delivery": 1000 * baseline_cpu / len(deliveries),
                "accepted_202": statuses.get("202", 0), "duplicate_200": statuses.get("200", 0),
                "other_statuses": {k: v for k, v in statuses.items() if k not in ("200", "202")},
                "lost": len(expected - set(replies)),
                "duplicated": sum(1 for word in expected if replies.get(word, 0) > 1),
                "rss_mb": [rss_mb(pid) for pid in self.bot.children()],
            })
        return {"runs": rows,
                "ack_all_s": stats([r["ack_all_s"] for r in rows]),
                "processed_all_s": stats([r["processed_all_s"] for r in rows]),
                "ack_per_s": stats([r["ack_per_s"] for r in rows]),
                "baseline_ack_per_s": stats([r["baseline_ack_per_s"] for r in rows]),
                "ack_per_s_over_baseline": stats([r["ack_per_s_over_baseline"] for r in rows]),
                "cpu_ms_per_delivery": stats([r["cpu_ms_per_delivery"] for r in rows]),
                "baseline_cpu_ms_per_delivery": stats([r["baseline_cpu_ms_per_delivery"]
                                                       for r in rows]),
                "lost": stats([r["lost"] for r in rows]),
                "duplicated": stats([r["duplicated"] for r in rows]),
                "rss_mb_per_worker": stats([mb for r in rows for mb in r["rss_mb"]]),
                "baseline_rss_mb_per_worker": stats([rss_mb(pid)
                                                     for pid in baseline.children()])}

    # ---------------------------------------------------------------------------------------------

    def run(self) -> dict:
        started = time.perf_counter()
        self.start_emulator()
        try:
            baseline = self.start_baseline()
            try:
                self.start_bot("acknowledgements")
                self.settle()
                self.results["acknowledgement"] = self.acknowledgements(baseline)
                progress("acknowledgement done")
                self.results["burst"] = self.bursts(baseline)
                progress("burst done")
            finally:
                baseline.stop()
            self.bot.stop()
            self.emulator.control("POST", "reset")
            self.results["startup_calls"] = self.startup_calls()
            self.sync_webhooks()
            self.results["calls"] = self.interactions()
            progress("calls per interaction done")
            self.results["critical_path"] = self.critical_path()
            progress("critical path done")
        finally:
            if self._bot:
                self._bot.stop()
            self.emulator.process.stop()
        if self.params.orgs.orgs:
            self.results["many_orgs"] = many_orgs(self.params.orgs, self.workdir, {
                "WEBEX_WEBHOOK_SECRET": self.secret, "BOT_SECRET_KEY": self.fernet_key})
        self.results["duration_s"] = time.perf_counter() - started
        return self.results


def _card_inputs(card: dict) -> dict[str, str]:
    """The values a client submits when the person changes nothing (inputs as prefilled)."""
    values = {}
    stack = [card.get("body", [])]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Input.") and "id" in node:
                values[node["id"]] = "" if node.get("value") is None else str(node["value"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return values


def _overlap(log: list[dict], first: str, second: str) -> float | None:
    """How long (ms) the first ``first`` call and the first ``second`` call were both running."""
    def span(endpoint: str):
        call = next((c for c in log if c["endpoint"] == endpoint), None)
        if call is None:
            return None
        end = iso_seconds(call["time"])
        return end - call["ms"] / 1000, end

    a, b = span(first), span(second)
    if a is None or b is None:
        return None
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0])) * 1000


def letters(number: int) -> str:
    """A number spelt in letters (12 is ``bc``): the bot repeats an unknown word back only when it
    is letters and dashes (never digits), and the benchmark tells replies apart by that word."""
    return "".join("abcdefghij"[int(digit)] for digit in str(number))


def _replies_by_word(messages: list[dict], prefix: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for message in messages:
        found = re.search(rf"`({re.escape(prefix)}-[a-j]+)`", message.get("markdown") or
                          message.get("text") or "")
        if found:
            counts[found.group(1)] = counts.get(found.group(1), 0) + 1
    return counts


def _dummies(secret: str, prefix: str, count: int) -> list[tuple[bytes, dict]]:
    """Signed envelopes of the same shape and size as the bot's, for the baseline."""
    signed = []
    for number in range(count):
        body = json.dumps({
            "id": "Y2lzY29zcGFyazovL3VzL1dFQkhPT0svYmVuY2g", "name": "bench messages",
            "resource": "messages", "event": "created", "orgId": "baseline", "createdBy": "b",
            "appId": "bench", "ownedBy": "creator", "status": "active",
            "created": "2026-01-01T00:00:00.000Z", "actorId": "baseline",
            "data": {"id": f"Y2lzY29zcGFyazovL3VzL01FU1NBR0Uv{prefix}-{number:06d}",
                     "roomId": "baseline", "roomType": "direct", "personId": "baseline",
                     "created": "2026-01-01T00:00:00.000Z"}}).encode()
        signed.append((body, {"Content-Type": "application/json",
                              "X-Spark-Signature": sign(secret, body)}))
    return signed


def _latency_figures(runs: list[dict]) -> dict:
    return {"p50_ms": stats([percentile(r["latencies_ms"], 0.50) for r in runs]),
            "p99_ms": stats([percentile(r["latencies_ms"], 0.99) for r in runs]),
            "ack_per_s": stats([len(r["latencies_ms"]) / r["elapsed_s"] for r in runs]),
            "non_2xx": sum(count for r in runs for status, count in r["statuses"].items()
                           if not status.startswith("2"))}


def send_all(url: str, deliveries: list[tuple[bytes, dict]], senders: int) -> dict:
    """POST every delivery with ``senders`` concurrent keep-alive connections, as Webex does.

    A delivery whose connection fails is sent again (Webex redelivers), at most 3 times.
    """
    parts = urlsplit(url)
    if parts.hostname is None:
        raise ValueError(f"no host in {url!r}")
    host = parts.hostname
    queue = list(reversed(deliveries))
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[str, int] = {}

    def sender() -> None:
        connection = http.client.HTTPConnection(host, parts.port, timeout=60)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    body, headers = queue.pop()
                for _attempt in range(3):
                    began = time.perf_counter()
                    try:
                        connection.request("POST", "/webhooks/webex", body=body, headers=headers)
                        response = connection.getresponse()
                        response.read()
                        status = str(response.status)
                        break
                    except (OSError, http.client.HTTPException):
                        connection.close()
                        connection = http.client.HTTPConnection(host, parts.port,
                                                                timeout=60)
                        status = "error"
                elapsed = (time.perf_counter() - began) * 1000
                with lock:
                    latencies.append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=sender, daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return {"elapsed_s": time.perf_counter() - started, "latencies_ms": latencies,
            "statuses": statuses}


# --- the report ----------------------------------------------------------------------------------

def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    memory = next((int(line.split()[1]) // 1024 for line in
                   Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:")), None)
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_mb": memory,
            "system": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "load_average": os.getloadavg()[0]}


def versions() -> dict:
    names = ("gunicorn", "Flask", "Werkzeug", "webexpythonsdk", "requests", "urllib3",
             "SQLAlchemy", "prometheus-client")
    found = {name: metadata.version(name) for name in names}
    found["bot (git)"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                        capture_output=True, text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True,
                           text=True).stdout.strip()
    if dirty:
        found["bot (git)"] += " + uncommitted changes"
    return found


def gunicorn_settings() -> dict:
    """The literal settings of gunicorn.conf.py, read without running it."""
    tree = ast.parse((REPO / "gunicorn.conf.py").read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name) and node.targets[0].id.islower():
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--out", type=Path, default=REPO / "bench",
                        help="where REPORT.md and results.json go (default: bench/)")
    parser.add_argument("--runs", type=int, help="repetitions (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    parser.add_argument("--orgs", type=int, metavar="N",
                        help="orgs of section 6, many orgs (default 1000, --quick 20; 0 skips it)")
    args = parser.parse_args(argv)
    params = Params.quick() if args.quick else Params()
    if args.runs:
        params.runs = args.runs
    if args.orgs is not None:
        if args.orgs < 0 or args.orgs == 1:
            parser.error("--orgs must be 0 (skip section 6) or at least 2")
        params.orgs.orgs = args.orgs
    workdir = Path(tempfile.mkdtemp(prefix="vmbot-bench-"))
    progress(f"work directory {workdir}")
    before = machine()
    try:
        results = Bench(params, workdir).run()
    except BaseException:
        progress(f"failed; logs kept in {workdir}")
        raise
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    document: dict[str, Any] = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": dict(before, load_average=[before["load_average"],
                                              machine()["load_average"]]),
        "versions": versions(),
        "settings": {"gunicorn": gunicorn_settings(), "bot": _bot_settings(),
                     "params": asdict(params)},
        "results": results,
    }
    document["targets"] = targets(document)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    (args.out / "REPORT.md").write_text(render(document))
    progress(f"wrote {args.out / 'REPORT.md'} and results.json in {results['duration_s']:.0f}s")
    return 0  # a missed target is reported, not an error


def _bot_settings() -> dict:
    return {"WORKER_THREADS": "4 (default)", "EVENT_LEASE_SECONDS": "30 (default)",
            "DATABASE_URL": "SQLite in a fresh directory", "WEBEX_ORG_ID": "not set: learned "
            "at start-up from the admin token", "WATCH_INTERVAL_SECONDS": "0 (off)",
            "WEBHOOK_CHECK_INTERVAL_SECONDS": "0 (off)", "LOG_LEVEL": "INFO (default)",
            "NOTIFY_ROOM_IDS": "one space"}


def targets(document: dict) -> list[dict]:
    """Each target of issues 6 and 15 against the medians of this run."""
    results = document["results"]
    calls = results["calls"]
    rows = []

    def add(name: str, target: str, measured, met: bool, detail: str = "") -> None:
        rows.append({"name": name, "target": target, "measured": measured, "met": bool(met),
                     "detail": detail})

    warm = calls["show (warm)"]["calls"]
    cold = calls["show (cold)"]["calls"]
    add("show, warm caches: Webex calls", "3", warm["median"], warm["max"] <= 3)
    add("show, cold: Webex calls", "4, person and rules in parallel", cold["median"],
        cold["max"] <= 4)
    longest = max(results["critical_path"], key=int)
    path = results["critical_path"][longest]["warm"]["ratio_to_floor"]
    add(f"show critical path at L = {longest} ms", "<= 1.15 x floor (3 L)", path["median"],
        path["median"] <= 1.15, "warm caches; cold: "
        f"{results['critical_path'][longest]['cold']['ratio_to_floor']['median']:.3f}")
    ack = results["acknowledgement"]
    slow = max((key for key in ack if key.isdigit()), key=int)
    ratio = ack[slow]["p99_ms"]["median"] / ack["0"]["p99_ms"]["median"]
    add(f"acknowledgement p99 at {slow} ms / at 0 ms", "<= 1.5", ratio, ratio <= 1.5)
    throughput = results["burst"]["ack_per_s_over_baseline"]["median"]
    add("acknowledgement throughput / baseline's", ">= 0.5", throughput, throughput >= 0.5,
        "the burst's deliveries, each burst paired with one at the baseline")
    burst = results["burst"]
    add("burst: events lost", "0", burst["lost"]["max"], burst["lost"]["max"] == 0)
    add("burst: effects duplicated", "0", burst["duplicated"]["max"],
        burst["duplicated"]["max"] == 0)
    memory = burst["rss_mb_per_worker"]["max"]
    add("resident memory per worker after the burst (MB)", "< 120", memory, memory < 120)
    if "many_orgs" in results:
        rows += org_targets(results["many_orgs"])
    return rows


def org_targets(section: dict) -> list[dict]:
    """Each target of issue 15 (section 6) against this run."""
    many, orgs = section["many_orgs"], section["params"]["orgs"]
    reads, show = many["reads"], many["show"]["ratio_to_floor"]
    peak = many.get("peak_later_rounds")
    latency = section["params"]["latency_ms"]
    alone = section["one_org"]["show"]["ratio_to_floor"]["median"]
    return [
        {"name": f"{orgs} orgs: every org's rules read exactly once per interval",
         "target": f"{orgs} orgs", "measured": reads["read_once_every_interval"],
         "met": reads["read_once_every_interval"] == orgs,
         "detail": f"in each of {reads['complete_windows']} complete windows; "
                   f"{reads['read_in_first_interval']} read in the first interval",
         "why": _reads_why(section)},
        {"name": f"{orgs} orgs: peak of Webex calls in flight after the first round",
         "target": f"<= {section['bound']} (the bound)", "measured": peak,
         "met": peak is not None and peak <= section["bound"], "detail": section["bound_source"]},
        {"name": f"{orgs} orgs: show during the sweep at L = {latency} ms",
         "target": "<= 1.15 x floor (3 L)", "measured": show.get("median"),
         "met": bool(show.get("n")) and show["median"] <= 1.15,
         "detail": f"one org alone: {alone:.3f}",
         "why": f"with one org connected the same show took {alone:.3f} x its floor; the "
                "watcher runs in one of the two workers, where threads are greenlets on one "
                "gevent hub: its SQLite statements (a claim, the snapshot, the pending changes "
                "per read) and its CPU hold that hub while they run, and a show that worker "
                "handles waits for them; the emulator serving 1,000 orgs shares the two cores."},
    ]


def _reads_why(section: dict) -> str:
    reads, interval = section["many_orgs"]["reads"], section["params"]["interval_s"]
    pace = reads["catch_up_reads_per_s"]
    first = reads["first_window"]
    text = (f"over {reads['complete_windows']} complete windows, "
            f"{reads['read_twice_in_a_window']} org(s) read twice in one and "
            f"{reads['missed_in_a_window']} missed in one; the window the watcher started in "
            f"({first['started_into_s']:.1f} s of {interval} s gone) read {first['read']} of "
            f"{reads['orgs']}")
    if pace:
        text += f", its catch-up at {pace:.1f} orgs per s at L = {section['params']['latency_ms']} ms"
    return text + "."


if __name__ == "__main__":
    raise SystemExit(main())
