"""The change watcher: notice rule changes made outside the bot (Control Hub, other tools).

Every ``WATCH_INTERVAL_SECONDS``, in one process at a time, it reads the rules and compares them
with the last rules the bot knows. A difference the bot did not make is reported to the notify
spaces and the subscribers, naming the admin when the Admin Audit Events API can tell (it needs
``spark-admin:audit_events_read``), then remembered. A round that cannot read the rules reports
nothing: a change nobody saw is never announced.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

from .context import Services
from .notifications import broadcast
from .reports import save_report
from .rules import VoicemailRules
from .store import Store
from .views import rules_diff
from .webex_errors import WebexCallError

log = logging.getLogger(__name__)
REPORT = "watcher"
AUDIT_SLACK = timedelta(minutes=2)  # audit events can carry a slightly earlier time


class Watcher:
    def __init__(self, services: Services, store: Store):
        self._services = services
        self._store = store

    def check(self) -> str:
        """One round; returns what happened, for logs and tests."""
        services = self._services
        if services.pending.applying_now():
            return "skipped: a change is being applied through the bot"
        try:
            org_id = services.admin.managed_org_id()
            current = services.admin.read_rules()
        except WebexCallError as exc:
            self._report(ok=False, error=str(exc))
            log.warning("change watcher could not read the rules: %s", exc)
            return "failed: rules unreadable"
        self._report(ok=True, error=None)
        known = services.snapshots.get(org_id)
        if known is None:
            services.snapshots.save(org_id, current)
            return "first look: rules remembered"
        before, seen_at = known
        if _same(before, current):
            return "no change"
        # Asked again now: a change the bot began after the first look has not landed in what we
        # read; one it finished is in the audit log (written before it stops being "applying").
        if services.pending.applying_now() or self._made_by_bot(current, seen_at):
            services.snapshots.save(org_id, current)
            return "the bot's own change"
        changes = rules_diff(VoicemailRules.from_api(before), VoicemailRules.from_api(current))
        if changes:
            who = self._actor(org_id, seen_at)
            broadcast(services, who=who, where="outside the bot", changes=changes)
            log.info("voicemail rules changed outside the bot (%s): %d field(s)", who, len(changes))
        services.snapshots.save(org_id, current)
        return f"reported {len(changes)} change(s)"

    def _made_by_bot(self, current: dict, since: datetime) -> bool:
        """A change the bot applied after the last look: already announced by the change flow."""
        return any(_same(entry.after, current) and entry.applied_at >= since - AUDIT_SLACK
                   for entry in self._services.audit.recent(5))

    def _actor(self, org_id: str, since: datetime) -> str:
        """The admin who changed the rules, from the Admin Audit Events, when the token may see them."""
        now = datetime.now(timezone.utc)
        try:
            events = self._services.admin.sdk(lambda api: list(api.admin_audit_events.list(
                orgId=org_id, _from=_iso(since - AUDIT_SLACK), to=_iso(now + AUDIT_SLACK))))
        except WebexCallError as exc:
            log.info("admin audit events unavailable (%s); the change is reported without a name",
                     exc.status)
            return "Someone changed them outside the bot"
        for event in reversed(events):
            data = event.to_dict().get("data", {})
            if "voicemail" in f"{data.get('eventDescription', '')} {data.get('actionText', '')}".lower():
                return f"{data.get('actorName', 'An admin')} ({data.get('actorEmail', '')}) " \
                       "changed them"
        return "Someone changed them outside the bot"

    def _report(self, *, ok: bool, error: str | None) -> None:
        save_report(self._store, REPORT, {"ok": ok, "error": error})


def _same(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
