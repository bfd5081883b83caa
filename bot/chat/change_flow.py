"""The change flow: propose → confirm (or cancel) → apply once → verify → record → notify.

1. A proposal is validated, turned into the smallest patch, stored as a pending change and shown
   on a confirmation card with before and after.
2. Confirm is single use (an atomic claim), re-checks the role without cache, re-reads the rules
   and applies nothing if someone changed them meanwhile; then PUT, read back, audit, notify.
3. If Webex is unavailable the change is released so Confirm can be pressed again while it is
   pending; if Webex refuses (4xx), its description and tracking id are shown and nothing is retried.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.chat.context import Context, UserError
from bot.chat.notifications import notify_change
from bot.domain import pin_policy
from bot.domain.authorization import Permission, decide
from bot.domain.rules import PIN_HIDDEN, RulesChange, VoicemailRules, build_patch, diff
from bot.ops import metrics
from bot.storage.pending import Pending
from bot.views import cards
from bot.views.card_data import change_rows, rules_card
from bot.views.markup import Markup
from bot.webex.errors import WebexCallError
from bot.webex.messenger import Reply

log = logging.getLogger(__name__)


def propose(ctx: Context, change: RulesChange, *, generate_pin: bool = False,
            kind: str = "change", rules: VoicemailRules | None = None) -> None:
    """Store a pending change and post its confirmation card (or say there is nothing to do)."""
    rules = rules or VoicemailRules.from_api(ctx.read_rules())
    if generate_pin:
        try:
            change.new_pin = pin_policy.generate(rules.pin_rules)
        except ValueError as exc:  # the org's PIN rules leave no PIN possible
            raise UserError(f"I can't generate a PIN: {exc} Check the PIN rules in Control Hub.",
                            title="No PIN generated") from exc
    patch = build_patch(rules, change)
    if not patch:
        ctx.reply(Reply("Nothing to change: the rules already read that way."))
        return
    pending = ctx.services.pending.create(
        requester_id=ctx.requester.person_id, requester_name=ctx.requester.display_name,
        room_id=ctx.room_id, room_type=ctx.room_type, thread_id=ctx.thread_id,
        before=rules.to_api(), patch=patch, kind=kind, pin_generated=generate_pin)
    card = cards.render("confirm", {
        "requester": ctx.requester.display_name, "changeId": pending.id,
        "expiresAt": pending.expires_at.strftime("%H:%M UTC"),
        "changes": change_rows(diff(rules, patch))})
    ctx.services.pending.set_card(pending.id, ctx.reply(Reply.of(card)))
    log.info("change %s proposed by %s: %s", pending.id, ctx.requester.person_id,
             sorted(k for k in patch if k != "defaultVoicemailPin"))


def _own_pending(ctx: Context, change_id: str) -> Pending:
    pending = ctx.services.pending.get(change_id) if change_id else None
    if pending is None:
        raise UserError(Markup("I can't find that change request. Start again with `edit`."))
    if pending.requester_id != ctx.requester.person_id:
        raise UserError(f"Only {pending.requester_name}, who asked for this change, can confirm "
                        "or cancel it.", title="Not your change")
    return pending


def cancel(ctx: Context, change_id: str) -> None:
    pending = _own_pending(ctx, change_id)
    if not ctx.services.pending.resolve(pending.id, "cancelled", from_status="pending"):
        _used_before(ctx, pending.id)
        return
    _retire_card(ctx, pending)
    ctx.reply(Reply("Cancelled: nothing was changed."))


def confirm(ctx: Context, change_id: str) -> None:
    pending = _own_pending(ctx, change_id)
    services = ctx.services
    if not services.pending.claim(pending.id):
        _used_before(ctx, pending.id)
        return
    try:
        before, pin = _apply(ctx, pending)
    except WebexCallError as exc:
        _webex_failed(ctx, pending, exc)
        return
    except BaseException:
        services.pending.release(pending.id)
        raise
    # Webex has the change now: nothing that fails from here on may say it was not applied.
    _finish(ctx, pending, before, generated_pin=pin if pending.pin_generated else None)


def _used_before(ctx: Context, change_id: str) -> None:
    """A button of a request that was already answered: a repeated press is told quietly what
    became of it (plain text, not an error card); an expired or failed request is an error."""
    current = ctx.services.pending.get(change_id)
    if current is not None and current.status in ("applied", "applying", "cancelled"):
        ctx.reply(Reply(_already(ctx, change_id)))
        return
    raise UserError(_already(ctx, change_id))


def _already(ctx: Context, change_id: str) -> Markup:
    current = ctx.services.pending.get(change_id)
    status = current.status if current else "gone"
    if status == "pending":  # claimable but expired
        ctx.services.pending.expire_old()
        status = "expired"
    return Markup({"applied": "This change was already applied.",
            "applying": "This change is being applied right now.",
            "cancelled": "This change was cancelled.",
            "expired": "This change request expired (they last 10 minutes). Start again with `edit`.",
            "superseded": "This change was not applied: the rules changed in the meantime.",
            "interrupted": "Applying this change was interrupted; check the rules with `show` "
                           "and start again with `edit` if they are not as you wanted.",
            "failed": "Webex refused this change; start again with `edit`."}.get(
        status, "This change request no longer exists."))


def _apply(ctx: Context, pending: Pending) -> tuple[VoicemailRules, str | None]:
    """Check again, then PUT the patch; return the rules as they were and the PIN that was set."""
    services = ctx.services
    # The fresh read of the rules goes alongside the fresh role check; it is used only if allowed.
    rules_read = services.parallel.submit(services.admin.read_rules)
    requester = services.directory.requester(ctx.requester.person_id, fresh=True)
    decision = decide(requester, Permission.CHANGE, managed_org_id=services.admin.managed_org_id())
    if not decision.allowed:
        rules_read.cancel()
        services.pending.resolve(pending.id, "cancelled")
        _retire_card(ctx, pending)
        raise UserError(f"Not applied. {decision.reason}", title="Not allowed any more")
    before = VoicemailRules.from_api(pending.before)
    now = VoicemailRules.from_api(rules_read.result())
    if _sections(now, pending.patch) != _sections(before, pending.patch):
        services.pending.resolve(pending.id, "superseded")
        _retire_card(ctx, pending)
        ctx.reply(Reply.of(cards.render("rules", rules_card(now, can_change=True,
                                                            read_at=datetime.now(UTC)))))
        raise UserError(Markup("Someone changed these rules after you asked, so nothing was "
                               "applied. The rules as they are now are shown above; start again "
                               "with `edit` if you still want the change."),
                        title="The rules changed meanwhile")
    pin = services.pending.pin(pending.id) if pending.has_pin else None
    if pending.has_pin and pin is None:  # sealed with another BOT_SECRET_KEY: never apply half
        services.pending.resolve(pending.id, "failed")
        _retire_card(ctx, pending)
        raise UserError(Markup("The new PIN of this request can no longer be read (the bot's "
                               "secret key changed), so nothing was applied. Start again with "
                               "`edit`."),
                        title="Not applied")
    patch = dict(pending.patch, **({"defaultVoicemailPin": pin} if pin else {}))
    services.admin.update_rules(patch)
    return before, pin


def _sections(rules: VoicemailRules, patch: dict) -> dict:
    """The parts of ``rules`` that ``patch`` touches, to compare before and now."""
    api = rules.to_api()
    keys = {k for k in patch if k in api}
    result = {k: api[k] for k in keys}
    if "defaultVoicemailPinEnabled" in patch:
        result["pinEnabled"] = api["defaultVoicemailPinRules"]["defaultVoicemailPinEnabled"]
    return result


def _finish(ctx: Context, pending: Pending, before: VoicemailRules,
            *, generated_pin: str | None) -> None:
    """Record the applied change first (history, the watcher's copy, the request closed), then
    tell people. A Webex failure from here on is reported as such, never as "not applied"."""
    services = ctx.services
    expected = _sections(_patched(before, pending.patch), pending.patch)
    after_api = _read_back(services, pending.id)
    after = VoicemailRules.from_api(after_api) if after_api else _patched(before, pending.patch)
    # The stored patch never holds the PIN itself; a placeholder marks that one was set.
    touched = dict(pending.patch, **({"defaultVoicemailPin": PIN_HIDDEN} if pending.has_pin else {}))
    changes = diff(before, touched)
    services.audit.record(change_id=pending.id, actor_id=ctx.requester.person_id,
                          actor_name=ctx.requester.display_name, actor_email=ctx.requester.email,
                          room_id=ctx.room_id, room_type=ctx.room_type, kind=pending.kind,
                          changes=changes, before=before.to_api(), after=after.to_api())
    metrics.change_applied(pending.kind)
    _remember(services, after, pending.patch)
    services.pending.resolve(pending.id, "applied")
    notes = [_pin_sent(ctx, generated_pin)] if generated_pin else []
    _retire_card(ctx, pending)
    reached = notify_change(ctx, changes)
    if reached:
        notes.insert(0, f"Notification sent to {len(reached)} "
                        f"{'space or subscriber' if len(reached) == 1 else 'spaces and subscribers'}.")
    if after_api is None:
        notes.append(Markup("Webex accepted the change, but reading the rules back failed; "
                            "check them with `show`."))
    elif _sections(after, pending.patch) != expected:
        notes.append(Markup("Webex accepted the change, but reading the rules back shows other "
                            "values; check them with `show`."))
        log.warning("change %s applied but read-back differs", pending.id)
    detail = Markup(" ").join(note for note in notes if note)  # the bot's own sentences
    ctx.reply(Reply.of(cards.render("result", {
        "title": "Change applied", "color": "Good",
        "summary": "The voicemail passcode rules were updated.",
        "hasChanges": True, "changes": change_rows(changes),
        "hasDetail": bool(detail), "detail": detail})))
    log.info("change %s applied by %s", pending.id, ctx.requester.person_id)


def _read_back(services, change_id: str) -> dict | None:
    """The rules after the PUT, to verify it; None if Webex could not say (the PUT stands)."""
    try:
        return services.admin.read_rules()
    except WebexCallError as exc:
        log.warning("change %s applied; reading it back failed: %s", change_id, exc)
        return None


def _pin_sent(ctx: Context, pin: str) -> str:
    """Send a PIN the bot made up to the requester alone (one the admin typed they know); say so
    in the result if that failed: the PIN is not kept anywhere to send again."""
    try:
        ctx.tell_privately(Reply(Markup("The new default voicemail PIN is **{pin}**. Share it "
                                        "with new users; they must change it before using "
                                        "voicemail.").format(pin=pin)))
        return ""
    except WebexCallError as exc:
        log.warning("generated PIN not delivered privately: %s", exc)
        return Markup("The generated PIN could not be sent to you privately and is not kept: "
                      "set a new one with `edit`.")


def _patched(before: VoicemailRules, patch: dict) -> VoicemailRules:
    """The rules as the PUT should have left them (when they could not be read back)."""
    api = before.to_api()
    for key, value in patch.items():
        if isinstance(value, dict) and key in api:
            api[key] = dict(api[key], **value)
    if "defaultVoicemailPinEnabled" in patch:
        api["defaultVoicemailPinRules"] = dict(
            api["defaultVoicemailPinRules"],
            defaultVoicemailPinEnabled=patch["defaultVoicemailPinEnabled"])
    return VoicemailRules.from_api(api)


def _remember(services, after: VoicemailRules, patch: dict) -> None:
    """Tell the change watcher what this change did, before the change stops being "applying"
    (so it is never reported twice): the sections it touched, as read back, on top of the rules
    the watcher last saw, so that a change made elsewhere before this one is still reported."""
    org_id = services.admin.managed_org_id()
    known = services.snapshots.get(org_id)
    if known is None:
        services.snapshots.save(org_id, after.to_api())
        return
    rules = known[0]
    after_api = after.to_api()
    for key in _sections(after, patch):
        if key == "pinEnabled":
            rules["defaultVoicemailPinRules"] = dict(
                rules.get("defaultVoicemailPinRules", {}),
                defaultVoicemailPinEnabled=after.pin_rules.default_pin_enabled)
        else:
            rules[key] = after_api[key]
    services.snapshots.save(org_id, rules)


def _webex_failed(ctx: Context, pending: Pending, exc: WebexCallError) -> None:
    services = ctx.services
    if exc.is_unavailable:
        services.pending.release(pending.id)
        data = {"title": "Webex is not answering", "canRetry": True, "retryTitle": "Confirm again",
                "retryAction": "confirm", "changeId": pending.id,
                "message": "The change was not applied. Try Confirm again while the request is "
                           f"pending (until {pending.expires_at.strftime('%H:%M UTC')})."}
    else:
        services.pending.resolve(pending.id, "failed")
        data = {"title": "Webex refused the change", "canRetry": False, "retryTitle": "",
                "retryAction": "", "changeId": pending.id,
                "message": f"Nothing was changed. Webex said: {exc.description}"}
    data.update(hasTrackingId=bool(exc.tracking_id), trackingId=exc.tracking_id or "")
    log.warning("change %s not applied: %s", pending.id, exc)
    ctx.reply(Reply.of(cards.render("error", data)))


def _retire_card(ctx: Context, pending: Pending) -> None:
    """Delete the confirmation card: a card cannot be edited, and its buttons must not linger."""
    if pending.card_message_id:
        try:
            ctx.services.messenger.delete(pending.card_message_id)
        except WebexCallError as exc:
            log.warning("confirmation card %s not deleted: %s", pending.card_message_id, exc)
