"""The change watcher: notice rule changes made outside the bot (Control Hub, other tools).

It reads each connected org's rules (with that org's admin token) once per
``WATCH_INTERVAL_SECONDS`` and compares them with the last rules the bot knows for that org; what
it finds goes to that org's history, notification spaces and subscribers only. A difference the
bot did not make is remembered, written to the history (the audit log, as made outside the bot)
and reported to the notify spaces and the subscribers, naming the admin when the Admin Audit
Events API can tell (it needs ``spark-admin:audit_events_read``). A look that cannot read the
rules reports nothing: a change nobody saw is never announced. Each look first settles the bot's
own changes whose PUT went unanswered (``unknown``): applied if the rules now read as asked.

**Many orgs.** The reads are spread over the interval (``watch_pacing``: each org at its own
offset), run by ``WATCH_CONCURRENCY`` workers (default 8), so at most that many Webex calls are in
flight: a read is one call, a change found adds a few; 8 keeps a thousand orgs' reads at 100 ms
each to a few seconds of an interval while leaving Webex's per-app limits and the web workers'
connections alone, and lets 7 orgs be read while one hangs. A read is tried once (no retry
inside: a slow or failing org holds one worker for at most ``WEBEX_TIMEOUT_SECONDS``) and read
again at its next turn. A 429 pauses that org alone until its ``Retry-After``: every org has its
own token, which Webex limits on its own.

**One process at a time.** The paced round (``step``) runs only where the ``change-watcher``
lease is held (``bot.jobs.scheduler.run_paced``, renewed every few seconds). Each org's look is
also claimed for its window in the database (a lease named after the org), so if the round's
lease runs out and another process or instance takes the round over mid-window, it reads the orgs
not yet read in that window and none a second time.

The known rules are read before Webex is asked, and replaced only if they are still the ones read
(compare-and-set); a look announces only after it won that save. So a bot change saved during a
slow read is never announced backwards, and of two looks that overlap (a lease that ran out
mid-read, ``flask watch --once``) only one announces.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.chat.change_flow import settle_unknown
from bot.chat.context import OrgScope, Services
from bot.chat.deps import ChangeFlowDeps
from bot.chat.notifications import Notifier
from bot.chat.retries import durably
from bot.domain.rules import VoicemailRules
from bot.jobs.watch_health import FAILED, RATE_LIMITED, READ, SKIPPED, WatchHealth
from bot.jobs.watch_pacing import Pacer, Turn, stable_order, window_of
from bot.storage.admin_grants import OrgForgotten
from bot.storage.audit import Actor
from bot.storage.leases import Leases
from bot.storage.snapshots import Snapshot
from bot.storage.store import Store
from bot.views.card_data import rules_diff
from bot.webex.admin_token import AdminTokenExpired
from bot.webex.errors import WebexCallError

log = logging.getLogger(__name__)
AUDIT_SLACK = timedelta(minutes=2)  # audit events can carry a slightly earlier time
NOBODY_NAMED = "They were changed"  # "... outside the bot at <when>."
LEASE = "change-watcher"  # the paced round's lease (the same name `flask watch` takes)
LEASE_TTL = timedelta(seconds=30)  # another process takes the round over this long after a stop
RENEW_SECONDS = 5.0  # the round wakes (and renews its lease) at least this often
IDLE_SECONDS = 10.0  # how often the other processes look whether the round's lease is free
NO_RETRY_AFTER_SECONDS = 60.0  # a 429 without Retry-After (Webex sends one): a minute
BY_HAND_INTERVAL = 300  # the window that `flask watch --once` counts in when the watcher is off


@dataclass(frozen=True)
class BotAdmin:
    """The person behind the admin token: the bot's own writes appear under this name."""

    person_id: str
    email: str


