"""Delivery guarantees end to end: real gunicorn processes, the emulator, SQLite and PostgreSQL.

Events are built and signed here as Webex would send them (the messages exist in the emulator, so
the bot can fetch them), which lets a test deliver one event several times, to several instances,
or kill a process at the worst moment.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
import requests

from tests.support.bot_process import bot_env, flask_cli, free_port, start_gunicorn
from tests.support.databases import fresh_postgres_database, set_database_open
from tests.support.deliveries import deliver, event_for, say
from tests.support.factories import SECRET
from tests.support.waiting import wait_until


def replies(emulator, room: str = "dm-alice") -> list[str]:
    bot_id, room_id = emulator.id("bot"), emulator.id(room)
    with emulator.state.lock:
        return [m.get("markdown") or m.get("text") or "" for m in emulator.state.messages.values()
                if m["personId"] == bot_id and m["roomId"] == room_id]


def ping(n: int) -> str:
    """A unique unknown word the bot repeats back (letters and dashes only: it never repeats
    digits), so a reply can be told apart: ping(12) is ``ping-bc``."""
    return "ping-" + "".join("abcdefghij"[int(d)] for d in str(n))


def pinged(texts: list[str]) -> list[str]:
    return [m.group(1) for t in texts if (m := re.search(r"`(ping-[a-j]+)`", t))]


@pytest.fixture
def instance(emulator, tmp_path):
    """One gunicorn (2 workers) on SQLite, no webhooks registered: the tests deliver events."""
    port = free_port()
    bot = start_gunicorn(bot_env(emulator, tmp_path, SECRET, port, EVENT_LEASE_SECONDS="2"),
                         tmp_path, port)
    yield bot
    bot.stop()


def test_the_same_event_five_times_gives_one_reply(emulator, instance):
    message = say(emulator, ping(1))
    raw, headers = event_for(emulator, message)
    with ThreadPoolExecutor(5) as pool:
        statuses = list(pool.map(lambda _: deliver(instance.url, raw, headers), range(5)))
    assert sorted(statuses) == [200, 200, 200, 200, 202]
    wait_until(lambda: pinged(replies(emulator)), timeout=30, what="the bot's reply")
    for _ in range(3):  # and later, sequential redeliveries
        assert deliver(instance.url, raw, headers) == 200
    time.sleep(1.5)
    assert pinged(replies(emulator)) == [ping(1)]


def test_acknowledgement_does_not_wait_for_webex(emulator, instance):
    emulator.add_fault(method="*", path="/v1/*", latencyMs=2000)
    message_time = time.time()
    message = say(emulator, ping(2))  # (the emulator is slow for us too)
    raw, headers = event_for(emulator, message)
    started = time.monotonic()
    assert deliver(instance.url, raw, headers) == 202
    acknowledged_at = time.time()
    assert time.monotonic() - started < 1.0
    first_answer = wait_until(lambda: next(
        (c for c in emulator.control("GET", "calls/log").json()["items"]
         if c["endpoint"] == "GET /v1/messages/{message_id}"
         and message["id"] in c["path"]), None), timeout=30, what="the bot's first call")
    answered_at = datetime.fromisoformat(first_answer["time"].replace("Z", "+00:00")).timestamp()
    assert acknowledged_at < answered_at and answered_at > message_time
    emulator.control("DELETE", "faults")
    wait_until(lambda: ping(2) in pinged(replies(emulator)), timeout=30, what="the bot's reply")


def test_an_event_acknowledged_by_a_killed_process_is_processed_after_restart(emulator, tmp_path):
    port = free_port()
    env = bot_env(emulator, tmp_path, SECRET, port, EVENT_LEASE_SECONDS="2")
    bot = start_gunicorn(env, tmp_path, port)
    emulator.add_fault(method="GET", path="/v1/messages/*", latencyMs=3000)
    message = say(emulator, ping(3))
    assert deliver(bot.url, *event_for(emulator, message)) == 202
    wait_until(lambda: emulator.calls().get("GET /v1/messages/{message_id}"), timeout=30,
               what="the bot's processing to start")
    bot.kill()  # the worker is inside its Webex call: the event is claimed, not done
    emulator.control("DELETE", "faults")
    assert pinged(replies(emulator)) == []
    restarted = start_gunicorn(env, tmp_path, port)
    try:
        wait_until(lambda: pinged(replies(emulator)), timeout=30, what="the reply after restart")
        time.sleep(1)
        assert pinged(replies(emulator)) == [ping(3)]
    finally:
        restarted.stop()


@pytest.mark.postgres
def test_two_instances_on_postgresql_process_a_burst_exactly_once(emulator, tmp_path):
    with fresh_postgres_database() as (url, _name):
        instances = []
        for number in range(2):
            port = free_port()
            workdir = tmp_path / f"instance-{number}"
            workdir.mkdir()
            env = bot_env(emulator, workdir, SECRET, port, DATABASE_URL=url,
                          EVENT_LEASE_SECONDS="10")
            instances.append(start_gunicorn(env, workdir, port))
        try:
            count = 500
            messages = [say(emulator, ping(n)) for n in range(count)]
            events = [event_for(emulator, m) for m in messages]
            # every event to both instances, and a tenth of them once more
            deliveries = [(bot.url, e) for e in events for bot in instances]
            deliveries += [(instances[n % 2].url, events[n]) for n in range(0, count, 10)]
            with ThreadPoolExecutor(50) as pool:
                statuses = list(pool.map(lambda d: deliver(d[0], *d[1]), deliveries))
            assert set(statuses) <= {200, 202} and statuses.count(202) == count
            wait_until(lambda: len(pinged(replies(emulator))) >= count, timeout=240,
                       what=f"{count} replies")
            time.sleep(2)
            seen = pinged(replies(emulator))
            assert len(seen) == count and set(seen) == {ping(n) for n in range(count)}
            logs = "".join(bot.log() for bot in instances)
            assert logs.count("processed: unknown") == count
        finally:
            for bot in instances:
                bot.stop()


@pytest.mark.postgres
def test_database_outage_gives_503_and_recovers(emulator, tmp_path):
    lease = 5  # longer than the outage below: the worker that posted a reply keeps its event
    with fresh_postgres_database() as (url, name):
        port = free_port()
        env = bot_env(emulator, tmp_path, SECRET, port, DATABASE_URL=url,
                      EVENT_LEASE_SECONDS=str(lease))
        bot = start_gunicorn(env, tmp_path, port)
        try:
            before = say(emulator, ping(10))
            assert deliver(bot.url, *event_for(emulator, before)) == 202
            wait_until(lambda: ping(10) in pinged(replies(emulator)), timeout=30,
                       what="the first reply")
            during = say(emulator, ping(11))
            emulator.add_fault(method="GET", path="/v1/messages/*", latencyMs=1500, count=1)
            slow = say(emulator, ping(12))
            assert deliver(bot.url, *event_for(emulator, slow)) == 202  # acknowledged, then...
            wait_until(lambda: not emulator.control("GET", "faults").json()["items"],
                       timeout=30, what="the slow event's processing")
            set_database_open(name, False)  # ...the database goes away mid-processing
            try:
                assert deliver(bot.url, *event_for(emulator, during)) == 503
                assert requests.get(f"{bot.url}/healthz", timeout=10).status_code == 503
                # posted while the database is down: recording the event as done fails
                wait_until(lambda: ping(12) in pinged(replies(emulator)), timeout=30,
                           what="the slow reply")
            finally:
                set_database_open(name, True)
            wait_until(lambda: requests.get(f"{bot.url}/healthz", timeout=10).status_code == 200,
                       timeout=30, what="healthz recovery")
            assert deliver(bot.url, *event_for(emulator, during)) == 202  # Webex delivers again
            wait_until(lambda: {ping(10), ping(11), ping(12)} <= set(pinged(replies(emulator))),
                       timeout=60, what="every acknowledged event processed")
            time.sleep(lease + 1.5)  # an event let go would be taken again once its lease ran out
            assert Counter(pinged(replies(emulator))) == {ping(10): 1, ping(11): 1, ping(12): 1}
        finally:
            bot.stop()


def test_an_inactive_webhook_is_reactivated_and_reported(emulator, tmp_path):
    port = free_port()
    env = bot_env(emulator, tmp_path, SECRET, port, WEBHOOK_CHECK_INTERVAL_SECONDS="1",
                  NOTIFY_ROOM_IDS=emulator.id("notify"))
    assert flask_cli(env, tmp_path, "webhooks", "sync").returncode == 0
    bot = start_gunicorn(env, tmp_path, port)
    try:
        hook_id = next(iter(emulator.state.webhooks))
        emulator.control("PUT", f"webhooks/{hook_id}/status", json={"status": "inactive"})
        wait_until(lambda: emulator.state.webhooks[hook_id]["status"] == "active", timeout=20,
                   what="the webhook re-activated by the bot")
        notices = wait_until(lambda: [t for t in replies(emulator, "notify") if "re-activated" in t],
                             timeout=30, what="the re-activation notice in the notify space")
        assert len(notices) == 1
        health = wait_until(lambda: requests.get(f"{bot.url}/healthz", timeout=5).json()
                            ["components"].get("webhooks"), timeout=30, what="webhooks in healthz")
        assert health["ok"] and len(health["items"]) == 2
        assert "was inactive and is re-activated" in bot.log()
    finally:
        bot.stop()
