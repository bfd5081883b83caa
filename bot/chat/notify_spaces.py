"""``notify here`` / ``notify off``: a Full Administrator makes a group space a notification space
(told of every change, as the spaces of ``NOTIFY_ROOM_IDS`` are), or stops it."""

from __future__ import annotations

from bot.chat.context import Context, OrgScope, Services
from bot.domain.vocabulary import RoomType
from bot.views.markup import Markup
from bot.webex.clients import sdk_call
from bot.webex.messenger import Reply

USAGE = "Type `notify here` to tell this space of every change, or `notify off` to stop."


def notify_rooms(org: OrgScope) -> list[str]:
    """Every notification space of ``org``, once: ``NOTIFY_ROOM_IDS`` (the home org's), then
    those chosen in Webex."""
    return list(dict.fromkeys((*org.notify_room_ids, *org.subscriptions.spaces())))


def every_notify_room(services: Services) -> list[str]:
    """Every connected org's notification spaces, each once: for news of the bot itself (its
    webhook was off), which belongs to no org and tells nothing of any."""
    rooms: list[str] = []
    for org_id in services.orgs.connected():
        org = services.scope(org_id)
        rooms += notify_rooms(org) if org is not None else []
    return list(dict.fromkeys(rooms))


def notify(ctx: Context, args: tuple[str, ...] = ()) -> None:
    choice = args[0] if args else ""
    if choice not in ("here", "off"):
        ctx.reply(Reply(Markup(USAGE)))
        return
    where = ctx.conversation.where
    if where.room_type != RoomType.GROUP:
        ctx.reply(Reply(Markup("Notification spaces are group spaces: type `notify here` in one "
                               "(here, `subscribe` sends you a direct message for every change).")))
        return
    subscriptions = ctx.org.subscriptions
    if choice == "off":
        removed = subscriptions.remove_space(where.room_id)
        configured = where.room_id in ctx.org.notify_room_ids
        text = ("This space is no longer told of changes." if removed
                else "This space was not a notification space chosen here.")
        if configured:
            text += " It is also in the bot's NOTIFY_ROOM_IDS setting: an operator removes it there."
        ctx.reply(Reply(Markup(text)))
        return
    title = sdk_call(ctx.services.messenger.api, lambda api: api.rooms.get(where.room_id)).title
    added = subscriptions.add_space(where.room_id, title or "", ctx.requester.person_id,
                                    ctx.requester.display_name)
    ctx.reply(Reply(Markup("This space is now told of every change to the voicemail rules "
                           "(`notify off` stops it)." if added
                           else "This space is already told of every change.")))
