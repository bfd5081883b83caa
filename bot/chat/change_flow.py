"""The change flow: propose → confirm (or cancel) → apply once → verify → record → notify.

1. A proposal is validated, turned into the smallest patch, stored as a pending change and shown
   on a confirmation card with before and after.
2. Confirm is single use (an atomic claim), re-checks the role without cache, re-reads the rules
   and applies nothing if someone changed them meanwhile; then PUT, read back, audit, notify.
3. If Webex is unavailable before the PUT, the change is released so Confirm can be pressed again
   while it is pending; if Webex refuses (4xx), its description and tracking id are shown and
   nothing is retried.
4. A PUT with no answer (timeouts) or a 5xx is *unknown*, not failed: the rules read back decide
   (applied, or plainly not applied); if they cannot be read the admin is told it may have been
   applied and the request stays ``unknown`` until a Confirm or the change watcher settles it.
   Once Webex has the change, ``bot.chat.applied`` records it and tells people whatever fails.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.chat.applied import (
    finish,
    read_back,
    reads_as_requested,
    retire_card,
    sections,
    verifiable,
)
from bot.chat.context import Conversation, UserError, Where
from bot.chat.deps import ChangeFlowDeps
from bot.chat.retries import deliver
from bot.domain import pin_policy
from bot.domain.authorization import Permission, Requester, decide
from bot.domain.forms import set_command
from bot.domain.rules import RulesChange, VoicemailRules, build_patch, diff
from bot.domain.vocabulary import ANSWERED, ChangeKind, ChangeStatus, PinWords
from bot.storage.audit import Applied
from bot.storage.pending import Pending
from bot.views import cards
from bot.views.card_data import MINUTE, confirm_card, error_card, rules_card
from bot.views.markup import Markup
from bot.webex.admin_token import AdminTokenExpired
from bot.webex.errors import WebexCallError
from bot.webex.messenger import Reply

log = logging.getLogger(__name__)


def propose(deps: ChangeFlowDeps, asked: Conversation, change: RulesChange, *,
            rules: VoicemailRules, generate_pin: bool = False,
            undoes: Applied | None = None) -> bool:
    """Store a pending change to ``rules`` (as just read) and post its confirmation card; False
    (and said so) when there is nothing to do. ``undoes``: the recorded change this one reverts."""
    asker, where = asked.requester, asked.where
    if generate_pin:
        try:
            change.new_pin = pin_policy.generate(rules.pin_rules)
        except ValueError as exc:  # the org's PIN rules leave no PIN possible
            raise UserError(f"I can't generate a PIN: {exc} Check the PIN rules in Control Hub.",
                            title="No PIN generated") from exc
    patch = build_patch(rules, change)
    if not patch:
        asked.reply(Reply("Nothing to change: the rules already read that way."))
        return False
    pending = deps.pending.create(
        requester_id=asker.person_id, requester_name=asker.display_name,
        room_id=where.room_id, room_type=where.room_type, thread_id=where.thread_id,
        before=rules.to_api(), patch=patch,
        kind=ChangeKind.UNDO if undoes else ChangeKind.CHANGE, pin_generated=generate_pin)
    card = cards.render("confirm", confirm_card(
        requester=asker.display_name, change_id=pending.id, expires_at=pending.expires_at,
        changes=diff(rules, patch, pin_words=PinWords.TO_GENERATE if generate_pin
                     else PinWords.TYPED), undoes=undoes))
    _keep_card(deps, pending.id, asked.reply(Reply.of(card)))
    log.info("change %s proposed by %s: %s", pending.id, asker.person_id,
             sorted(k for k in patch if k != "defaultVoicemailPin"))
    return True


def _keep_card(deps: ChangeFlowDeps, change_id: str, message_id: str) -> None:
    """Remember the confirmation card, to delete it when the request ends. A press can beat this
    (the card is live once posted): a request that ended meanwhile may have found no card to
    delete, so its card goes now."""
    deps.pending.set_card(change_id, message_id)
    current = deps.pending.get(change_id)
    if current is not None and current.status not in _STILL_OPEN:
        retire_card(deps, current)


# A request whose card is still wanted (or will be retired by whoever ends it, reading its id anew).
_STILL_OPEN = frozenset({ChangeStatus.PENDING, ChangeStatus.APPLYING, ChangeStatus.UNKNOWN})


def _own_pending(deps: ChangeFlowDeps, asked: Conversation, change_id: str) -> Pending:
    pending = deps.pending.get(change_id) if change_id else None
    if pending is None:
        raise UserError(Markup("I can't find that change request. Start again with `edit` or "
                               "`set`."))
    if pending.requester_id != asked.requester.person_id:
        owner = pending.requester_name
        raise UserError(f"Only {owner} can confirm or cancel {owner}'s change; your press "
                        "changed nothing.", title="Not your change")
    return pending


def cancel(deps: ChangeFlowDeps, asked: Conversation, change_id: str) -> None:
    pending = _own_pending(deps, asked, change_id)
    if not deps.pending.resolve(pending.id, ChangeStatus.CANCELLED,
                                from_status=ChangeStatus.PENDING):
        _used_before(deps, asked, pending.id)
        return
    retire_card(deps, pending)
    asked.reply(Reply("Cancelled: nothing was changed."))


def confirm(deps: ChangeFlowDeps, asked: Conversation, change_id: str) -> None:
    pending = _own_pending(deps, asked, change_id)
    # An "unknown" change (its PUT went unanswered) may be settled even after its 10 minutes.
    claimed = deps.pending.claim_to_settle(pending.id) if pending.status == ChangeStatus.UNKNOWN \
        else deps.pending.claim(pending.id)
    if not claimed:
        _used_before(deps, asked, pending.id)
        return
    try:
        before, now = _recheck(deps, asked, pending)
        patch, pin = _decide(deps, asked, pending, before, now)
    except WebexCallError as exc:
        _webex_failed(deps, asked, pending, exc)
        return
    except BaseException:
        deps.pending.release(pending.id, pending.status)
        raise
    if patch is not None:
        _put(deps, asked, pending, before, patch, pin)


def _used_before(deps: ChangeFlowDeps, asked: Conversation, change_id: str) -> None:
    """A button of a request that was already answered: a repeated press is told quietly what
    became of it (plain text, not an error card); an expired or failed request is an error."""
    current = deps.pending.get(change_id)
    if current is not None and current.status in ANSWERED:
        asked.reply(Reply(_already(deps, change_id)))
        return
    raise UserError(_already(deps, change_id))


def _already(deps: ChangeFlowDeps, change_id: str) -> Markup:
    current = deps.pending.get(change_id)
    if current is None:
        return Markup("This change request no longer exists.")
    status = current.status
    if status == ChangeStatus.PENDING:  # claimable but expired
        deps.pending.expire_old()
        status = ChangeStatus.EXPIRED
    if status not in ANSWERED and status != ChangeStatus.UNKNOWN:  # ended: its buttons go too
        retire_card(deps, current)
    return Markup(_WHAT_BECAME_OF.get(status, "This change request is closed.")).format(
        again=ask_again(current))


def ask_again(pending: Pending) -> Markup:
    """The command that asks for this change again: `undo`, the one `set` that says it, or
    `edit` (never `edit` alone after a `set`, nor `set` for a PIN)."""
    if pending.kind == ChangeKind.UNDO:
        return Markup("`undo`")
    command = None if pending.has_pin else set_command(pending.patch)
    return Markup("`{command}`").format(command=command or "edit")


_WHAT_BECAME_OF: dict[ChangeStatus | None, str] = {
    ChangeStatus.APPLIED: "This change was already applied.",
    ChangeStatus.APPLYING: "This change is being applied right now.",
    ChangeStatus.UNKNOWN: "Webex did not say whether this change was applied; I am checking the "
                          "rules and will tell you here.",
    ChangeStatus.ALREADY: "The rules already read as this change asked.",
    ChangeStatus.CANCELLED: "This change was cancelled.",
    ChangeStatus.EXPIRED: "This change request expired (they last 10 minutes). Ask again with "
                          "{again}.",
    ChangeStatus.SUPERSEDED: "This change was not applied: the rules changed in the meantime.",
    ChangeStatus.INTERRUPTED: "Applying this change was interrupted; check the rules with `show` "
                              "and ask again with {again} if they are not as you wanted.",
    ChangeStatus.FAILED: "Webex refused this change; ask again with {again} if you still want it.",
    ChangeStatus.UNDETERMINED: "Webex never said whether this new PIN was set, and a PIN cannot be "
                               "read back. Set one again with {again} to be sure which PIN is set.",
}


def _recheck(deps: ChangeFlowDeps, asked: Conversation,
             pending: Pending) -> tuple[VoicemailRules, VoicemailRules]:
    """The role checked again without cache, and the rules read again meanwhile: (before, now)."""
    # The fresh read of the rules goes alongside the fresh role check; it is used only if allowed.
    rules_read = deps.parallel.submit(deps.admin.read_rules)
    requester = deps.directory.requester(asked.requester.person_id, fresh=True)
    decision = decide(requester, Permission.CHANGE, managed_org_id=deps.admin.managed_org_id())
    if not decision.allowed:
        rules_read.cancel()
        deps.pending.resolve(pending.id, ChangeStatus.CANCELLED)
        retire_card(deps, pending)
        raise UserError(f"Not applied. {decision.reason}", title="Not allowed any more")
    return VoicemailRules.from_api(pending.before), VoicemailRules.from_api(rules_read.result())


def _decide(deps: ChangeFlowDeps, asked: Conversation, pending: Pending, before: VoicemailRules,
            now: VoicemailRules) -> tuple[dict | None, str | None]:
    """The patch to PUT and its PIN; (None, None) when the rules already read as asked."""
    # A PIN is never served: rules that read as asked say nothing of it unless our PUT carried it.
    if reads_as_requested(now, before, pending.patch) and (
            pending.status == ChangeStatus.UNKNOWN or not pending.has_pin):
        _already_as_requested(deps, asked, pending, before, now)
        return None, None
    if pending.status == ChangeStatus.UNKNOWN and pending.is_expired(datetime.now(UTC)):
        deps.pending.resolve(pending.id, ChangeStatus.EXPIRED)
        retire_card(deps, pending)
        raise UserError(Markup("The rules do not read as this change asked, so it was not "
                               "applied; the request has expired. Ask again with {again}.")
                        .format(again=ask_again(pending)),
                        title="Not applied")
    if sections(now, pending.patch) != sections(before, pending.patch):
        _superseded(deps, asked, pending, now)
    pin = deps.pending.pin(pending.id) if pending.has_pin else None
    if pending.has_pin and pin is None:  # sealed with another BOT_SECRET_KEY: never apply half
        deps.pending.resolve(pending.id, ChangeStatus.FAILED)
        retire_card(deps, pending)
        raise UserError(Markup("The new PIN of this request can no longer be read (the bot's "
                               "secret key changed), so nothing was applied. Start again with "
                               "`edit`."),
                        title="Not applied")
    return dict(pending.patch, **({"defaultVoicemailPin": pin} if pin else {})), pin


def _already_as_requested(deps: ChangeFlowDeps, asked: Conversation, pending: Pending,
                          before: VoicemailRules, now: VoicemailRules) -> None:
    """Confirm on rules that already read as asked. After a PUT that went unanswered, that PUT
    landed: the bot's change, recorded and announced. Otherwise nothing is sent (the watcher
    reports whoever made it)."""
    if pending.status == ChangeStatus.UNKNOWN:
        pin = deps.pending.pin(pending.id) if pending.pin_generated else None
        finish(deps, asked, pending, before, now.to_api(), generated_pin=pin,
               summary="This change was already applied: Webex had not confirmed it, and the "
                       "rules now read as you asked.")
        return
    deps.pending.resolve(pending.id, ChangeStatus.ALREADY)
    retire_card(deps, pending)
    asked.reply(Reply("Already applied: the rules already read as you asked, so nothing was sent "
                    "to Webex."))


def _superseded(deps: ChangeFlowDeps, asked: Conversation, pending: Pending,
                now: VoicemailRules) -> None:
    deps.pending.resolve(pending.id, ChangeStatus.SUPERSEDED)
    retire_card(deps, pending)
    asked.reply(Reply.of(cards.render("rules", rules_card(now, can_change=True,
                                                        read_at=datetime.now(UTC)))))
    raise UserError(Markup("Someone changed these rules after you asked, so nothing was applied. "
                           "The rules as they are now are shown above; ask again with {again} if "
                           "you still want the change.").format(again=ask_again(pending)),
                    title="The rules changed meanwhile")


def _put(deps: ChangeFlowDeps, asked: Conversation, pending: Pending, before: VoicemailRules,
         patch: dict, pin: str | None) -> None:
    """PUT the patch. Webex refusing (4xx) closes the request; no answer, or a 5xx, leaves the
    outcome unknown until the rules are read back."""
    try:
        deps.admin.update_rules(patch)
    except WebexCallError as exc:
        if exc.is_refusal:
            _webex_failed(deps, asked, pending, exc)
        else:
            _unanswered(deps, asked, pending, before, exc, pin)
        return
    except BaseException:  # the admin token refused (401) and not refreshed: nothing was taken
        deps.pending.release(pending.id, pending.status)
        raise
    finish(deps, asked, pending, before, read_back(deps.admin, pending.id),
           generated_pin=pin if pending.pin_generated else None)


def _unanswered(deps: ChangeFlowDeps, asked: Conversation, pending: Pending,
                before: VoicemailRules, exc: WebexCallError, pin: str | None) -> None:
    """The PUT may or may not have landed: the rules read back decide, or the admin is told
    plainly that nobody knows yet (and the request stays open to settle)."""
    log.warning("change %s: the PUT got no answer (%s); reading the rules back", pending.id, exc)
    rules = read_back(deps.admin, pending.id)
    now = VoicemailRules.from_api(rules) if rules is not None else None
    if now is not None and reads_as_requested(now, before, pending.patch):
        finish(deps, asked, pending, before, rules,
               generated_pin=pin if pending.pin_generated else None)
    elif now is not None and verifiable(before, pending.patch):
        deps.pending.release(pending.id)
        _retry_card(asked, pending, exc, "Webex is not answering",
                    "Webex did not confirm the change, and the rules read back show that the change was not "
                    "applied. Try Confirm again")
    else:
        deps.pending.release(pending.id, ChangeStatus.UNKNOWN)
        _retry_card(asked, pending, exc, "The change may have been applied",
                    "Webex did not confirm the change, and the rules could not be checked, so I can't tell "
                    "yet whether the change was applied. I will check and tell you here; "
                    "Confirm again checks now (and applies it only if it is missing)")


def _retry_card(asked: Conversation, pending: Pending, exc: WebexCallError, title: str,
                message: str) -> None:
    until = pending.expires_at.strftime(MINUTE)
    asked.reply(Reply.of(cards.render("error", error_card(
        title=title, message=f"{message} (until {until}).", tracking_id=exc.tracking_id,
        retry_change_id=pending.id))))


def _webex_failed(deps: ChangeFlowDeps, asked: Conversation, pending: Pending,
                  exc: WebexCallError) -> None:
    """Webex failed before the PUT was sent, or refused the PUT."""
    log.warning("change %s not applied: %s", pending.id, exc)
    if exc.is_refusal:
        deps.pending.resolve(pending.id, ChangeStatus.FAILED)
        retire_card(deps, pending)
        asked.reply(Reply.of(cards.render("error", error_card(
            title="Webex refused the change",
            message=f"Nothing was changed. Webex said: {exc.description}",
            tracking_id=exc.tracking_id))))
        return
    deps.pending.release(pending.id, pending.status)
    if pending.status == ChangeStatus.UNKNOWN:
        _retry_card(asked, pending, exc, "Webex is not answering",
                    "I still can't tell whether the change was applied. Try Confirm again")
    else:
        _retry_card(asked, pending, exc, "Webex is not answering",
                    "The change was not applied. Try Confirm again while the request is pending")


def settle_unknown(deps: ChangeFlowDeps) -> list[str]:
    """For the change watcher: settle each change whose PUT went unanswered, now that the rules
    can be read. A WebexCallError means they cannot (the changes stay unknown)."""
    outcomes = []
    for pending in deps.pending.unknown():
        before = VoicemailRules.from_api(pending.before)
        if not verifiable(before, pending.patch):
            # A PIN alone: only a Confirm (applying it again) can settle it, while it may.
            if pending.is_expired(datetime.now(UTC)) and deps.pending.claim_to_settle(pending.id):
                outcomes.append(_close_undetermined(deps, pending))
            continue
        if not deps.pending.claim_to_settle(pending.id):
            continue  # a Confirm or another round has it
        try:
            now = VoicemailRules.from_api(deps.admin.read_rules())
        except BaseException:
            deps.pending.release(pending.id, ChangeStatus.UNKNOWN)
            raise
        outcomes.append(_settle(deps, pending, before, now))
    return outcomes


def _settle(deps: ChangeFlowDeps, pending: Pending, before: VoicemailRules,
            now: VoicemailRules) -> str:
    asked = Conversation(deps.messenger, _requester(deps, pending),
                         Where(pending.room_id, pending.room_type, pending.thread_id))
    if reads_as_requested(now, before, pending.patch):
        pin = deps.pending.pin(pending.id) if pending.pin_generated else None
        finish(deps, asked, pending, before, now.to_api(), generated_pin=pin,
               summary="Your change was applied: Webex had not confirmed it, and the rules now "
                       "read as you asked.")
        return f"change {pending.id}: applied"
    if pending.is_expired(datetime.now(UTC)):
        deps.pending.resolve(pending.id, ChangeStatus.EXPIRED)
        retire_card(deps, pending)
        message = Markup("Ask again with {again} if you still want it.").format(
            again=ask_again(pending))
    else:
        deps.pending.release(pending.id)
        message = Markup("You can press Confirm again until {until}.").format(
            until=pending.expires_at.strftime(MINUTE))
    deliver(f"the outcome of change {pending.id}", lambda: asked.reply(Reply(Markup(
        "Your change was **not applied**: Webex had not answered, and the rules now read "
        "otherwise. ") + message)))
    return f"change {pending.id}: not applied"


def _close_undetermined(deps: ChangeFlowDeps, pending: Pending) -> str:
    """An expired unknown change of a PIN alone: nothing can tell any more whether it landed, so
    its PIN is not kept for ever; its requester is told the truth, that nobody knows."""
    deps.pending.resolve(pending.id, ChangeStatus.UNDETERMINED)
    retire_card(deps, pending)
    asked = Conversation(deps.messenger, _requester(deps, pending),
                         Where(pending.room_id, pending.room_type, pending.thread_id))
    deliver(f"the outcome of change {pending.id}", lambda: asked.reply(Reply(Markup(
        "I can't tell whether your new default PIN was set: Webex did not answer, and it never "
        "shows a PIN back. The request has ended and the PIN it carried is erased. To be sure "
        "which PIN is set, set one again with {again}.").format(again=ask_again(pending)))))
    return f"change {pending.id}: undetermined"


def _requester(deps: ChangeFlowDeps, pending: Pending) -> Requester:
    """Who asked, for the history; their name alone if Webex cannot say more now."""
    try:
        return deps.directory.requester(pending.requester_id)
    except (WebexCallError, AdminTokenExpired):
        return Requester(pending.requester_id, pending.requester_name, "", "", "person",
                         frozenset())
