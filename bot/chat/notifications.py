"""Tell everyone who should know about a change: ``NOTIFY_ROOM_IDS`` and subscribers, once each.

For a change made through the bot, the space where it was made already has the result in its
thread, so it is skipped; so is a subscriber who made the change in their 1:1 space. A subscriber
is told only while they may still view the rules (their roles are looked up again, uncached: a
role revoked since they subscribed stops the rules data reaching them). A PIN appears only as "changed".
A post that fails is retried with backoff (a rare duplicate beats a space that never hears of it).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.chat.context import Context, Services
from bot.chat.notify_spaces import notify_rooms
from bot.chat.retries import deliver
from bot.domain.authorization import Permission, decide
from bot.domain.rules import PIN_HIDDEN, FieldChange
from bot.views import cards
from bot.views.card_data import change_rows
from bot.webex.admin_token import AdminTokenExpired
from bot.webex.errors import WebexCallError
from bot.webex.messenger import Reply

log = logging.getLogger(__name__)


def notify_change(ctx: Context, changes: list[FieldChange]) -> list[str]:
    """A change made through the bot; return the targets reached (room ids / person ids)."""
    where = ("through the bot in a 1:1 space" if ctx.room_type == "direct"
             else "through the bot in a group space")
    direct = ctx.room_type == "direct"
    return broadcast(ctx.services, who=f"{ctx.requester.display_name} ({ctx.requester.email}) "
                                       "changed them", where=where, changes=changes,
                     skip_room=ctx.room_id, skip_person=ctx.requester.person_id if direct else None)


def broadcast(services: Services, *, who: str, where: str, changes: list[FieldChange],
              when: datetime | None = None, skip_room: str | None = None,
              skip_person: str | None = None) -> list[str]:
    """Post the notification card to every notify space and subscriber, skipping the given ones."""
    card = cards.render("notification", {
        "who": who, "where": where,
        "when": (when or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        "changes": change_rows([_pin_as_changed(c) for c in changes])})
    reached = []
    for room_id in notify_rooms(services):
        if room_id != skip_room and _send(services, card, room_id=room_id):
            reached.append(room_id)
    for person_id in dict.fromkeys(services.subscriptions.people()):
        if person_id != skip_person and _may_still_view(services, person_id) \
                and _send(services, card, person_id=person_id):
            reached.append(person_id)
    return reached


def _may_still_view(services: Services, person_id: str) -> bool:
    """A subscriber's roles may have changed since they subscribed (looked up afresh: this sends
    rules data, and changes are rare); when unsure, tell nothing."""
    try:
        person = services.directory.requester(person_id, fresh=True)
        allowed = decide(person, Permission.VIEW,
                         managed_org_id=services.admin.managed_org_id()).allowed
    except (WebexCallError, AdminTokenExpired) as exc:
        log.warning("subscriber %s not notified: their role could not be checked (%s)",
                    person_id, exc)
        return False
    if not allowed:
        log.info("subscriber %s not notified: they may no longer view the rules", person_id)
    return allowed


def _pin_as_changed(change: FieldChange) -> FieldChange:
    if change.after == PIN_HIDDEN:
        return FieldChange(change.label, "hidden", "changed")
    return change


def _send(services: Services, card: cards.RenderedCard, **target: str) -> bool:
    """Post, retried with backoff: every notification is delivered at least once if Webex lets
    it through in time (failures logged by ``deliver``)."""
    return deliver(f"the notification to {target}",
                   lambda: services.messenger.post(Reply.of(card), **target)) is not None
