"""The change watcher: notice rule changes made outside the bot (Control Hub, other tools).

Every ``WATCH_INTERVAL_SECONDS``, in one process at a time, it reads each connected org's rules
(with that org's admin token) and compares them with the last rules the bot knows for that org;
an org whose rules cannot be read does not stop the others, and what it finds goes to that org's
history, notification spaces and subscribers only. A difference the bot did not make is
remembered, written to the history (the audit log, as made outside the bot) and reported
to the notify spaces and the subscribers, naming the admin when the Admin Audit Events API can tell (it needs
``spark-admin:audit_events_read``). A round that cannot read the rules reports
nothing: a change nobody saw is never announced. Each round first settles the bot's own changes
whose PUT went unanswered (``unknown``): applied if the rules now read as asked, else not.

The known rules are read before Webex is asked, and replaced only if they are still the ones read
(compare-and-set); a round announces only after it won that save. So a bot change saved during a
slow read is never announced backwards, and of two rounds that overlap (a lease that ran out
mid-round, ``flask watch --once``) only one announces.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.chat.change_flow import settle_unknown
from bot.chat.context import OrgScope, Services
from bot.chat.deps import ChangeFlowDeps
from bot.chat.notifications import Notifier
from bot.chat.retries import durably
from bot.domain.rules import VoicemailRules
from bot.storage.audit import Actor
from bot.storage.reports import save_report
from bot.storage.snapshots import Snapshot
from bot.storage.store import Store
from bot.views.card_data import rules_diff
from bot.webex.admin_token import AdminTokenExpired
from bot.webex.errors import WebexCallError

log = logging.getLogger(__name__)
REPORT = "watcher"
AUDIT_SLACK = timedelta(minutes=2)  # audit events can carry a slightly earlier time
NOBODY_NAMED = "They were changed"  # "... outside the bot at <when>."


@dataclass(frozen=True)
class BotAdmin:
    """The person behind the admin token: the bot's own writes appear under this name."""

    person_id: str
    email: str


class Watcher:
    def __init__(self, services: Services, store: Store):
        self._services = services
        self._store = store
        self._bot_admins: dict[str, BotAdmin] = {}

    def check(self) -> str:
        """One round over every connected org; returns what happened (one org: its outcome, as
        before; several: each org's, numbered, never naming an org), for logs and tests."""
        try:
            orgs = self._services.orgs.connected()
        except (WebexCallError, AdminTokenExpired) as exc:
            self._report(ok=False, error=str(exc))
            log.warning("change watcher could not tell which orgs are connected: %s", exc)
            return "failed: rules unreadable"
        outcomes = [self._check_org(org_id) for org_id in orgs]
        failed = sum(outcome.startswith("failed") for outcome in outcomes)
        self._report(ok=not failed, error=f"{failed} of {len(orgs)} org(s): rules unreadable"
                     if failed else None)
        if len(outcomes) == 1:
            return outcomes[0]
        return "; ".join(f"org {number}: {outcome}" for number, outcome in enumerate(outcomes, 1))

    def _check_org(self, org_id: str) -> str:
        """One org's round; a failure is this org's alone."""
        org = self._services.scope(org_id)
        if org is None:
            return "skipped: disconnected meanwhile"
        if org.pending.applying_now():
            return "skipped: a change is being applied through the bot"
        try:
            # First, changes whose PUT went unanswered: the bot's own if the rules now read as
            # they asked (recorded, so not announced below), never news from outside.
            for outcome in settle_unknown(ChangeFlowDeps.of(self._services, org)):
                log.info("change watcher settled %s", outcome)
            known = org.snapshots.read(org_id)  # first: a read of Webex may take long
            current = org.admin.read_rules()
        # A refused refresh or a Webex failure: said in one line each round, and in /healthz
        # (the round's report), as the operator's action is named there.
        except (WebexCallError, AdminTokenExpired) as exc:
            log.warning("change watcher could not read an org's rules: %s", exc)
            return "failed: rules unreadable"
        return self._compare(org, known, current)

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

    def _report(self, *, ok: bool, error: str | None) -> None:
        save_report(self._store, REPORT, {"ok": ok, "error": error})


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
