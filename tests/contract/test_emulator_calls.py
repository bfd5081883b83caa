"""What the emulator tells of the calls made to it, over HTTP: each logged call's org (the org of
the caller's token, ``callerOrgId``), the most calls in flight at once, and a call log as long as
asked (``--call-log-size``): what the many-orgs benchmark counts with."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import requests

from devtools.processes import REPO, emulator_command, free_port, start

RULES = "telephony/config/voicemail/rules"


def get(emulator_url: str, path: str, token: str) -> int:
    return requests.get(f"{emulator_url}/v1/{path}", timeout=10,
                        headers={"Authorization": f"Bearer {token}"}).status_code


def log(url: str) -> list[dict]:
    response = requests.get(f"{url}/_emulator/calls/log", timeout=10)
    response.raise_for_status()
    return response.json()["items"]


def test_each_logged_call_names_the_org_of_its_token(emulator):
    emulator.control("DELETE", "calls")
    for token in ("admin-token", "iris-admin-token", "uma-token", "no-such-token"):
        get(emulator.url, RULES, token)
    assert [(c["endpoint"], c["callerOrgId"]) for c in log(emulator.url)] == [
        (f"GET /v1/{RULES}", emulator.id("acme")),
        (f"GET /v1/{RULES}", emulator.id("initech")),
        (f"GET /v1/{RULES}", emulator.id("umbrella")),  # a user's token: refused, still its org
        (f"GET /v1/{RULES}", None),  # an unknown token is of no org
    ]


def test_the_peak_of_calls_in_flight_counts_calls_served_at_once(emulator):
    emulator.add_fault(method="GET", path=f"/v1/{RULES}", latencyMs=400)
    emulator.control("DELETE", "calls")
    with ThreadPoolExecutor(5) as pool:
        statuses = list(pool.map(lambda _n: get(emulator.url, RULES, "admin-token"), range(5)))
    assert statuses == [200] * 5
    peak = emulator.control("GET", "calls/peak").json()
    assert (peak["peak"], peak["inFlight"]) == (5, 0)
    emulator.control("DELETE", "faults")
    emulator.control("DELETE", "calls")  # the peak starts again
    for _ in range(3):  # one after another: never more than one at once
        get(emulator.url, RULES, "admin-token")
    peak = emulator.control("GET", "calls/peak").json()
    assert (peak["peak"], peak["inFlight"]) == (1, 0)


def test_the_call_log_keeps_as_many_calls_as_asked(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start("emulator --call-log-size 3", emulator_command(port, "--call-log-size", "3"),
                    cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                    log_path=tmp_path / "emulator.log", ready_url=f"{url}/_emulator/directory",
                    timeout=60)
    try:
        for path in ("people/me", "rooms", "roles", RULES, "people/me"):
            get(url, path, "admin-token")
        assert [c["path"] for c in log(url)] == ["/v1/roles", f"/v1/{RULES}", "/v1/people/me"]
        requests.post(f"{url}/_emulator/reset", timeout=10).raise_for_status()
        for _ in range(4):
            get(url, "people/me", "admin-token")
        assert len(log(url)) == 3  # a reset keeps the size
    finally:
        process.stop()
    refused = subprocess.run(emulator_command(free_port(), "--call-log-size", "0"), cwd=REPO,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--call-log-size must be at least 1" in refused.stderr
