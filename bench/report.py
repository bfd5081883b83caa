"""``bench/REPORT.md`` from the figures ``bench/run.py`` measured (``results.json``)."""

from __future__ import annotations


def render(doc: dict) -> str:
    results = doc["results"]
    parts = [HEADER.format(generated=doc["generated"], minutes=results["duration_s"] / 60),
             _targets(doc["targets"]), _missed(doc["targets"], results), _setup(doc),
             _calls(results), _critical_path(results),
             _acknowledgement(results, doc["settings"]["params"]), _burst(results),
             _many_orgs(results.get("many_orgs")), NOTES]
    return "\n".join(parts)


HEADER = """# Benchmark report

Generated {generated} by `make bench` (`bench/run.py`, {minutes:.1f} minutes); every figure is in
`results.json` too, with each run's value. Figures are the **median** of repeated runs, with the
interquartile range `[q1-q3]` and the range `(min-max)`.

How to run: `make bench` (a few minutes on 2 cores). `.venv/bin/python bench/run.py --runs 7`
repeats more; `--quick` is a smoke run with tiny sizes; `--orgs N` sets the orgs of section 6
(default 1000, `--quick` 20; `--orgs 0` skips it); `--out DIR` writes elsewhere; `--keep`
keeps the processes' logs. The benchmark starts the emulator (`python -m emulator`) and the bot
exactly as the Procfile does (`gunicorn app:app` with `gunicorn.conf.py`), each its own process on
127.0.0.1, and a minimal signed-webhook receiver (`bench/baseline_app.py`) under the same gunicorn
settings as the yardstick. CI does not run it; `tests/e2e/test_bench_smoke.py` runs `--quick`.
"""


def _num(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits}f}"


def _stat(stat: dict, digits: int = 2, unit: str = "") -> str:
    if not stat or not stat.get("n"):
        return "-"
    text = f"**{_num(stat['median'], digits)}{unit}**"
    if stat["n"] > 1:
        text += (f" [{_num(stat['q1'], digits)}-{_num(stat['q3'], digits)}]"
                 f" ({_num(stat['min'], digits)}-{_num(stat['max'], digits)})")
    return text


