"""One function per command or card action. Each answers through ``ctx``; failures the admin
should read are raised as ``UserError``."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.chat import change_flow
from bot.chat.context import Context, UserError
from bot.domain import forms
from bot.domain.authorization import Permission, decide
from bot.domain.rules import SETTINGS, RulesChange, VoicemailRules, current_value
from bot.views import cards
from bot.views.card_data import edit_form, rules_card
from bot.views.card_data import history as history_view
from bot.views.markup import Markup
from bot.webex.messenger import Reply

HISTORY_DEFAULT, HISTORY_MAX = 5, 20


def _may(ctx: Context, permission: Permission) -> bool:
    return decide(ctx.requester, permission,
                  managed_org_id=ctx.services.admin.managed_org_id()).allowed


def _rules(ctx: Context) -> VoicemailRules:
    return VoicemailRules.from_api(ctx.read_rules())


def show(ctx: Context, _args: tuple[str, ...] = ()) -> None:
    card = rules_card(_rules(ctx), can_change=_may(ctx, Permission.CHANGE),
                      read_at=datetime.now(UTC))
    ctx.reply(Reply.of(cards.render("rules", card)))


def edit(ctx: Context, _args: tuple[str, ...] = ()) -> None:
    ctx.reply(Reply.of(cards.render("edit", edit_form(_rules(ctx)))))


def review(ctx: Context) -> None:
    """The edit form was submitted: check it, then propose the change (or return the form)."""
    rules = _rules(ctx)
    result = forms.parse_form(ctx.inputs, rules)
    if result.errors:
        form = edit_form(rules, values=ctx.inputs, errors=result.errors)
        ctx.reply(Reply.of(cards.render("edit", form)))
        return
    change_flow.propose(ctx, result.change, generate_pin=result.generate_pin, rules=rules)


def set_(ctx: Context, args: tuple[str, ...]) -> None:
    try:
        change = forms.parse_set(args)
    except ValueError as exc:
        # The domain's own words (usage in `code`); a typed setting is echoed only when it is a
        # plausible word (``forms.plausible_word``), never digits.
        raise UserError(Markup(str(exc).rstrip(".") + "."), title="I could not read that") from None
    change_flow.propose(ctx, change)


def confirm(ctx: Context) -> None:
    change_flow.confirm(ctx, str(ctx.inputs.get("changeId", "")))


def cancel(ctx: Context) -> None:
    change_flow.cancel(ctx, str(ctx.inputs.get("changeId", "")))


def cancel_edit(ctx: Context) -> None:
    if ctx.card_message_id:
        ctx.services.messenger.delete(ctx.card_message_id)
    ctx.reply(Reply("Editing cancelled: nothing was changed."))


def history(ctx: Context, args: tuple[str, ...] = ()) -> None:
    count = HISTORY_DEFAULT
    if args:
        if not args[0].isdigit() or not 1 <= int(args[0]) <= HISTORY_MAX:
            raise UserError(Markup(f"Usage: `history [n]`, with n from 1 to {HISTORY_MAX}."))
        count = int(args[0])
    ctx.reply(Reply.of(cards.render("history", history_view(ctx.services.audit.recent(count)))))


def undo(ctx: Context, _args: tuple[str, ...] = ()) -> None:
    """Propose reverting the sections the last change through the bot touched."""
    entries = ctx.services.audit.recent(1)
    if not entries:
        raise UserError("There is no change made through the bot to undo.")
    last = VoicemailRules.from_api(entries[0].before)
    change = RulesChange()
    touched = {c.label for c in entries[0].changes}
    for key, setting in SETTINGS.items():
        if setting.label in touched:
            change.values[key] = current_value(last, key)
    if "Default voicemail PIN" in touched:
        change.default_pin_enabled = last.pin_rules.default_pin_enabled
    if change.is_empty():
        raise UserError(Markup("The last change only set a new default PIN, which cannot be "
                               "undone (the previous PIN is not known). Set another one with "
                               "`edit`."))
    change_flow.propose(ctx, change, kind="undo")


def whoami(ctx: Context, _args: tuple[str, ...] = ()) -> None:
    person = ctx.requester
    in_org = person.org_id == ctx.services.admin.managed_org_id()
    may = ("view and change the rules" if _may(ctx, Permission.CHANGE) else
           "view the rules" if _may(ctx, Permission.VIEW) else
           Markup("use `help` and `whoami`") if in_org else "nothing here: the bot manages another org")
    ctx.reply(Reply.of(cards.render("whoami", {
        "name": person.display_name, "email": person.email,
        "org": "the organization this bot manages" if in_org else "another organization",
        "roles": ", ".join(sorted(person.role_names)) or "none",
        "may": may})))


def subscribe(ctx: Context, _args: tuple[str, ...] = ()) -> None:
    added = ctx.services.subscriptions.add(ctx.requester.person_id, ctx.requester.display_name)
    ctx.reply(Reply("Subscribed: I will message you directly about every change to the rules."
                    if added else "You are already subscribed."))


def unsubscribe(ctx: Context, _args: tuple[str, ...] = ()) -> None:
    removed = ctx.services.subscriptions.remove(ctx.requester.person_id)
    ctx.reply(Reply("Unsubscribed: no more direct messages about changes."
                    if removed else "You were not subscribed."))


COMMAND_HELP = (
    ("help", "what you can do here", Permission.ANYONE),
    ("whoami", "who the bot thinks you are, and your admin roles", Permission.ANYONE),
    ("show", "the current rules (also: rules)", Permission.VIEW),
    ("history [n]", "the last n changes made through the bot (default 5, at most 20)",
     Permission.VIEW),
    ("subscribe / unsubscribe", "a direct message for every change", Permission.VIEW),
    ("edit", "change the rules in a form", Permission.CHANGE),
    ("set expiry <15-100|off>", "days until passcodes expire", Permission.CHANGE),
    ("set change-interval <1-7|off>", "minimum days between passcode changes", Permission.CHANGE),
    ("set block-previous <1-10|off>", "previous passcodes that cannot be reused",
     Permission.CHANGE),
    ("set default-pin off", "stop giving new users a default PIN", Permission.CHANGE),
    ("undo", "revert the last change made through the bot", Permission.CHANGE),
    ("notify here / notify off", "tell this group space of every change, or stop",
     Permission.CHANGE),
)


def help_(ctx: Context, _args: tuple[str, ...] = ()) -> None:
    allowed = [(Markup(usage), text) for usage, text, permission in COMMAND_HELP
               if _may(ctx, permission)]
    can_view = _may(ctx, Permission.VIEW)
    intro = ("I show and change your organization's voicemail passcode rules. You can:" if can_view
             else "I manage the voicemail passcode rules, which needs an admin role. You can:")
    ctx.reply(Reply.of(cards.render("help", {
        "intro": intro, "commands": [{"usage": u, "description": d} for u, d in allowed],
        "canView": can_view, "canChange": _may(ctx, Permission.CHANGE)})))
