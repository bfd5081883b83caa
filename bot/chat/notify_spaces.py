"""``notify here`` / ``notify off``: a Full Administrator makes a group space a notification space
(told of every change, as the spaces of ``NOTIFY_ROOM_IDS`` are), or stops it."""

from __future__ import annotations

from bot.chat.context import Context, Services
from bot.domain.vocabulary import RoomType
from bot.views.markup import Markup
from bot.webex.clients import sdk_call
from bot.webex.messenger import Reply

USAGE = "Type `notify here` to tell this space of every change, or `notify off` to stop."


def notify_rooms(services: Services) -> list[str]:
    """Every notification space, once: ``NOTIFY_ROOM_IDS``, then those chosen in Webex."""
    return list(dict.fromkeys((*services.settings.notify_room_ids,
                               *services.subscriptions.spaces())))


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
    subscriptions = ctx.services.subscriptions
    if choice == "off":
        removed = subscriptions.remove_space(where.room_id)
        configured = where.room_id in ctx.services.settings.notify_room_ids
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