def _targets(rows: list[dict]) -> str:
    lines = ["## Targets (issues 6 and 15)", "", "| figure | target | measured (median) | met |",
             "|---|---|---|---|"]
    for row in rows:
        detail = f" ({row['detail']})" if row["detail"] else ""
        lines.append(f"| {row['name']} | {row['target']} | {_num(row['measured'], 3)}{detail} | "
                     f"{'yes' if row['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def _missed(rows: list[dict], results: dict) -> str:
    missed = [row for row in rows if not row["met"]]
    if not missed:
        return "Every target is met in this run." + _close_calls(results) + "\n"
    lines = ["### Missed in this run, and why", ""]
    for row in missed:
        why = row.get("why") or WHY.get(row["name"].split(" at ")[0].split(":")[0],
                                         "See the figures below; nothing more is known about it.")
        lines += [f"- **{row['name']}** ({_num(row['measured'], 3)} against {row['target']}): "
                  + why.format(**_why_values(results)), ""]
    if all(row["name"] != THROUGHPUT for row in missed):  # met, perhaps by the median only
        lines.append(_close_calls(results).lstrip("\n"))
    return "\n".join(lines)


THROUGHPUT = "acknowledgement throughput / baseline's"


def _close_calls(results: dict) -> str:
    """A median that meets its target while some runs did not is said, not hidden."""
    ratio = results["burst"]["ack_per_s_over_baseline"]
    if ratio.get("min", 0.5) >= 0.5:
        return ""
    why = WHY["acknowledgement throughput / baseline's"].format(**_why_values(results))
    return (f"\n\n### Met by the median only, and why\n\n- **acknowledgement throughput / "
            f"baseline's**: burst pairs ranged from {_num(ratio['min'])} to {_num(ratio['max'])}, "
            f"some short of 0.5. {why[0].upper()}{why[1:]}\n")


def _why_values(results: dict) -> dict:
    burst = results["burst"]
    return {"bot_cpu": _num(burst["cpu_ms_per_delivery"]["median"]),
            "baseline_cpu": _num(burst["baseline_cpu_ms_per_delivery"]["median"]),
            "processed": _num(burst["processed_all_s"]["median"])}


WHY = {
    "acknowledgement throughput / baseline's": (
        "the bot's processes used {bot_cpu} ms of CPU per delivery during the burst, the baseline's "
        "{baseline_cpu} ms. Before its 2xx the bot verifies the signature, parses the envelope, "
        "writes the event to SQLite and waits for the disk flush (durable before the 2xx, duplicates "
        "dropped by the unique key), logs one line and counts it in Prometheus; the baseline only "
        "verifies the signature. The senders, the baseline, the emulator and the bot share two cores,"
        " and Python threads share one interpreter lock per process. What narrowed the gap (about 0.1"
        " in this benchmark before this work): the inbox statements built once instead of per call "
        "(half the CPU per processed event), group commit (events arriving together share one "
        "statement, one transaction and one disk flush, each still answered only once stored), SQLite"
        " writers taking turns in a queue rather than in SQLite's sleeping busy handler, "
        "acknowledging first (an inbox worker waits for a quiet moment, no signed webhook request "
        "in flight and none begun for 20 ms, until at most 1 s after the event arrived; the burst was "
        "still all processed in {processed} s), the proxy settings read once rather than on every "
        "Webex call, and the webhook answered by a thin WSGI layer before Flask "
        "(bot/webhook/endpoint.py; about a fifth less CPU per delivery). Where the rest goes, "
        "measured before that layer by changing one thing at a time in 3-5 burst pairs on this "
        "machine (not kept): with the event not stored at all the ratio was 0.69-0.77; stored, with "
        "no processing during the burst, 0.51-0.57; as shipped then, 0.39-0.69 from one pair to the "
        "next. So storing each event durably before the 2xx is most of the gap, and the pairs' spread"
        " is as large as the gap itself. The obvious shortcuts, answering before the flush (SQLite's "
        "synchronous=NORMAL) or dropping the per-event log line, would weaken what the 2xx and the "
        "logs promise, and this work does not take them. More cores, or PostgreSQL on its own "
        "machine, move the figure without changing the bot."),
    "show critical path": (
        "the overhead beyond the floor is the bot's own work between Webex calls (storing and "
        "claiming the event, rendering the card); it is a constant, so it weighs more at small "
        "L."),
}


def _setup(doc: dict) -> str:
    machine, versions, settings = doc["machine"], doc["versions"], doc["settings"]
    gunicorn = settings["gunicorn"]
    params = settings["params"]
    lines = [
        "## Machine, versions, settings", "",
        f"- Machine: {machine['cpus']} CPUs ({machine['cpu']}), {machine['memory_mb']} MB, "
        f"{machine['system']}, Python {machine['python']}. The bot, the emulator, the baseline "
        "and the senders share these CPUs; the 1-minute load average was "
        f"{machine['load_average'][0]:.1f} before the run and {machine['load_average'][1]:.1f} "
        "after it (anything else running on the machine shows as spread).",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "- gunicorn (`gunicorn.conf.py`): " + ", ".join(
            f"`{k}={v}`" for k, v in gunicorn.items() if k in (
                "worker_class", "workers", "threads", "worker_connections", "timeout",
                "keepalive")) + ".",
        "- Bot: " + ", ".join(f"`{k}` {v}" for k, v in settings["bot"].items()) + ".",
        f"- Runs: {params['runs']} of every interaction and latency figure; latency L = "
        f"{', '.join(str(x) for x in params['latencies_ms'])} ms on every Webex call for the "
        f"critical path; acknowledgement runs of {params['ack_events']} events from "
        f"{params['ack_senders']} senders at 0 and {params['slow_ms']} ms; {params['burst_runs']} "
        f"bursts of {params['burst_events']} events + {params['duplicate_share']:.0%} duplicates "
        f"from {params['senders']} senders.",
        "",
    ]
    return "\n".join(lines)


def _calls(results: dict) -> str:
    startup = results["startup_calls"]
    lines = [
        "## 1. Webex calls per interaction", "",
        "Counted by the emulator (`GET /_emulator/calls`), minus the one call the person makes "
        "(the message or the card submit). Latency 0; caches as described below.", "",
        "| interaction | Webex calls | calls (first run) |", "|---|---|---|"]
    for name, figure in results["calls"].items():
        first = figure["endpoints"][0] if figure["endpoints"] else {}
        listed = ", ".join(f"{endpoint} x{n}" if n > 1 else endpoint
                           for endpoint, n in sorted(first.items()))
        lines.append(f"| {name} | {_stat(figure['calls'], 1)} | {listed} |")
    listed = ", ".join(f"{endpoint} x{n}" if n > 1 else endpoint
                       for endpoint, n in sorted(startup["endpoints"].items()))
    lines += [
        "",
        f"At start-up, before any event, the {startup['workers']} workers made {startup['total']} "
        f"calls together: {listed}. Each process learns once, in the background, the bot's own "
        "identity, the managed org (not needed when `WEBEX_ORG_ID` is set) and the admin role "
        "names (cached 10 minutes, then read again alongside the next person lookup).",
        "",
        "- **warm**: the worker that handles the event looked the requester up less than 60 s "
        "ago (the directory's cache; `show` is repeated first until five in a row need no "
        "person lookup, since which worker takes an event is up to the kernel).",
        "- **cold**: the requester has never been looked up by this process (a person's first "
        "command, or the first after 60 s); the process-wide facts above are known.",
        "- The confirmation re-checks the requester's role with no cache (person and role list, "
        "read at once, with the fresh rules), then PUT, read-back, the confirmation card "
        "deleted, one notification space, the reply.",
        "",
    ]
    return "\n".join(lines)


def _critical_path(results: dict) -> str:
    lines = [
        "## 2. Critical path of `show`", "",
        "Webhook sent (the emulator's delivery starts) to reply posted (the emulator has stored "
        "the bot's message), both from the emulator's clock, with latency L injected on every "
        "Webex call. The floor is 3 L: the message is fetched, then the rules and the requester "
        "are read at once, then the reply is posted.", "",
        "| L | caches | end to end (ms) | / L | / floor (3 L) | Webex calls | person and rules "
        "overlap (ms) |", "|---|---|---|---|---|---|---|"]
    for latency, figures in results["critical_path"].items():
        for caches, figure in figures.items():
            lines.append(
                f"| {latency} ms | {caches} | {_stat(figure['e2e_ms'], 0)} | "
                f"{_stat(figure['over_L'], 2)} | {_stat(figure['ratio_to_floor'], 3)} | "
                f"{_stat(figure['calls'], 1)} | {_stat(figure['people_and_rules_overlap_ms'], 0)} |")
    return "\n".join(lines) + "\n"


def _acknowledgement(results: dict, params: dict) -> str:
    ack, burst = results["acknowledgement"], results["burst"]
    slow = max((key for key in ack if key.isdigit()), key=int)
    lines = [
        "## 3. Acknowledgement", "",
        "Time from sending a signed webhook to its 2xx, measured by the sender "
        "(`time.perf_counter`), events delivered straight to the receiver over keep-alive "
        "connections. Each bot run at 0 ms is paired with a baseline run of the same load just "
        "before it. At the slow latency the bot's inbox fills (the workers wait on Webex) while "
        "acknowledgements go on.",
        "", "| receiver | Webex latency | p50 (ms) | p99 (ms) | acknowledged per s |",
        "|---|---|---|---|---|"]
    for key, label, latency in (("baseline", "baseline", "-"), ("0", "bot", "0 ms"),
                                (slow, "bot", f"{slow} ms")):
        figure = ack[key]
        lines.append(f"| {label} | {latency} | {_stat(figure['p50_ms'])} | "
                     f"{_stat(figure['p99_ms'])} | {_stat(figure['ack_per_s'], 0)} |")
    p99 = ack[slow]["p99_ms"]["median"] / ack["0"]["p99_ms"]["median"]
    non_2xx = sum(ack[key]["non_2xx"] for key in ack)
    lines += [
        "",
        f"- p99 at {slow} ms over p99 at 0 ms: **{p99:.2f}** (p50: "
        f"{ack[slow]['p50_ms']['median'] / ack['0']['p50_ms']['median']:.2f}).",
        f"- Throughput under the burst's load ({burst['runs'][0]['deliveries']} deliveries from "
        f"{params['senders']} senders, {len(burst['runs'])} pairs): bot "
        f"{_stat(burst['ack_per_s'], 0)} per s, baseline {_stat(burst['baseline_ack_per_s'], 0)} "
        f"per s; ratio per pair {_stat(burst['ack_per_s_over_baseline'])}. CPU used by the "
        f"receiver's processes per delivery meanwhile: bot {_stat(burst['cpu_ms_per_delivery'])}"
        f" ms (the intake, and what processing runs alongside), baseline "
        f"{_stat(burst['baseline_cpu_ms_per_delivery'])} ms.",
        f"- Answers other than 2xx in the acknowledgement runs: {non_2xx}.",
        ""]
    return "\n".join(lines)


def _burst(results: dict) -> str:
    burst = results["burst"]
    lines = [
        "## 4. Burst and 5. memory", "",
        "Distinct signed events for messages that exist, plus duplicates of some of them, in a "
        "shuffled order, from concurrent senders. Processed means every event done in the inbox "
        "(`/healthz`); lost and duplicated are counted from the bot's replies at the emulator "
        "(one reply per distinct event expected).", "",
        "| run | deliveries | acknowledged all (s) | processed all (s) | 202 / 200 / other | "
        "lost | duplicated | RSS per worker (MB) |", "|---|---|---|---|---|---|---|---|"]
    for number, run in enumerate(burst["runs"], 1):
        other = sum(run["other_statuses"].values())
        lines.append(
            f"| {number} | {run['deliveries']} | {run['ack_all_s']:.2f} | "
            f"{run['processed_all_s']:.2f} | {run['accepted_202']} / {run['duplicate_200']} / "
            f"{other} | {run['lost']} | {run['duplicated']} | "
            f"{', '.join(f'{mb:.0f}' for mb in run['rss_mb'])} |")
    lines += [
        "",
        f"Median: acknowledged all in {_stat(burst['ack_all_s'])} s, processed all in "
        f"{_stat(burst['processed_all_s'])} s. Resident memory per worker after the bursts: "
        f"{_stat(burst['rss_mb_per_worker'], 0)} MB (the baseline's workers: "
        f"{_stat(burst['baseline_rss_mb_per_worker'], 0)} MB).",
        ""]
    return "\n".join(lines)


def _many_orgs(section: dict | None) -> str:
    if section is None:
        return "## 6. Many orgs\n\nSkipped in this run (`--orgs 0`).\n"
    params, one, many = section["params"], section["one_org"], section["many_orgs"]
    orgs, interval, latency = params["orgs"], params["interval_s"], params["latency_ms"]
    reads, connect = many["reads"], many["connect"]
    lines = [
        "## 6. Many orgs", "",
        f"The emulator generates {orgs} orgs (`python -m emulator --orgs {orgs}`), each with a Full "
        "Administrator, its own rules, a 1:1 space with the bot and the Service App authorized. "
        "The bot is connected to each as its operator connects one, with `flask --app app admin "
        "service-app --org-id` (`bench/connect_orgs.py` runs that command for every org in one "
        "process: the token pair fetched from Webex, vetted, stored sealed in `admin_grants`). Then "
        f"it runs under gunicorn with `WATCH_INTERVAL_SECONDS` {interval} and latency L = "
        f"{latency} ms on every Webex call; the same bot with one org connected is the "
        "comparison. Reads are counted per org from the emulator's call log (each call names the "
        "org of its token) and counted in the watcher's own windows (fixed, from the epoch, as every "
        "instance cuts them; `bot.jobs.watch_pacing.window_of`); a `show`'s own rules read is "
        "told apart by its org and time.", "",
        "| figure | 1 org | " + f"{orgs} orgs |", "|---|---|---|",
        f"| connecting: `admin service-app` as its own process, one org | "
        f"{one['connect']['one_process_s']:.2f} s | {connect['one_process_s']:.2f} s |",
        f"| connecting: the same command in one process, per org | - | "
        f"{_stat(connect['per_org_in_one_process_ms'], 1)} ms ({connect['in_one_process_s']:.0f} s "
        "for all) |",
        f"| watcher: the window it started in (partial: {_seconds(reads['first_window']['started_into_s'])} "
        "in, the orgs whose turn had passed read at once), orgs read / read twice | "
        f"{one['reads']['first_window']['read']} / {one['reads']['first_window']['read_twice']} | "
        f"{reads['first_window']['read']} / {reads['first_window']['read_twice']} |",
        f"| watcher: orgs read exactly once in each of the {reads['complete_windows']} complete "
        "windows after it (the watcher's own windows of `WATCH_INTERVAL_SECONDS`) | - | "
        f"**{reads['read_once_every_interval']}** |",
        f"| watcher: orgs read twice in a complete window / missed in one / never read | - | "
        f"{reads['read_twice_in_a_window']} / {reads['missed_in_a_window']} / "
        f"{reads['never_read']} |",
        f"| watcher: orgs read in the first {interval} s after its first read | "
        f"{one['reads']['read_in_first_interval']} | {reads['read_in_first_interval']} |",
        f"| watcher: the catch-up's pace (the orgs whose turn had passed, all due at once) | - | "
        f"{_num(reads['catch_up_reads_per_s'])} orgs per s |",
        f"| Webex calls in flight at most: first round (with the shows) / later rounds (the "
        f"watcher's alone) / whole run (the emulator's count) | {one['peak_first_round']} / - / "
        f"{one['peak_whole_run']} | {many['peak_first_round']} / "
        f"{many.get('peak_later_rounds', '-')} / {many['peak_whole_run']} (bound: "
        f"{section['bound_source']}) |",
        f"| `show` while the sweep runs, over the floor 3 L | {_stat(one['show']['ratio_to_floor'], 3)}"
        f" | {_stat(many['show']['ratio_to_floor'], 3)} |",
        f"| `show` end to end (ms) | {_stat(one['show']['e2e_ms'], 0)} | "
        f"{_stat(many['show']['e2e_ms'], 0)} |",
        f"| CPU of the bot's processes per watcher read (ms, the shows included) | "
        f"{_num(one['cpu_ms_per_watcher_read'], 1)} | {_num(many['cpu_ms_per_watcher_read'], 1)} |",
        f"| resident memory per worker at the end (MB) | "
        f"{', '.join(f'{mb:.0f}' for mb in one['rss_mb_per_worker'])} | "
        f"{', '.join(f'{mb:.0f}' for mb in many['rss_mb_per_worker'])} |",
        "",
        f"Memory per org: **{section['rss_kb_per_org']:.0f} KB** in the largest worker (the one "
        f"that ran the watcher holds the access of every org it read), "
        f"{section['rss_total_kb_per_org']:.0f} KB over all workers: the growth from 1 org to "
        f"{orgs} connected, over the {section['orgs_reached']} the watcher read by the end (an "
        "org's access is built when first used). Webex calls from the watcher's first read on, "
        "by endpoint: " + ", ".join(f"{endpoint} x{n}" for endpoint, n in
                                    many["calls_while_watched"].items()) + ".",
        ""]
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "not every org read in the window" if value is None else f"{value:.1f} s"


NOTES = """## What the bot does to get close to the floor

- The requester lookup and the rules read run at the same time (one thread pool per process,
  `bot/chat/services.py`), for every route that reads the rules (`bot/chat/router.py`). The command is
  parsed from the message first; the rules read is handed to the handler only after
  `_authorized` allowed the requester, and dropped unread on a refusal (`bot/chat/dispatch.py`).
- A card submit reads the action and the card at once: the event names the card, and what
  counts is the card the action itself names (a mismatch reads that one).
- The confirmation reads the rules alongside the fresh role check (person and role list read at
  once, with no cache); a refusal cancels it and nothing of it is used.
- The bot's identity, the managed org and the role names are read once per process at start-up,
  in the background, all three at once; a failure there only logs and they are read on first use.
- Webex connections are reused (one `requests` session per token, kept alive), and the proxy
  settings are read from the environment once, not on every call.
- Acknowledgements never wait on Webex (the inbox), which is why slow Webex leaves them unchanged.
  The webhook is answered by a thin WSGI layer in front of Flask (`bot/webhook/endpoint.py`).
  The inbox's statements are built once; events arriving together are committed together (one
  statement, one transaction, one disk flush, each request answered only once its event is stored); on SQLite
  the inbox's writers take turns in a queue (`bot/storage/store.py`); and an inbox worker waits for a quiet
  moment (no signed webhook request in flight and none begun for 20 ms) until at most 1 s after
  the event arrived before it processes it.
"""
