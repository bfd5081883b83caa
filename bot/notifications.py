"""Tell everyone who should know about a change: ``NOTIFY_ROOM_IDS`` and subscribers, once each.

The space where the change was made already has the result in its thread, so it is skipped; a
subscriber who made the change in their 1:1 space is skipped for the same reason. A PIN appears
only as "changed".
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from . import cards
from .context import Context
from .messenger import Reply
from .rules import PIN_HIDDEN, FieldChange
from .views import change_rows
from .webex_errors import WebexCallError

log = logging.getLogger(__name__)


def notify_change(ctx: Context, changes: list[FieldChange]) -> list[str]:
    """Post the notification card; return the targets reached (room ids / person ids)."""
    services = ctx.services
    where = ("through the bot in a 1:1 space" if ctx.room_type == "direct"
             else "through the bot in a group space")
    card = cards.render("notification", {
        "who": f"{ctx.requester.display_name} ({ctx.requester.email}) changed them",
        "where": where, "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "changes": change_rows([_pin_as_changed(c) for c in changes])})
    reached = []
    for room_id in dict.fromkeys(services.settings.notify_room_ids):
        if room_id != ctx.room_id and _send(ctx, card, room_id=room_id):
            reached.append(room_id)
    for person_id in dict.fromkeys(services.subscriptions.people()):
        made_here = ctx.room_type == "direct" and person_id == ctx.requester.person_id
        if not made_here and _send(ctx, card, person_id=person_id):
            reached.append(person_id)
    return reached


def _pin_as_changed(change: FieldChange) -> FieldChange:
    if change.after == PIN_HIDDEN:
        return FieldChange(change.label, "hidden", "changed")
    return change


def _send(ctx: Context, card: cards.RenderedCard, **target: str) -> bool:
    try:
        ctx.services.messenger.post(Reply.of(card), **target)
        return True
    except WebexCallError as exc:
        log.warning("notification to %s not delivered: %s", target, exc)
        return False
