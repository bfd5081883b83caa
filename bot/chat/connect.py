"""``connect`` and ``disconnect``: an org's Full Administrators connect it to the bot themselves,
and disconnect it (after a confirmation card) to have everything the bot keeps of it forgotten.

``connect`` is the one command a person of an org that is not connected may type (the
requester's org is Webex's answer, never the event's): with a Service App the bot gets that org's
pair at once, and keeps it only if the new token sees the requester as a Full Administrator; with
an Integration it sends the requester an authorization link bound to them and their org, which
only a Full Administrator of that org can complete (``bot.ops.onboarding``).
"""

from __future__ import annotations

import logging

from bot.chat.applied import retire
from bot.chat.context import Context, Services, UserError
from bot.domain.authorization import FULL_ADMIN, NOT_CONNECTED, Permission, decide
from bot.domain.vocabulary import RoomType
from bot.storage.admin_grants import AdminGrants
from bot.storage.disconnects import CANCELLED, CONFIRMED, PENDING, Disconnect, DisconnectRequests
from bot.storage.org_data import ChangeBeingApplied, forget_org, holdings
from bot.views import cards
from bot.views.connecting import connected, disconnect_card, forgotten_items
from bot.views.markup import Markup
from bot.webex import oauth
from bot.webex.connecting import (
    ConnectRefused,
    NotAuthorizedThere,
    authorization_link,
    connect_service_app,
    service_app_of,
)
from bot.webex.messenger import Reply

log = logging.getLogger(__name__)


def not_connected(services: Services) -> Markup:
    """What anyone of an org that is not connected is told, whatever they type: who can connect
    it, and how on this deployment."""
    how = ("ask the bot's operator to connect it" if services.settings.connect_method is None
           else "connect it by typing `connect` to me")
    return Markup("{refusal} A {full} of your organization can " + how + ".").format(
        refusal=NOT_CONNECTED, full=FULL_ADMIN)


# -- connect -------------------------------------------------------------------------------------

def connect(ctx: Context, _args: tuple[str, ...] = ()) -> None:
    if ctx.org_scope is not None:
        ctx.reply(Reply(Markup("Your organization is already connected to this bot. Type `help` "
                               "to see what you may do.")))
        return
    method = ctx.services.settings.connect_method
    if method == "service-app":
        _connect_with_service_app(ctx)
    elif method == "integration":
        _send_authorization_link(ctx)
    else:
        raise UserError("This bot does not connect organizations from the chat: ask its operator "
                        "to connect yours.", title="Your organization was not connected")


def _connect_with_service_app(ctx: Context) -> None:
    services, requester = ctx.services, ctx.requester
    app = service_app_of(services.settings)
    assert app is not None  # connect_method says it is configured
    try:
        done = connect_service_app(services.settings, AdminGrants(services.store, services.box),
                                   app, requester.org_id, requester_id=requester.person_id)
    except NotAuthorizedThere as exc:
        log.info("connect: the Service App is not authorized in the requester's org (%s)", exc)
        raise UserError(_authorize_first(app.application_id),
                        title="The bot's Service App is not authorized in your organization") \
            from None
    except ConnectRefused as exc:
        raise UserError(Markup("{reason} Nothing was stored.").format(reason=str(exc)),
                        title="Your organization was not connected") from None
    services.orgs.recheck(requester.org_id)
    log.info("org connected from the chat by %s (Service App)", requester.person_id)
    _announce(ctx, Reply(connected(done.org_name)))


def _authorize_first(application_id: str) -> Markup:
    return Markup(
        # After the title, which says the Service App is not authorized there: what to do.
        "Webex would not give the bot access to your organization. To allow it, a {full} of your "
        "organization authorizes the Service App in Control Hub (admin.webex.com → Apps → Service "
        "Apps: the app with the id `{app_id}`) with the scopes it asks for ({scopes}), then types "
        "`connect` here again.").format(
            full=FULL_ADMIN, app_id=application_id, scopes=_listed(oauth.ALL_SCOPES))


def _listed(scopes: tuple[str, ...]) -> Markup:
    """The scopes as code (the bot's own constants: nothing from outside)."""
    return Markup(", ".join(f"`{scope}`" for scope in scopes))


def _send_authorization_link(ctx: Context) -> None:
    services, requester = ctx.services, ctx.requester
    link = authorization_link(services.settings, AdminGrants(services.store, services.box),
                              org_id=requester.org_id, requester_id=requester.person_id)
    text = Markup(
        "To connect your organization, a {full} of it opens this link and allows the bot's "
        "access (it works once, until {until} UTC; I will tell you here how it went):\n\n{url}\n\n"
        "The access asked for: {scopes}.").format(
            full=FULL_ADMIN, until=link.expires_at.strftime("%H:%M"), url=Markup(link.url),
            scopes=_listed(link.scopes))
    _announce(ctx, Reply(text), in_group=Markup(
        "I sent you the authorization link in our 1:1 space (it is bound to you and your "
        "organization)."))


