"""One function per command or card action. Each answers through ``ctx``; failures the admin
should read are raised as ``UserError``."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.chat import change_flow
from bot.chat.applied import retire
from bot.chat.context import Context, UserError
from bot.chat.deps import ChangeFlowDeps
from bot.domain import forms
from bot.domain.authorization import Permission, decide
from bot.domain.rules import SETTINGS, OutOfRange, RulesChange, VoicemailRules, current_value
from bot.domain.vocabulary import ChangeKind, SettingName
from bot.storage.audit import Applied
from bot.views import cards
from bot.views.card_data import DAY_AND_MINUTE, edit_form, help_card, rules_card, whoami_card
from bot.views.card_data import history as history_view
from bot.views.markup import Markup
from bot.webex.messenger import Reply

HISTORY_DEFAULT, HISTORY_MAX = 5, 20


def _may(ctx: Context, permission: Permission) -> bool:
    return decide(ctx.requester, permission, managed_org_id=ctx.org.org_id).allowed


def _rules(ctx: Context) -> VoicemailRules:
    return VoicemailRules.from_api(ctx.read_rules())


def _deps(ctx: Context) -> ChangeFlowDeps:
    return ChangeFlowDeps.of(ctx.services, ctx.org)


def show(ctx: Context, _args: tuple[str, ...] = ()) -> None:
    card = rules_card(_rules(ctx), can_change=_may(ctx, Permission.CHANGE),
                      read_at=datetime.now(UTC))
    ctx.reply(Reply.of(cards.render("rules", card)))


def edit(ctx: Context, _args: tuple[str, ...] = ()) -> None:
    ctx.reply(Reply.of(cards.render("edit", edit_form(_rules(ctx)))))


def review(ctx: Context) -> None:
    """The edit form was submitted: once per form (a second press is told the first was taken,
    quietly). A press that fails before it is answered lets the form be pressed again."""
    form, press, pending = ctx.card_message_id, ctx.press_id, _deps(ctx).pending
    if form and press and not pending.first_press(form, press):
        ctx.reply(Reply("This form was already sent; its answer is above."))
        return
    try:
        _review(ctx)
    except BaseException:
        if form and press:
            pending.forget_press(form, press)
        raise


def _review(ctx: Context) -> None:
    """Check the form against what it showed and the rules now. Then propose the change (the
    form's work is done: it is deleted), or answer with a new form in its place (the rules changed
    since it was made, or a field is wrong)."""
    rules = _rules(ctx)
    shown = forms.Shown.decode(ctx.inputs.get("shown"))
    if shown is None or not shown.reads_as(rules):
        changed = forms.changed_since(shown, rules) if shown is not None else []
        _replace_form(ctx, edit_form(rules, changed_meanwhile=changed))
        return
    result = forms.parse_form(ctx.inputs, rules, shown)
    if result.errors:
        _replace_form(ctx, edit_form(rules, values=ctx.inputs, errors=result.errors))
        return
    if change_flow.propose(_deps(ctx), ctx.conversation, result.change, rules=rules,
                           generate_pin=result.generate_pin):
        _retire_form(ctx)


def _replace_form(ctx: Context, form: dict) -> None:
    """One live form per request: the new form first (a failed delete must not lose the answer),
    then the one it answers. A process dying between the two leaves the old form; the event is
    run again, which posts another form and deletes the old one, so at worst one spare form
    stays: it says what it showed, like any form, so it can never put old values back."""
    ctx.reply(Reply.of(cards.render("edit", form)))
    _retire_form(ctx)


def _retire_form(ctx: Context) -> None:
    if ctx.card_message_id:
        retire(ctx.services.messenger, ctx.card_message_id, "edit form")


def set_(ctx: Context, args: tuple[str, ...]) -> None:
    try:
        change = forms.parse_set(args)
    except ValueError as exc:
        # The domain's own words (usage in `code`); a typed setting is echoed only when it is a
        # plausible word (``forms.plausible_word``), never digits.
        title = "Out of range" if isinstance(exc, OutOfRange) else "I could not read that"
        raise UserError(Markup(str(exc).rstrip(".") + "."), title=title) from None
    change_flow.propose(_deps(ctx), ctx.conversation, change, rules=_rules(ctx))


def confirm(ctx: Context) -> None:
    change_flow.confirm(_deps(ctx), ctx.conversation, str(ctx.inputs.get("changeId", "")))


def cancel(ctx: Context) -> None:
    change_flow.cancel(_deps(ctx), ctx.conversation, str(ctx.inputs.get("changeId", "")))


def cancel_edit(ctx: Context) -> None:
    _retire_form(ctx)
    ctx.reply(Reply("Editing cancelled: nothing was changed."))


def history(ctx: Context, args: tuple[str, ...] = ()) -> None:
    count = HISTORY_DEFAULT
    if args:
        if not args[0].isdigit() or not 1 <= int(args[0]) <= HISTORY_MAX:
            raise UserError(Markup(f"Usage: `history [n]`, with n from 1 to {HISTORY_MAX}."))
        count = int(args[0])
    ctx.reply(Reply.of(cards.render("history", history_view(ctx.org.audit.recent(count)))))


def undo(ctx: Context, _args: tuple[str, ...] = ()) -> None:
    """Propose reverting the sections the last change through the bot touched. An undo is not
    undone: that would quietly apply the undone change again (a redo nobody asked for by name)."""
    last = ctx.org.audit.last_through_bot()
    if last is None:
        raise UserError("There is no change made through the bot to undo.")
    when = last.applied_at.strftime(DAY_AND_MINUTE)
    if last.kind == ChangeKind.UNDO:
        raise UserError(Markup("The last change through the bot was itself an undo ({who}, "
                               "{when}); undoing it would apply the undone change again. Set the "
                               "values you want with `set` or `edit`.").format(
                                   who=last.actor_name, when=when), title="Nothing to undo")
    change = _reverting(last)
    if change.is_empty():
        raise UserError(Markup("The last change only set a new default PIN, which cannot be "
                               "undone (the previous PIN is not known). Set another one with "
                               "`edit`."))
    change_flow.propose(_deps(ctx), ctx.conversation, change, rules=_rules(ctx), undoes=last)


def _reverting(entry: Applied) -> RulesChange:
    """The change that puts back what ``entry`` changed, as it read before."""
    before = VoicemailRules.from_api(entry.before)
    change = RulesChange()
    touched = {c.label for c in entry.changes}
    for key, setting in SETTINGS.items():
        if setting.label in touched:
            change.values[key] = current_value(before, key)
    if SettingName.DEFAULT_PIN_ENABLED in touched or "Default voicemail PIN" in touched:
        change.default_pin_enabled = before.pin_rules.default_pin_enabled  # (the older name too)
    return change


def whoami(ctx: Context, _args: tuple[str, ...] = ()) -> None:
    in_org = ctx.requester.org_id == ctx.org.org_id
    card = whoami_card(ctx.requester, in_org=in_org, may=lambda permission: _may(ctx, permission),
                       org_name=ctx.org.admin.managed_org_name() if in_org else None)
    ctx.reply(Reply.of(cards.render("whoami", card)))


def subscribe(ctx: Context, _args: tuple[str, ...] = ()) -> None:
    added = ctx.org.subscriptions.add(ctx.requester.person_id, ctx.requester.display_name)
    ctx.reply(Reply("Subscribed: I will message you directly about every change to the rules."
                    if added else "You are already subscribed."))


def unsubscribe(ctx: Context, _args: tuple[str, ...] = ()) -> None:
    removed = ctx.org.subscriptions.remove(ctx.requester.person_id)
    ctx.reply(Reply("Unsubscribed: no more direct messages about changes."
                    if removed else "You were not subscribed."))


def help_(ctx: Context, _args: tuple[str, ...] = ()) -> None:
    card = help_card(may=lambda permission: _may(ctx, permission))
    ctx.reply(Reply.of(cards.render("help", card)))
