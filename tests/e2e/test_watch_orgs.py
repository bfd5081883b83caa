"""The change watcher of a deployment serving four orgs (acme, globex, initech, umbrella, each
connected by its own Service App pair), the bot under gunicorn (two workers) against the emulator
over HTTP, with one org failing (initech: 503) and one hanging (globex: 2.5 s, over the 1 s
timeout): the others are read at their turn in every window, each org's outside change is told
to that org's subscribers only, and /healthz and /metrics count the failures without naming an
org."""

from __future__ import annotations

import time

import requests

from tests.support.bot_process import start_gunicorn_bot
from tests.support.bot_server import Persona
from tests.support.orgs import SERVICE_APP, connect, put_expiry, said
from tests.support.waiting import wait_until
from tests.support.watch_reads import (
    ORGS,
    assert_read_on_time,
    full_windows,
    in_window,
    nothing_in_flight,
    rules_reads,
)

INTERVAL = 2  # seconds: WATCH_INTERVAL_SECONDS
ACME_DAYS, UMBRELLA_DAYS = 61, 45


def subscribed(emulator, key: str) -> Persona:
    person = Persona(emulator, key)
    person.say("subscribe")
    assert "Subscribed" in said(person.wait_reply(timeout=20))
    return person


def read_once(emulator, *keys: str) -> None:
    """Wait until the watcher has read each org's rules once (its copy to compare with)."""
    wait_until(lambda: set(keys) <= {read.org for read in rules_reads(emulator)
                                     if read.status == 200},
               f"a first read of {keys}", timeout=20)


def test_one_failing_and_one_hanging_org_leave_the_others_watched_and_told(emulator, tmp_path):
    tokens = connect(emulator, tmp_path, *ORGS)
    emulator.add_fault(method="GET", path="/v1/telephony/*", orgId="initech", status=503)
    emulator.add_fault(method="GET", path="/v1/telephony/*", orgId="globex", latencyMs=2500)
    bot = start_gunicorn_bot(emulator, tmp_path, watch_interval_seconds=INTERVAL,
                             watch_concurrency=2, webex_timeout_seconds=1, **SERVICE_APP)
    try:
        started = time.time()
        rita, uma = subscribed(emulator, "rita"), subscribed(emulator, "uma")
        read_once(emulator, "acme", "umbrella")
        put_expiry(emulator, tokens["acme"], ACME_DAYS)  # in Control Hub, outside the bot
        put_expiry(emulator, tokens["umbrella"], UMBRELLA_DAYS)
        told_rita = said(rita.wait_reply(timeout=20))
        told_uma = said(uma.wait_reply(timeout=20))
        time.sleep(max(0.0, started + 7 - time.time()))  # three whole windows at least
        windows = full_windows(started, time.time(), INTERVAL)
        health = requests.get(f"{bot.url}/healthz", timeout=10).json()["components"]["watcher"]
        metrics = requests.get(f"{bot.url}/metrics", timeout=10).text
    finally:
        bot.stop()
    nothing_in_flight(emulator)  # globex's calls, held 2.5 s, answer into this test, not the next

    assert_read_on_time(emulator, windows, INTERVAL, ("acme", "umbrella"))
    failed = [read for read in rules_reads(emulator) if read.org == "initech"]
    for window in windows:  # one try per turn: nothing retried inside a read
        assert [read.status for read in in_window(failed, window, INTERVAL)] == [503]

    assert f"{ACME_DAYS} days" in told_rita and f"{UMBRELLA_DAYS} days" not in told_rita
    assert f"{UMBRELLA_DAYS} days" in told_uma and f"{ACME_DAYS} days" not in told_uma
    for person, other in ((rita, ("Umbrella", "Uma", "Initech")), (uma, ("Acme", "Rita", "Alice"))):
        for message in person.bot_messages():
            assert not [word for word in other if word in said(message)], said(message)

    assert health["ok"] is False and health["orgs"] == 4
    assert health["error"] == "2 of 4 org(s): rules unreadable at their latest read"
    assert health["last_interval"]["read"] == 2 and health["last_interval"]["failed"] == 2
    for key in ORGS:  # counts only: /healthz and /metrics name no org
        for secret in (emulator.id(key), key, key.capitalize()):
            assert secret not in str(health) and secret not in metrics
    assert 'vmbot_watcher_reads_total{outcome="failed"}' in metrics
