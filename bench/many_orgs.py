"""Section 6 of ``make bench``: one deployment watching many orgs (issue 15).

The emulator generates the orgs (``python -m emulator --orgs N``), each with a Full
Administrator, its own rules, a 1:1 space with the bot and the Service App authorized. A bot is
connected to them as its operator connects one: ``flask --app app admin service-app --org-id``
for each org (``bench/connect_orgs.py`` runs that command for every org in one process; the
command as a process of its own is timed once). Then, with latency L on every Webex call, the bot
runs under gunicorn with the watcher on (``WATCH_INTERVAL_SECONDS``), and the emulator tells:

- every org's rules read exactly once per interval: the watcher's
  ``GET /v1/telephony/config/voicemail/rules`` per org and their times, from the call log (each
  entry names the caller's org), counted in the watcher's own windows (``window_of``); the
  window it starts in is partial (a catch-up) and told apart; a ``show``'s read is told apart
  by its org and time;
- the peak of Webex calls in flight: in the rounds after the first (the watcher's alone: the
  ``show``\\s run in the first), from the call log (each call's arrival and answer); over the whole
  run, shows included, from the emulator's own count (``/_emulator/calls/peak``);
- a ``show`` in one org, webhook sent to reply posted, over its floor of 3 L, while the sweep runs;
- resident memory per gunicorn worker, against the same bot with one org connected: the growth
  per org.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from tools import Emulator, base_env, cpu_seconds, iso_seconds, launch, progress, rss_mb, stats

from bot.config import Settings
from bot.jobs.watch_pacing import window_of
from devtools.processes import BIN, REPO, Process, emulator_command, free_port, gunicorn_command
from devtools.waiting import wait_until

RULES = "GET /v1/telephony/config/voicemail/rules"
PERSON = "GET /v1/people/{person_id}"
SERVICE_APP = {"WEBEX_ADMIN_CLIENT_ID": "vmrules-sa-client-id",
               "WEBEX_ADMIN_CLIENT_SECRET": "vmrules-sa-client-secret",
               "WEBEX_APPLICATIONS_TOKEN": "developer-token"}
# The watcher's bound on Webex calls in flight, if the bot has such a setting (the watcher that
# spreads each round over the interval); without one it reads one org at a time: a bound of 1.
BOUND_SETTING = "watch_concurrency"
T = TypeVar("T")


@dataclass
class OrgsParams:
    orgs: int = 1000
    latency_ms: int = 100
    interval_s: int = 30
    rounds: int = 2  # complete watcher windows watched after the one it started in
    shows: int = 5  # shows during the first round
    warm_shows: int = 4  # shows before the sweep, so that the requester is known to the workers

    @classmethod
    def quick(cls) -> OrgsParams:
        return cls(orgs=20, interval_s=4, rounds=2, shows=2, warm_shows=2)


def watcher_bound() -> tuple[int, str]:
    field = Settings.model_fields.get(BOUND_SETTING)
    if field is None:
        return 1, "no setting: the watcher reads one org at a time"
    return int(field.default), f"`{BOUND_SETTING.upper()}` {field.default} (default)"


class Deployment:
    """One bot connected to ``orgs`` of the emulator, its watcher on, latency L on every call."""

    def __init__(self, name: str, emulator: Emulator, orgs: list[dict], params: OrgsParams,
                 workdir: Path, secrets: dict[str, str]):
        self.name, self.emulator, self.orgs, self.params = name, emulator, orgs, params
        self.directory = workdir / name
        self.directory.mkdir()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.env = base_env() | SERVICE_APP | secrets | {
            "WEBEX_BOT_TOKEN": "bot-token",
            "WEBEX_BASE_URL": emulator.base_url,
            "WEBEX_SERVICE_APP_ID": orgs[0]["serviceAppIds"][0],
            "PUBLIC_URL": f"{self.url}/",
            "DATABASE_URL": f"sqlite:///{self.directory / 'bot.sqlite3'}",
            "WATCH_INTERVAL_SECONDS": str(params.interval_s),
            "WEBHOOK_CHECK_INTERVAL_SECONDS": "0",
            "PYTHONPATH": str(REPO),
        }
        [admin] = orgs[0]["people"]
        self.admin = admin  # who types `show`, in the first org
        self.shows: list[dict] = []
        self._bot: Process | None = None

    # --- connecting the orgs, as the operator does ---------------------------------------------

    def flask(self, *args: str, stdin: str | None = None, script: Path | None = None,
              timeout: float = 120) -> str:
        command = [str(BIN / "python"), str(script)] if script else [str(BIN / "flask"), "--app",
                                                                      "app", *args]
        done = subprocess.run(command, cwd=self.directory, env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[1:3])} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def connect(self) -> dict:
        """``admin service-app`` for the first org as a process of its own (timed), then for every
        other org in one process (``bench/connect_orgs.py``)."""
        self.flask("db", "upgrade")
        began = time.perf_counter()
        self.flask("admin", "service-app", "--org-id", self.orgs[0]["id"])
        one_process = time.perf_counter() - began
        rest = [org["id"] for org in self.orgs[1:]]
        began = time.perf_counter()
        done = json.loads(self.flask(stdin=json.dumps(rest), script=REPO / "bench" /
                                     "connect_orgs.py", timeout=60 + len(rest)))
        if done["connected"] != len(rest):
            raise RuntimeError(f"only {done['connected']} of {len(rest)} orgs connected: "
                               f"{done['refusals']}")
        return {"orgs": len(self.orgs), "one_process_s": one_process,
                "in_one_process_s": time.perf_counter() - began,
                "per_org_in_one_process_ms": stats([s * 1000 for s in done["seconds"]])}

    # --- the bot ---------------------------------------------------------------------------------

    @property
    def bot(self) -> Process:
        if self._bot is None:
            raise RuntimeError("the bot is not started")
        return self._bot

    def start(self) -> None:
        self._bot = launch(f"bot-{self.name}", gunicorn_command(self.port), cwd=self.directory,
                           env=self.env, url=self.url, ready="/healthz",
                           workdir=self.directory.parent)
        self.flask("webhooks", "sync")

    def stop(self) -> None:
        if self._bot is not None:
            self._bot.stop()

    def show(self) -> dict:
        """``show`` in the first org's 1:1 space; when the webhook was sent and the reply posted
        (the emulator's clock)."""
        latency = self.params.latency_ms / 1000
        sent = self.emulator.say(self.admin["key"], "show")
        time.sleep(3 * latency)  # no polling while the bot works
        reply = awaited(lambda: self._reply_after(sent), "the reply to show", timeout=30)
        delivery = awaited(lambda: next((d for d in self.emulator.control(
            "GET", "deliveries").json()["items"] if d["dataId"] == sent["id"]), None),
            "the delivery of show", timeout=10)
        window = {"sent": iso_seconds(delivery["time"]) - delivery["ms"] / 1000,
                  "replied": iso_seconds(reply["created"])}
        self.shows.append(window)
        return window

    def _reply_after(self, sent: dict) -> dict | None:
        newest = self.emulator.api("GET", "messages", f"{self.admin['key']}-token", params={
            "roomId": self.admin["botRoomId"], "max": 1}).json()["items"]
        return newest[0] if newest and newest[0]["id"] != sent["id"] else None

    def in_a_show(self, moment: float) -> bool:
        return any(w["sent"] <= moment <= w["replied"] for w in self.shows)

    def first_watcher_read(self) -> float | None:
        """When the watcher first read rules (a read outside every ``show``)."""
        return next((iso_seconds(c["time"]) - c["ms"] / 1000 for c in self.emulator.call_log()
                     if c["endpoint"] == RULES and not self.in_a_show(
                         iso_seconds(c["time"]) - c["ms"] / 1000)), None)

    def rss_mb(self) -> list[float]:
        return [rss_mb(pid) for pid in self.bot.children()]

    def cpu_s(self) -> float:
        return cpu_seconds(self.bot.children() + [self.bot.pid])

    # --- the run ---------------------------------------------------------------------------------

    def run(self, rounds: int, shows: int) -> dict:
        """Connect, start, warm up, wait for the sweep; ``shows`` during its first round; watch
        ``rounds`` complete windows after the one it started in (the peak after the first);
        memory and the call log at the end."""
        params = self.params
        self.emulator.control("POST", "reset")  # no webhook or call of an earlier bot
        connect = self.connect()
        self.emulator.control("POST", "faults", json={"method": "*", "path": "/v1/*",
                                                      "latencyMs": params.latency_ms})
        self.emulator.control("DELETE", "calls")  # and the emulator's peak of calls in flight
        self.start()
        for _ in range(params.warm_shows):
            self.show()
        t0 = awaited(self.first_watcher_read, "the watcher's first round",
                     timeout=params.interval_s + 60)
        cpu_before, watched_from = self.cpu_s(), time.time()
        during = [self.spaced_show(t0, number, shows) for number in range(shows)]
        if rounds > 1:
            sleep_until(watched_until(t0, params.interval_s, rounds))
        self.emulator.control("DELETE", "faults")
        return {"connect": connect, "t0": t0, "shows_during_sweep": during,
                "peak_whole_run": self.emulator.control("GET", "calls/peak").json()["peak"],
                "cpu_s": self.cpu_s() - cpu_before, "watched_s": time.time() - watched_from,
                "rss_mb": self.rss_mb(), "log": self.emulator.call_log()}

    def spaced_show(self, t0: float, number: int, shows: int) -> dict:
        """The ``number``-th of ``shows`` spread over the first 80 % of the first round."""
        sleep_until(t0 + 0.8 * self.params.interval_s * number / max(shows, 1))
        window = self.show()
        latency = self.params.latency_ms / 1000
        return {"e2e_ms": (window["replied"] - window["sent"]) * 1000,
                "ratio_to_floor": (window["replied"] - window["sent"]) / (3 * latency),
                **window}


def awaited(found: Callable[[], T | None], what: str, *, timeout: float) -> T:
    """What ``found`` finds, polled every 0.1 s for up to ``timeout`` seconds."""
    value = wait_until(found, what, timeout=timeout, interval=0.1)
    assert value is not None  # wait_until returns only what is truthy
    return value


def watched_until(t0: float, interval: float, rounds: int) -> float:
    """The end of the ``rounds``-th complete watcher window after the one the first read fell in
    (its reads answered by then: a second more)."""
    return (window_of(t0, interval) + rounds + 1) * interval + 1.0


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


# --- the figures -----------------------------------------------------------------------------------

def watcher_reads(log: list[dict], deployment: Deployment) -> dict[str, list[float]]:
    """Each org's rules reads by the watcher (start times); a ``show``'s own read (in the
    requester's org, during the show) left out, the other orgs' reads meanwhile kept."""
    reads: dict[str, list[float]] = {org["id"]: [] for org in deployment.orgs}
    shown_org = deployment.orgs[0]["id"]
    for call in log:
        began = iso_seconds(call["time"]) - call["ms"] / 1000
        org_id = call["callerOrgId"]
        if call["endpoint"] == RULES and org_id in reads and not (
                org_id == shown_org and deployment.in_a_show(began)):
            reads[org_id].append(began)
    return {org_id: sorted(times) for org_id, times in reads.items()}


def read_figures(reads: dict[str, list[float]], t0: float, interval: float, rounds: int) -> dict:
    """Whether every org was read exactly once per interval, counted in the watcher's own
    windows (``window_of``: fixed windows from the epoch, the ones every instance agrees on).
    The window the watcher started in is partial (it reads at once the orgs whose turn passed,
    then the others at their turns) and is told apart; the complete windows observed after it are
    the figure: an org counts if it was read exactly once in each of them."""
    end = watched_until(t0, interval, rounds)
    first_window = window_of(t0, interval)
    complete = [w for w in range(first_window + 1, window_of(end, interval) + 1)
                if (w + 1) * interval <= end]
    seen = {org: [t for t in times if t0 <= t <= end] for org, times in reads.items()}
    per_window = {org: Counter(window_of(t, interval) for t in times)
                  for org, times in seen.items()}
    every = [org for org, counts in per_window.items() if complete and
             all(counts[w] == 1 for w in complete)]
    in_first = [org for org, counts in per_window.items() if counts[first_window]]
    firsts = sorted(times[0] for times in seen.values() if times)
    return {
        "orgs": len(reads), "complete_windows": len(complete),
        "read_once_every_interval": len(every),
        "read_twice_in_a_window": sum(any(counts[w] > 1 for w in complete)
                                      for counts in per_window.values()),
        "missed_in_a_window": sum(any(counts[w] == 0 for w in complete)
                                  for counts in per_window.values()),
        "first_window": {"started_into_s": t0 - first_window * interval,
                         "read": len(in_first),
                         "read_twice": sum(counts[first_window] > 1
                                           for counts in per_window.values())},
        "never_read": sum(not times for times in seen.values()),
        "read_in_first_interval": sum(times[0] < t0 + interval for times in seen.values()
                                      if times),
        "reads_per_org": stats([len(times) for times in seen.values()]),
        "first_sweep_s": firsts[-1] - t0 if len(firsts) == len(reads) else None,
        "catch_up_reads_per_s": catch_up_pace(seen, t0, interval),
        "window_s": end - t0,
    }


def catch_up_pace(seen: dict[str, list[float]], t0: float, interval: float) -> float | None:
    """Orgs read per second by the catch-up: the orgs whose turn had passed in the window the
    watcher started in are all due at once, so their reads show its throughput with every worker
    busy (the share of the orgs that the window had run through, by their first reads)."""
    firsts = sorted(times[0] for times in seen.values() if times)
    passed = round(len(seen) * (t0 - window_of(t0, interval) * interval) / interval)
    caught_up = firsts[:passed]
    if len(caught_up) < 2 or caught_up[-1] <= t0:
        return None
    return (len(caught_up) - 1) / (caught_up[-1] - t0)


def show_figures(shows: list[dict], log: list[dict], person_id: str) -> dict:
    looked_up = [sum(1 for c in log if c["endpoint"] == PERSON and person_id in c["path"] and
                     show["sent"] <= iso_seconds(c["time"]) <= show["replied"]) for show in shows]
    return {"e2e_ms": stats([s["e2e_ms"] for s in shows]),
            "ratio_to_floor": stats([s["ratio_to_floor"] for s in shows]),
            "people_lookups": looked_up}


def peak_in_flight(log: list[dict], since: float, until: float) -> int:
    """The most Webex calls in flight at once among those begun in [since, until), from the
    call log (each call from its arrival to its answer). Overlaps under 2 ms, the log's precision,
    are not counted: back-to-back calls are not taken for concurrent ones."""
    edges = []
    for call in log:
        ended = iso_seconds(call["time"])
        began = ended - call["ms"] / 1000
        if since <= began < until:
            edges += [(began + 0.002, 1), (ended, -1)]
    now = most = 0
    for _moment, step in sorted(edges, key=lambda edge: (edge[0], edge[1])):
        now += step
        most = max(most, now)
    return most


def calls_by_endpoint(log: list[dict], since: float) -> dict[str, int]:
    """Every Webex call begun since ``since`` (the watcher's, the shows', the bench's), by endpoint."""
    counts: dict[str, int] = {}
    for call in log:
        if iso_seconds(call["time"]) - call["ms"] / 1000 >= since:
            counts[call["endpoint"]] = counts.get(call["endpoint"], 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def deployment_figures(deployment: Deployment, run: dict, rounds: int) -> dict:
    params = deployment.params
    log = run.pop("log")
    reads = watcher_reads(log, deployment)
    figures = {
        "orgs": len(deployment.orgs), "connect": run["connect"],
        "reads": read_figures(reads, run["t0"], params.interval_s, rounds),
        "show": show_figures(run["shows_during_sweep"], log, deployment.admin["id"]),
        "rss_mb_per_worker": run["rss_mb"],
        "cpu_ms_per_watcher_read": 1000 * run["cpu_s"] / max(1, sum(
            1 for times in reads.values() for t in times if t >= run["t0"])),
        "calls_logged": len(log),
        "calls_while_watched": calls_by_endpoint(log, since=run["t0"]),
    }
    t0, interval = run["t0"], params.interval_s
    figures["peak_whole_run"] = run["peak_whole_run"]  # the emulator's count: shows included
    figures["peak_first_round"] = peak_in_flight(log, t0, t0 + interval)
    if rounds > 1:  # the shows run in the first round: the later ones are the watcher's alone
        figures["peak_later_rounds"] = peak_in_flight(log, t0 + interval, float("inf"))
    return figures


# --- the section -----------------------------------------------------------------------------------

def many_orgs(params: OrgsParams, workdir: Path, secrets: dict[str, str]) -> dict:
    """The section's figures: the same bot with one org, then with ``params.orgs``."""
    port = free_port()
    log_size = params.orgs * (params.rounds + 2) * 3 + 10_000
    process = launch("emulator-orgs", emulator_command(
        port, "--orgs", str(params.orgs), "--call-log-size", str(log_size), "--log-level",
        "WARNING"), cwd=REPO, env=base_env() | {"PYTHONPATH": str(REPO)},
        url=f"http://127.0.0.1:{port}", ready="/_emulator/directory", workdir=workdir)
    try:
        emulator = Emulator(process)
        orgs = emulator.control("GET", "orgs", params={"generated": "true"}).json()["items"]
        one = measured(Deployment("orgs-one", emulator, orgs[:1], params, workdir, secrets),
                       rounds=1, shows=params.shows)
        progress("many orgs: one org done")
        many = measured(Deployment("orgs-many", emulator, orgs, params, workdir, secrets),
                        rounds=params.rounds, shows=params.shows)
        progress(f"many orgs: {params.orgs} orgs done")
    finally:
        process.stop()
    bound, bound_source = watcher_bound()
    # Per org the watcher reached: an org's admin access is built when it is first used.
    more = max(1, (many["reads"]["orgs"] - many["reads"]["never_read"]) - 1)
    return {"params": vars(params), "bound": bound, "bound_source": bound_source,
            "one_org": one, "many_orgs": many, "orgs_reached": more + 1,
            "rss_kb_per_org": 1024 * (max(many["rss_mb_per_worker"]) -
                                      max(one["rss_mb_per_worker"])) / more,
            "rss_total_kb_per_org": 1024 * (sum(many["rss_mb_per_worker"]) -
                                            sum(one["rss_mb_per_worker"])) / more}


def measured(deployment: Deployment, *, rounds: int, shows: int) -> dict:
    try:
        return deployment_figures(deployment, deployment.run(rounds, shows), rounds)
    finally:
        deployment.stop()