class Watcher:
    def __init__(self, services: Services, store: Store):
        settings = services.settings
        self._services = services
        self._store = store
        self._bot_admins: dict[str, BotAdmin] = {}
        self._interval = settings.watch_interval_seconds or BY_HAND_INTERVAL
        self._pacer = Pacer(self._interval)
        self._health = WatchHealth(store, self._pacer, interval=self._interval,
                                   concurrency=settings.watch_concurrency)
        # Threads start on the first read, so none exists before gunicorn forks.
        self._workers = ThreadPoolExecutor(settings.watch_concurrency, thread_name_prefix="watch")
        self._claims = Leases(store)
        self._me = f"{os.uname().nodename}:{os.getpid()}:{id(self):x}"
        self._reading: set[str] = set()
        self._looked_in: dict[str, int] = {}  # org -> the window its latest look began in
        self._lock = threading.Lock()

    def step(self) -> float:
        """The paced round's next move, while this process holds the lease: start the looks
        that are due; how long to wait before the next move."""
        self._health.flush(time.time())
        try:
            due = self._pacer.due(time.time(), self._connected)
        except (WebexCallError, AdminTokenExpired):
            return RENEW_SECONDS  # logged and in /healthz; the window is planned at the next step
        for window in sorted({turn.window for turn in due}):
            self._start(window, [turn for turn in due if turn.window == window])
        return min(max(self._pacer.next_at() - time.time(), 0.0), RENEW_SECONDS)

    def check(self) -> str:
        """One round by hand (``flask watch --once``): every connected org now, the same workers;
        returns what happened (one org: its outcome; several: each org's, numbered, never
        naming an org), for logs and tests."""
        try:
            orgs = stable_order(self._connected())
        except (WebexCallError, AdminTokenExpired):
            return "failed: rules unreadable"
        if not orgs:
            return "nothing to watch: no org is connected yet"
        outcomes = list(self._workers.map(self._look, orgs))
        self._health.flush(time.time(), now_or_never=True)
        if len(outcomes) == 1:
            return outcomes[0]
        return "; ".join(f"org {number}: {outcome}" for number, outcome in enumerate(outcomes, 1))

    def stop(self) -> None:
        self._workers.shutdown(wait=False, cancel_futures=True)

    def _connected(self) -> list[str]:
        try:
            return self._health.planned(self._services.orgs.connected())
        except (WebexCallError, AdminTokenExpired) as exc:
            self._health.cannot_list_orgs(str(exc), time.time())
            log.warning("change watcher could not tell which orgs are connected: %s", exc)
            raise

    def _start(self, window: int, turns: list[Turn]) -> None:
        """Hand each of ``window``'s due ``turns`` to a worker, unless its org's last look still
        runs or another process looked at it in this window. Their claims are taken together,
        in one transaction: a catch-up's hundreds of turns due at once are not fed to the
        workers at the pace of one database write each."""
        org_ids = [turn.org_id for turn in turns if self._to_read(turn)]
        if not org_ids:
            return
        claim = timedelta(seconds=max((window + 1) * self._interval - time.time(), 0.0))
        names = {_claim_name(org_id): org_id for org_id in org_ids}
        taken = self._claims.acquire_each(list(names), self._me, claim)
        for name, org_id in names.items():
            if name not in taken:
                self._done(org_id)
                continue
            self._workers.submit(self._look, org_id).add_done_callback(
                functools.partial(self._looked, org_id))

    def _to_read(self, turn: Turn) -> bool:
        """Whether ``turn`` is to be read (then its org is marked as being read)."""
        with self._lock:
            if self._looked_in.get(turn.org_id) == turn.window:
                # A late turn of the last window (a backlog: a catch-up at start) looked at it in
                # this one already: once per window, the late look counts for this one.
                return False
            if turn.org_id in self._reading:
                self._health.count(turn.org_id, SKIPPED, time.time())
                log.warning("change watcher: org %s is still being read from its last turn",
                            turn.org_id)
                return False
            self._reading.add(turn.org_id)
            return True

    def _looked(self, org_id: str, _future: Future) -> None:
        self._done(org_id)

    def _done(self, org_id: str) -> None:
        with self._lock:
            self._reading.discard(org_id)

    def _look(self, org_id: str) -> str:
        with self._lock:
            self._looked_in[org_id] = window_of(time.time(), self._interval)
        try:
            return self._check_org(org_id)
        except Exception:  # a database blip ends this org's look, not the round
            log.exception("change watcher: the look at org %s failed", org_id)
            self._health.count(org_id, FAILED, time.time())
            return "failed: an error (logged)"

    def _check_org(self, org_id: str) -> str:
        """One org's look; a failure is this org's alone."""
        org = self._services.scope(org_id)
        if org is None or org.pending.applying_now():
            self._health.count(org_id, SKIPPED, time.time())
            return ("skipped: disconnected meanwhile" if org is None
                    else "skipped: a change is being applied through the bot")
        if self._pacer.paused(org_id, time.time()) is not None:
            self._health.count(org_id, RATE_LIMITED, time.time())
            return "rate-limited: waiting for Webex's Retry-After"
        try:
            # First, changes whose PUT went unanswered: the bot's own if the rules now read as
            # they asked (recorded, so not announced below), never news from outside.
            for outcome in settle_unknown(ChangeFlowDeps.of(self._services, org)):
                log.info("change watcher settled %s", outcome)
            known = org.snapshots.read(org_id)  # first: a read of Webex may take long
            current = org.admin.read_rules(retry=False)
        except WebexCallError as exc:
            if exc.status == 429:
                return self._rate_limited(org_id, exc)
            return self._unreadable(org_id, exc)
        except AdminTokenExpired as exc:
            return self._unreadable(org_id, exc)
        self._health.count(org_id, READ, time.time())  # before the news: the read worked
        try:
            return self._compare(org, known, current)
        except OrgForgotten:  # disconnected during the read: nothing of it is kept or told
            return "skipped: disconnected meanwhile"

    def _rate_limited(self, org_id: str, exc: WebexCallError) -> str:
        wait = exc.retry_after if exc.retry_after is not None else NO_RETRY_AFTER_SECONDS
        self._pacer.defer(org_id, time.time() + wait)
        self._health.count(org_id, RATE_LIMITED, time.time())
        log.warning("change watcher: Webex rate-limits org %s; its next read in %.0f s",
                    org_id, wait)
        return f"rate-limited: next read in {wait:.0f} s"

    def _unreadable(self, org_id: str, exc: Exception) -> str:
        # A refused refresh or a Webex failure: said in one line each look, and in /healthz
        # (counted, without naming the org), as the operator's action is named there.
        self._health.count(org_id, FAILED, time.time())
        log.warning("change watcher could not read the rules of org %s: %s", org_id, exc)
        return "failed: rules unreadable"

    def _compare(self, org: OrgScope, known: Snapshot | None, current: dict) -> str:
        org_id = org.org_id
        if known is None:
            if org.snapshots.save_first(org_id, current):
                return "first look: rules remembered"
            return "first look: the rules were remembered meanwhile"
        if _same(known.rules, current):
            return "no change"
        # Asked again now: a change the bot began after the first look has not landed in what we
        # read; one it finished is in the audit log (written before it stops being "applying").
        if org.pending.applying_now() or self._made_by_bot(org, current, known.seen_at):
            org.snapshots.replace(org_id, known, current)  # the bot saves it too
            return "the bot's own change"
        return self._announce(org, known, current)

    def _announce(self, org: OrgScope, known: Snapshot, current: dict) -> str:
        """Remember ``current`` if no one saved other rules since ``known``; then, only then,
        announce the difference (to that org's spaces and subscribers)."""
        if not org.snapshots.replace(org.org_id, known, current):
            return "not announced: the rules were remembered meanwhile (by the bot or a round)"
        changes = rules_diff(VoicemailRules.from_api(known.rules), VoicemailRules.from_api(current))
        if changes:
            actor = self._actor(org, known.seen_at)
            durably("the history entry of a change outside the bot",
                    lambda: org.audit.record_outside(actor=actor, changes=changes,
                                                     before=known.rules, after=current))
            who = f"{actor.name} ({actor.email}) changed them" if actor else NOBODY_NAMED
            Notifier.of(self._services, org).broadcast(who=who, where="outside the bot",
                                                       changes=changes)
            log.info("voicemail rules changed outside the bot (%s): %d field(s)", who, len(changes))
        return f"reported {len(changes)} change(s)"

    @staticmethod
    def _made_by_bot(org: OrgScope, current: dict, since: datetime) -> bool:
        """A change the bot applied after the last look: already announced by the change flow."""
        return any(_same(entry.after, current) and entry.applied_at >= since - AUDIT_SLACK
                   for entry in org.audit.recent(5, through_bot=True))

    def _actor(self, org: OrgScope, since: datetime) -> Actor | None:
        """The admin who changed the rules, from the Admin Audit Events, when the token may see them."""
        now = datetime.now(UTC)
        try:
            bot_admin = self._admin_identity(org)
            events = org.admin.sdk(lambda api: list(api.admin_audit_events.list(
                orgId=org.org_id, _from=_iso(since - AUDIT_SLACK), to=_iso(now + AUDIT_SLACK))))
        except WebexCallError as exc:
            log.info("admin audit events unavailable (%s); the change is reported without a name",
                     exc.status)
            return None
        event = latest_rules_event([e.to_dict() for e in events], bot_admin=bot_admin)
        if event is None:
            return None
        data = event["data"]
        return Actor(str(event.get("actorId", "")), str(data.get("actorName", "An admin")),
                     str(data.get("actorEmail", "")))

    def _admin_identity(self, org: OrgScope) -> BotAdmin:
        """Who the org's admin token acts as (asked once per watcher and org)."""
        if org.org_id not in self._bot_admins:
            me = org.admin.sdk(lambda api: api.people.me())
            self._bot_admins[org.org_id] = BotAdmin(me.id, (me.emails or [""])[0])
        return self._bot_admins[org.org_id]


def _claim_name(org_id: str) -> str:
    """The lease that claims an org's look for a window (names hold 64 characters; ids more)."""
    return f"watch-org:{hashlib.sha256(org_id.encode()).hexdigest()[:40]}"


def latest_rules_event(events: list[dict[str, Any]], *, bot_admin: BotAdmin) -> dict | None:
    """The latest voicemail-rules event not written with the bot's admin token, or None.

    Webex documents no order for the events (the emulator lists the newest first), so they are
    sorted by ``created``. The bot's own PUTs fall in the window too; they are never the answer.
    """
    return max((event for event in events if _about_rules(event)
                and not _by(event, bot_admin)), key=_created, default=None)


def _about_rules(event: dict[str, Any]) -> bool:
    data = event.get("data", {})
    return "voicemail" in f"{data.get('eventDescription', '')} {data.get('actionText', '')}".lower()


def _by(event: dict[str, Any], admin: BotAdmin) -> bool:
    # By email too: an event's actorId need not be spelled as people/me spells the same person.
    email = event.get("data", {}).get("actorEmail", "")
    return event.get("actorId") == admin.person_id or (
        bool(email) and email.lower() == admin.email.lower())


def _created(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["created"].replace("Z", "+00:00"))


def _same(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
