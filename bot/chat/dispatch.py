"""Processing one accepted event: fetch → ignore self and bots → authorize → route → answer.

Webex never sends message text or card inputs in the webhook: the bot fetches them with its own
token. The requester is the ``personId`` Webex reports, looked up with the admin token. Calls that
do not depend on each other run at the same time: the rules (for a command that shows or changes
them) are read while the requester is looked up, and used only once the requester is authorized.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass

from bot.chat.commands import Command, Unknown, message_text, parse
from bot.chat.context import Context, Services, UserError
from bot.chat.router import CARD_ACTIONS, TEXT_COMMANDS, Route
from bot.domain.authorization import Permission, decide
from bot.domain.events import WebexEvent
from bot.ops import metrics
from bot.views import cards
from bot.views.markup import Markup
from bot.webex.admin_token import AdminTokenExpired
from bot.webex.errors import WebexCallError
from bot.webex.messenger import Reply

log = logging.getLogger(__name__)


def process(event: WebexEvent, services: Services) -> str:
    """Handle one event; return a short outcome for the log.

    A Webex answer that retrying cannot change (the message or the submit is gone, 404/410; the
    card was deleted; the bot may not read or post there, 403; any other permanent 4xx) ends the
    event here, with the reason as its outcome (logged at INFO). Anything else raised (429, 5xx,
    no answer) goes to the inbox worker, which retries with backoff and, at the end, fails the
    event loudly.
    """
    try:
        return _process(event, services)
    except WebexCallError as exc:
        if not exc.is_permanent:
            raise
        return f"ended without retrying: {exc}"


def _process(event: WebexEvent, services: Services) -> str:
    if (event.resource, event.event) == ("messages", "created"):
        return _message(event, services)
    if (event.resource, event.event) == ("attachmentActions", "created"):
        return _card_submit(event, services)
    return f"ignored {event.resource}/{event.event}"


@dataclass(frozen=True)
class Where:
    """Where to answer: the space, its type, and the thread (in group spaces)."""

    room_id: str
    room_type: str
    thread_id: str | None

    def post(self, services: Services, reply: Reply) -> None:
        parent = self.thread_id if self.room_type == "group" else None
        services.messenger.post(reply, room_id=self.room_id, parent_id=parent)


def _message(event: WebexEvent, services: Services) -> str:
    me = services.messenger.me()
    if event.data.get("personId") == me.person_id:
        return "ignored: the bot's own message"
    message = services.messenger.message(event.data_id)
    where = Where(message["roomId"], message.get("roomType", "direct"),
                  message.get("parentId") or message["id"])
    parsed = parse(message_text(message, me.person_id, me.display_name))
    route = TEXT_COMMANDS[parsed.name] if isinstance(parsed, Command) else None

    def handle() -> str:
        with _reading_rules(services, route) as rules_read:
            requester = services.directory.requester(message["personId"])
            if requester.is_bot:
                return "ignored: sent by a bot"
            ctx = Context(services, requester, where.room_id, where.room_type, where.thread_id,
                          rules_read=rules_read)
            if isinstance(parsed, Unknown):
                return _unknown(ctx, parsed)
            assert route is not None  # every Command's name is a key of TEXT_COMMANDS (above)
            return _authorized(ctx, parsed.name, route.permission,
                               lambda: route.handler(ctx, parsed.args))

    return _answering_errors(services, where, handle)


def _card_submit(event: WebexEvent, services: Services) -> str:
    action, card = _action_and_card(event, services)
    if card.get("personId") != services.messenger.me().person_id:
        return "ignored: a submit on a card the bot did not send"
    where = Where(action["roomId"], card.get("roomType", "direct"), card.get("parentId") or card["id"])
    name = str((action.get("inputs") or {}).get("action", ""))
    route = CARD_ACTIONS.get(name)

    def handle() -> str:
        with _reading_rules(services, route) as rules_read:
            requester = services.directory.requester(action["personId"])
            if requester.is_bot:
                return "ignored: submitted by a bot"
            ctx = Context(services, requester, where.room_id, where.room_type, where.thread_id,
                          card_message_id=card["id"], inputs=dict(action.get("inputs") or {}),
                          rules_read=rules_read)
            if route is None:
                ctx.reply(Reply(Markup("That card button is not one I know; type `help` to start "
                                       "again.")))
                return f"unknown card action {name!r}"
            return _authorized(ctx, f"card:{name}", route.permission, lambda: route.handler(ctx))

    return _answering_errors(services, where, handle)


@contextmanager
def _reading_rules(services: Services, route: Route | None) -> Iterator[Future | None]:
    """For a route whose handler reads the rules, start that read now, alongside the requester
    lookup, and hand it to the handler's context.

    Only the handler takes its result, and ``_authorized`` runs the handler only for an authorized
    requester: on a refusal (or a bot, or an error) the read is dropped unread.
    """
    read = services.parallel.submit(services.admin.read_rules) \
        if route is not None and route.reads_rules else None
    try:
        yield read
    finally:
        if read is not None:
            read.cancel()  # too late once it started; its answer is dropped all the same


def _action_and_card(event: WebexEvent, services: Services) -> tuple[dict, dict]:
    """The submit and the card it was made on, both read at once: the event names the card.

    What counts is the card the action itself names; if the event said otherwise, that one is read.
    """
    named = event.data.get("messageId")
    card_read = services.parallel.submit(services.messenger.message, named) \
        if isinstance(named, str) and named else None
    action = services.messenger.attachment_action(event.data_id)
    if card_read is not None and action["messageId"] == named:
        return action, card_read.result()
    return action, services.messenger.message(action["messageId"])


def _unknown(ctx: Context, parsed: Unknown) -> str:
    """Never repeats what was typed unless it is a plausible command word (a PIN typed by mistake
    in a group space must not be copied into it by the bot)."""
    said = (Markup("I don't know `{word}`.").format(word=parsed.word) if parsed.word
            else Markup("I don't know that command."))
    hint = (Markup(" Did you mean `{command}`?").format(command=parsed.suggestion)
            if parsed.suggestion else Markup(""))
    return _authorized(ctx, "unknown", Permission.ANYONE, lambda: ctx.reply(Reply(
        said + hint + Markup(" Type `help` to see what you can do."))))


def _authorized(ctx: Context, name: str, permission: Permission, action: Callable[[], object]) -> str:
    decision = decide(ctx.requester, permission, managed_org_id=ctx.services.admin.managed_org_id())
    if not decision.allowed:
        metrics.command(name, "refused")
        ctx.reply(Reply(decision.reason))
        return f"{name}: refused"
    try:
        action()
    except Exception:
        metrics.command(name, "failed")
        raise
    metrics.command(name, "done")
    return f"{name}: done"


def _answering_errors(services: Services, where: Where, handle: Callable[[], str]) -> str:
    """Run ``handle``; turn the failures an admin should hear about into an error card."""
    try:
        return handle()
    except UserError as exc:
        _error_card(services, where, exc.title, exc.reply, None)
        return f"refused: {exc}"
    except AdminTokenExpired as exc:
        log.error("admin authorization expired: %s; an operator must re-authorize the bot", exc)
        _error_card(services, where, exc.title, exc.advice, None)
        return "failed: admin token expired"
    except WebexCallError as exc:
        title = "Webex is not answering" if exc.is_unavailable else "Webex refused the request"
        _error_card(services, where, title, f"Nothing was changed. {exc.description}",
                    exc.tracking_id)
        return f"failed: {exc}"


def _error_card(services: Services, where: Where, title: str, message: str,
                tracking_id: str | None) -> None:
    where.post(services, Reply.of(cards.render("error", {
        "title": title, "message": message, "hasTrackingId": bool(tracking_id),
        "trackingId": tracking_id or "", "canRetry": False, "retryTitle": "", "retryAction": "",
        "changeId": ""})))