def _announce(ctx: Context, reply: Reply, *, in_group: Markup | None = None) -> None:
    """``reply`` in the requester's 1:1 space (a link or the news of their org are theirs); a
    group space where they asked is told where to look."""
    if ctx.conversation.where.room_type != RoomType.GROUP:
        ctx.reply(reply)
        return
    ctx.conversation.tell_privately(reply)
    ctx.reply(Reply(in_group or Markup("Your organization is now connected; I told you more in "
                                       "our 1:1 space.")))


# -- disconnect ----------------------------------------------------------------------------------

def disconnect(ctx: Context, _args: tuple[str, ...] = ()) -> None:
    services, org = ctx.services, ctx.org
    if not services.orgs.served_by_grant(org.org_id):
        raise UserError(Markup("Your organization is this deployment's home organization, "
                               "connected by the bot's own settings (`WEBEX_ADMIN_TOKEN`): it "
                               "cannot be disconnected from the chat. The bot's operator can "
                               "change that setting."), title="Not disconnected")
    request = DisconnectRequests(services.store, org.org_id).create(
        requester_id=ctx.requester.person_id, requester_name=ctx.requester.display_name)
    card = disconnect_card(org_name=org.admin.managed_org_name(),
                           requester=ctx.requester.display_name, request_id=request.id,
                           expires_at=request.expires_at,
                           holdings=holdings(services.store, org.org_id))
    message_id = ctx.reply(Reply.of(cards.render("disconnect", card)))
    DisconnectRequests(services.store, org.org_id).set_card(request.id, message_id)


def confirm_disconnect(ctx: Context) -> None:
    services, org = ctx.services, ctx.org
    requests = DisconnectRequests(services.store, org.org_id)
    request = _own_request(ctx, requests)
    _recheck_role(ctx)
    if not requests.take(request.id, CONFIRMED):
        _closed(ctx, requests, request)
        return
    try:
        forgotten = forget_org(services.store, org.org_id)
    except ChangeBeingApplied:
        _retire(ctx, request)
        raise UserError(Markup("A change to the rules is being applied right now, so nothing was "
                               "forgotten. Type `disconnect` again in a moment."),
                        title="Not disconnected yet") from None
    services.orgs.recheck(org.org_id)
    log.info("org disconnected from the chat by %s", ctx.requester.person_id)
    _retire(ctx, request)
    items = "\n".join(f"- {item}" for item in forgotten_items(forgotten))
    ctx.reply(Reply(Markup("**Your organization is disconnected.** I forgot:\n\n{items}\n\nI no "
                           "longer answer anyone of your organization; a {full} of it can type "
                           "`connect` to connect it again.").format(items=Markup(items),
                                                                   full=FULL_ADMIN)))


def cancel_disconnect(ctx: Context) -> None:
    requests = DisconnectRequests(ctx.services.store, ctx.org.org_id)
    request = _own_request(ctx, requests)
    if not requests.take(request.id, CANCELLED):
        _closed(ctx, requests, request)
        return
    _retire(ctx, request)
    ctx.reply(Reply("Disconnect cancelled: nothing was forgotten."))


def _own_request(ctx: Context, requests: DisconnectRequests) -> Disconnect:
    request = requests.get(str(ctx.inputs.get("requestId", "")))
    if request is None:
        raise UserError("This disconnect request no longer exists.")
    if request.requester_id != ctx.requester.person_id:
        raise UserError(Markup("Only {name} can confirm or cancel {name}'s disconnect "
                               "request.").format(name=request.requester_name))
    return request


def _recheck_role(ctx: Context) -> None:
    """The role looked up again, without cache: a role removed a minute ago disconnects nothing."""
    requester = ctx.services.directory.requester(ctx.requester.person_id, fresh=True)
    decision = decide(requester, Permission.CHANGE, managed_org_id=ctx.org.org_id)
    if not decision.allowed:
        raise UserError(Markup("Nothing was forgotten. {reason}").format(reason=decision.reason),
                        title="Not disconnected")


def _closed(ctx: Context, requests: DisconnectRequests, request: Disconnect) -> None:
    current = requests.get(request.id)
    status = current.status if current is not None else None
    if status == CANCELLED:
        ctx.reply(Reply("This disconnect request was cancelled."))
        return
    _retire(ctx, request)
    if status == PENDING:  # still open, so past its time
        raise UserError(Markup("This disconnect request expired (they last 10 minutes): nothing "
                               "was forgotten. Type `disconnect` again if you still want it."))
    raise UserError("This disconnect request is closed.")


def _retire(ctx: Context, request: Disconnect) -> None:
    card = ctx.card_message_id or request.card_message_id
    if card:
        retire(ctx.services.messenger, card, "disconnect card")
