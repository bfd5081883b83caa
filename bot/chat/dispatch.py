"""Processing one accepted event as an explicit list of small named steps, each able to stop the
chain with the event's outcome (the line the inbox worker logs):

    message:      ignore the bot's own → fetch the message → route its first word → start the
                  rules read → resolve the requester → ignore bots → authorize → run the handler
    card submit:  fetch the submit and its card → ignore cards the bot did not send → route the
                  card's action → start the rules read → resolve the requester → ignore bots →
                  refuse an unknown action → refuse a card of another org → authorize → run the
                  handler

Webex never sends message text or card inputs in the webhook: the bot fetches them with its own
token. The requester is the ``personId`` Webex reports, looked up with the admin token. Calls that
do not depend on each other run at the same time: the rules (for a command that shows or changes
them) are read while the requester is looked up, and used only once the requester is authorized
(dropped unread otherwise); a card is read alongside its submit. Once the event says where to
answer, the failures an admin should hear about become an error card there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.chat.commands import Command, Unknown, message_text, parse
from bot.chat.connect import not_connected
from bot.chat.context import Context, Conversation, RulesRead, Services, UserError, Where
from bot.chat.router import CARD_ACTIONS, TEXT_COMMANDS, Route
from bot.domain.authorization import Permission, Requester, decide
from bot.domain.events import WebexEvent
from bot.domain.vocabulary import RoomType
from bot.ops import metrics
from bot.views import cards
from bot.views.card_data import error_card
from bot.views.markup import Markup, escape
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
    steps = PIPELINES.get((event.resource, event.event))
    if steps is None:
        return f"ignored {event.resource}/{event.event}"
    try:
        return _run(steps, Received(event, services))
    except WebexCallError as exc:
        if not exc.is_permanent:
            raise
        return f"ended without retrying: {exc}"


@dataclass
class Received:
    """One event on its way through the steps: what each step has learned so far."""

    event: WebexEvent
    services: Services
    is_submit: bool = False
    message: dict[str, Any] = field(default_factory=dict)  # the message, or the submitted card
    action: dict[str, Any] = field(default_factory=dict)  # the attachment action (card submits)
    where: Where | None = None  # known once fetched: from then on errors are answered there
    name: str = ""  # the command or card action, as counted in the metrics and logged
    route: Route | None = None
    args: tuple[Any, ...] = ()  # what the handler takes after the context
    rules_read: RulesRead | None = None
    requester: Requester | None = None
    context: Context | None = None


Step = Callable[[Received], str | None]  # an outcome stops the chain; None goes on


def _run(steps: Sequence[Step], received: Received) -> str:
    try:
        return _through(steps, received)
    except (UserError, AdminTokenExpired, WebexCallError) as exc:
        if received.where is None:  # nowhere to answer yet: the worker decides
            raise
        return _answer_error(received, received.where, exc)


def _through(steps: Sequence[Step], received: Received) -> str:
    try:
        for step in steps:
            outcome = step(received)
            if outcome is not None:
                return outcome
        raise AssertionError("the last step always has an outcome")
    finally:
        _drop_rules_read(received)


# -- fetch what the webhook does not carry, and ignore the bot itself --------------------------

def ignore_own_message(received: Received) -> str | None:
    if received.event.data.get("personId") == received.services.messenger.me().person_id:
        return "ignored: the bot's own message"
    return None


def fetch_message(received: Received) -> str | None:
    received.message = received.services.messenger.message(received.event.data_id)
    return None


def fetch_submit_and_card(received: Received) -> str | None:
    """The submit and the card it was made on, both read at once: the event names the card.

    What counts is the card the action itself names; if the event said otherwise, that one is read.
    """
    messenger, named = received.services.messenger, received.event.data.get("messageId")
    card_read = received.services.parallel.submit(messenger.message, named) \
        if isinstance(named, str) and named else None
    received.is_submit = True
    received.action = messenger.attachment_action(received.event.data_id)
    if card_read is not None and received.action["messageId"] == named:
        received.message = card_read.result()
    else:
        received.message = messenger.message(received.action["messageId"])
    return None


def ignore_cards_not_sent_by_the_bot(received: Received) -> str | None:
    if received.message.get("personId") != received.services.messenger.me().person_id:
        return "ignored: a submit on a card the bot did not send"
    return None


# -- route: what was asked, and where to answer -------------------------------------------------

def route_text(received: Received) -> str | None:
    message, me = received.message, received.services.messenger.me()
    received.where = _where(message, room_id=message["roomId"])
    parsed = parse(message_text(message, me.person_id, me.display_name))
    if isinstance(parsed, Unknown):
        received.name, received.route, received.args = "unknown", UNKNOWN_TEXT, (parsed,)
        return None
    assert isinstance(parsed, Command)
    # Every Command's name is a key of TEXT_COMMANDS.
    received.name, received.route = parsed.name, TEXT_COMMANDS[parsed.name]
    received.args = (parsed.args,)
    return None


def route_card_action(received: Received) -> str | None:
    """The press routed by its ``action``, if the card has that button: a submit's data is the
    client's to write, and a forged one (``cancel_edit`` on someone's confirmation card, which
    would delete it) is answered as a button the bot does not know."""
    received.where = _where(received.message, room_id=received.action["roomId"])
    inputs = received.action.get("inputs") or {}
    action = str(inputs.get("action", ""))
    offered = _card_offers(received.message, inputs)
    received.name, received.route = f"card:{action}", CARD_ACTIONS.get(action) if offered else None
    return None


def _card_offers(message: dict[str, Any], inputs: dict[str, Any]) -> bool:
    """Does a submit button of the card carry this ``action`` (and this ``changeId``, if any)?"""
    keys = ("action", "changeId")
    return any("action" in data and all(inputs.get(key) == data[key] for key in keys if key in data)
               for data in cards.submit_data([a.get("content")
                                              for a in message.get("attachments") or []]))


def _where(message: dict[str, Any], *, room_id: str) -> Where:
    # In a group space the answer goes in the thread the command started (or belongs to).
    return Where(room_id, RoomType.of(message.get("roomType")), message.get("parentId") or message["id"])


# -- resolve the requester -----------------------------------------------------------------------

def start_rules_read(received: Received) -> str | None:
    """For a route whose handler reads the rules, start that read now, alongside the requester
    lookup, for the org the requester likely is of (the one they were of last time, or the only
    connected one). Only the handler takes its result, only when Webex says the requester is of
    that org, and only an authorized requester's handler runs: on a refusal (or a bot, another
    org, or an error) the read is dropped unread."""
    services = received.services
    if received.route is None or not received.route.reads_rules:
        return None
    org_id = services.directory.likely_org(_sender(received))
    admin = services.orgs.access(org_id) if org_id else None
    if org_id and admin is not None:
        received.rules_read = RulesRead(org_id, services.parallel.submit(admin.read_rules))
    return None


def _sender(received: Received) -> str:
    return (received.action if received.is_submit else received.message)["personId"]


def resolve_requester(received: Received) -> str | None:
    services, where = received.services, received.where
    assert where is not None  # routed before
    received.requester = services.directory.requester(_sender(received))
    received.context = Context(
        services, Conversation(services.messenger, received.requester, where),
        org_scope=services.scope(received.requester.org_id),
        card_message_id=received.message["id"] if received.is_submit else None,
        press_id=received.action.get("id") if received.is_submit else None,
        inputs=dict(received.action.get("inputs") or {}), rules_read=received.rules_read)
    return None


def ignore_bots(received: Received) -> str | None:
    if received.requester is not None and received.requester.is_bot:
        return "ignored: submitted by a bot" if received.is_submit else "ignored: sent by a bot"
    return None


# -- authorize and run ---------------------------------------------------------------------------

def refuse_unknown_card_action(received: Received) -> str | None:
    if received.route is not None:
        return None
    _context(received).reply(Reply(Markup("That card button is not one I know; type `help` to "
                                          "start again.")))
    return f"unknown card action {received.name.removeprefix('card:')!r}"


def refuse_another_orgs_card(received: Received) -> str | None:
    """A card answers the org whose request it was made for (as the bot posted it, read back
    from Webex): a person of another org in the same space changes nothing with it, not even
    the card itself (an edit form's Cancel or Review would delete it)."""
    made_for, ctx = cards.org_made_for(received.message), _context(received)
    if made_for is None or made_for == ctx.requester.org_id or ctx.org_scope is None:
        return None  # (a person of an org not connected is told that, by `authorize`)
    metrics.command(received.name, "refused")
    ctx.reply(Reply(Markup("Your button press changed nothing: this card was made for another "
                           "organization. Type `help` to see what you can do.")))
    return f"{received.name}: refused, a card of another org"


def authorize(received: Received) -> str | None:
    ctx, route = _context(received), received.route
    assert route is not None  # refused above when unknown
    decision = decide(ctx.requester, route.permission,
                      managed_org_id=ctx.org_scope.org_id if ctx.org_scope else None)
    if decision.allowed:
        return None
    metrics.command(received.name, "refused")
    reason = not_connected(ctx.services) if ctx.org_scope is None else decision.reason
    ctx.reply(Reply(_refusal(received, reason)))
    return f"{received.name}: refused"


def _refusal(received: Received, reason: str) -> Markup:
    """A refused button press says it was this press that changed nothing (in a group space the
    card may be someone else's, who must not take the refusal for their own)."""
    if received.is_submit:
        return Markup("Your button press changed nothing. ") + reason
    return escape(reason)


def run_handler(received: Received) -> str | None:
    assert received.route is not None  # routed and authorized above
    try:
        received.route.handler(_context(received), *received.args)
    except Exception:
        metrics.command(received.name, "failed")
        raise
    metrics.command(received.name, "done")
    return f"{received.name}: done"


def _context(received: Received) -> Context:
    assert received.context is not None  # made with the requester
    return received.context


PIPELINES: dict[tuple[str, str], tuple[Step, ...]] = {
    ("messages", "created"): (
        ignore_own_message, fetch_message, route_text, start_rules_read, resolve_requester,
        ignore_bots, authorize, run_handler),
    ("attachmentActions", "created"): (
        fetch_submit_and_card, ignore_cards_not_sent_by_the_bot, route_card_action,
        start_rules_read, resolve_requester, ignore_bots, refuse_unknown_card_action,
        refuse_another_orgs_card, authorize, run_handler),
}


def _drop_rules_read(received: Received) -> None:
    if received.rules_read is not None:
        received.rules_read.future.cancel()  # too late once it started; its answer is dropped all the same


def _unknown(ctx: Context, parsed: Unknown) -> None:
    """Never repeats what was typed unless it is a plausible command word (a PIN typed by mistake
    in a group space must not be copied into it by the bot)."""
    said = (Markup("I don't know `{word}`.").format(word=parsed.word) if parsed.word
            else Markup("I don't know that command."))
    hint = (Markup(" Did you mean `{command}`?").format(command=parsed.suggestion)
            if parsed.suggestion else Markup(""))
    ctx.reply(Reply(said + hint + Markup(" Type `help` to see what you can do.")))


UNKNOWN_TEXT = Route(Permission.ANYONE, _unknown)  # anyone is told what the bot knows


# -- answering errors ----------------------------------------------------------------------------

def _answer_error(received: Received, where: Where, exc: Exception) -> str:
    """The failures an admin should hear about, as an error card where the event came from."""
    if isinstance(exc, UserError):
        _error_card(received, where, exc.title, exc.reply, None)
        return f"refused: {exc}"
    if isinstance(exc, AdminTokenExpired):
        log.error("admin authorization expired: %s; an operator must re-authorize the bot", exc)
        _error_card(received, where, exc.title, exc.advice, None)
        return "failed: admin token expired"
    assert isinstance(exc, WebexCallError)
    title = "Webex is not answering" if exc.is_unavailable else "Webex refused the request"
    _error_card(received, where, title, f"Nothing was changed. {exc.description}", exc.tracking_id)
    return f"failed: {exc}"


def _error_card(received: Received, where: Where, title: str, message: str,
                tracking_id: str | None) -> None:
    """Through the requester's conversation when known: in a group space it names them (the card
    headed for them, its text fallback carrying the mention)."""
    reply = Reply.of(cards.render("error", error_card(title=title, message=message,
                                                      tracking_id=tracking_id)))
    conversation = received.context.conversation if received.context is not None else None
    if conversation is None:
        where.post(received.services.messenger, reply)
        return
    conversation.reply(reply)
