"""After Webex has taken a change: record it and tell people, whatever fails next.

Once a PUT has landed, the audit entry, the watcher's copy of the rules and the closing of the
request are written even if the database is locked or down for a while (retried until it
answers), and the admin's answer and the notifications are posted even if Webex fails a post
(retried with backoff; a rare duplicate is better than a space that never hears of a change). A
post that still fails is logged; it never turns into "nothing was changed".
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.chat.context import Conversation
from bot.chat.deps import ChangeFlowDeps
from bot.chat.retries import deliver, durably
from bot.domain.rules import FieldChange, VoicemailRules, diff
from bot.domain.vocabulary import ChangeStatus, PinWords
from bot.ops import metrics
from bot.storage.pending import Pending
from bot.storage.snapshots import Snapshots
from bot.views import cards
from bot.views.card_data import applied_card
from bot.views.markup import Markup, escape
from bot.webex.admin import AdminAccess
from bot.webex.admin_token import AdminTokenExpired
from bot.webex.errors import WebexCallError
from bot.webex.messenger import Messenger, Reply

log = logging.getLogger(__name__)


def sections(rules: VoicemailRules, patch: dict) -> dict:
    """The parts of ``rules`` that ``patch`` touches, to compare before, requested and now."""
    api = rules.to_api()
    result = {k: api[k] for k in patch if k in api}
    if "defaultVoicemailPinEnabled" in patch:
        result["pinEnabled"] = api["defaultVoicemailPinRules"]["defaultVoicemailPinEnabled"]
    return result


def patched(before: VoicemailRules, patch: dict) -> VoicemailRules:
    """The rules as the PUT should leave them."""
    api = before.to_api()
    for key, value in patch.items():
        if isinstance(value, dict) and key in api:
            api[key] = dict(api[key], **value)
    if "defaultVoicemailPinEnabled" in patch:
        api["defaultVoicemailPinRules"] = dict(
            api["defaultVoicemailPinRules"],
            defaultVoicemailPinEnabled=patch["defaultVoicemailPinEnabled"])
    return VoicemailRules.from_api(api)


def verifiable(before: VoicemailRules, patch: dict) -> bool:
    """Can reading the rules tell whether this change landed? Only if it changes something
    Webex serves: not for a new PIN alone (never served; it comes with ``enabled: true``)."""
    return sections(patched(before, patch), patch) != sections(before, patch)


def reads_as_requested(rules: VoicemailRules, before: VoicemailRules, patch: dict) -> bool:
    return verifiable(before, patch) and sections(rules, patch) == sections(patched(before, patch),
                                                                              patch)


def read_back(admin: AdminAccess, change_id: str) -> dict | None:
    """The rules as Webex has them now; None if it could not say (nor could the admin token)."""
    try:
        return admin.read_rules()
    except (WebexCallError, AdminTokenExpired) as exc:
        log.warning("change %s: reading the rules back failed: %s", change_id, exc)
        return None


def finish(deps: ChangeFlowDeps, asked: Conversation, pending: Pending, before: VoicemailRules,
           after_api: dict | None, *, generated_pin: str | None,
           summary: str = "The voicemail passcode rules were updated.") -> None:
    """Webex has the change: record it (history, the watcher's copy, the request closed), then
    tell people. Nothing failing from here on may say it was not applied."""
    asker, where = asked.requester, asked.where
    after = VoicemailRules.from_api(after_api) if after_api else patched(before, pending.patch)
    # The stored patch never holds the PIN itself; a placeholder marks that one was set. These
    # are everyone's words (history, notifications): a new PIN only as "new PIN (not shown)".
    touched = dict(pending.patch, **({"defaultVoicemailPin": "set"} if pending.has_pin else {}))
    changes = diff(before, touched)
    org_id = deps.admin.managed_org_id()  # known since the role check: no Webex call
    durably(f"the audit entry of change {pending.id}", lambda: deps.audit.record(
        change_id=pending.id, actor_id=asker.person_id, actor_name=asker.display_name,
        actor_email=asker.email, room_id=where.room_id, room_type=where.room_type,
        kind=pending.kind, changes=changes, before=before.to_api(), after=after.to_api()))
    metrics.change_applied(pending.kind)
    # Before the request stops being "applying", so the watcher never reports it as outside.
    durably(f"the rules known after change {pending.id}",
            lambda: remember(deps.snapshots, org_id, after, pending.patch))
    durably(f"the closing of change {pending.id}",
            lambda: deps.pending.resolve(pending.id, ChangeStatus.APPLIED))
    _tell_applied(deps, asked, pending, changes, _checked_note(pending, before, after_api),
                  summary, generated_pin)
    log.info("change %s applied by %s", pending.id, asker.person_id)


def _checked_note(pending: Pending, before: VoicemailRules, after_api: dict | None) -> Markup:
    if after_api is None:
        return Markup("Webex accepted the change, but reading the rules back failed; check them "
                      "with `show`.")
    if verifiable(before, pending.patch) and not reads_as_requested(
            VoicemailRules.from_api(after_api), before, pending.patch):
        log.warning("change %s applied but read-back differs", pending.id)
        return Markup("Webex accepted the change, but reading the rules back shows other values; "
                      "check them with `show`.")
    return Markup("")


def _tell_applied(deps: ChangeFlowDeps, asked: Conversation, pending: Pending,
                  changes: list[FieldChange], checked: Markup, summary: str,
                  generated_pin: str | None) -> None:
    notes = [pin_sent(asked, generated_pin)] if generated_pin else []
    pin_words = (PinWords.TYPED if not pending.pin_generated
                 else PinWords.NOT_SENT if notes and notes[0] else PinWords.GENERATED)
    retire_card(deps, pending)
    reached = deps.notifier.change_through_bot(asked, changes)
    if reached:
        whom = "space or subscriber" if len(reached) == 1 else "spaces and subscribers"
        notes.insert(0, escape(f"Notification sent to {len(reached)} {whom}."))
    notes.append(checked)
    detail = Markup(" ").join(note for note in notes if note)  # the bot's own sentences
    yours = [FieldChange(c.label, c.before, pin_words) if c.after == PinWords.SET else c
             for c in changes]  # the requester knows how their PIN came about
    result = Reply.of(cards.render("result", applied_card(summary=summary, changes=yours,
                                                          detail=detail)))
    deliver(f"the result of change {pending.id}", lambda: asked.reply(result))


def pin_sent(asked: Conversation, pin: str) -> Markup:
    """Send a PIN the bot made up to the requester alone (one the admin typed they know); say so
    in the result if that failed: the PIN is not kept anywhere to send again."""
    sent = deliver("the generated PIN", lambda: asked.tell_privately(Reply(Markup(
        "The new default voicemail PIN is **{pin}**. Share it with new users; they must "
        "change it before using voicemail.").format(pin=pin))))
    if sent is not None:
        return Markup("")
    return Markup("The generated PIN could not be sent to you privately and is not kept: set a new "
                  "one with `edit`.")


def remember(snapshots: Snapshots, org_id: str, after: VoicemailRules, patch: dict) -> None:
    """Tell the change watcher what this change did: the sections it touched, as read back, on
    top of the rules the watcher last saw, so that a change made elsewhere before this one is
    still reported."""
    known = snapshots.get(org_id)
    if known is None:
        snapshots.save(org_id, after.to_api())
        return
    rules: dict[str, Any] = known[0]
    after_api = after.to_api()
    for key in sections(after, patch):
        if key == "pinEnabled":
            rules["defaultVoicemailPinRules"] = dict(
                rules.get("defaultVoicemailPinRules", {}),
                defaultVoicemailPinEnabled=after.pin_rules.default_pin_enabled)
        else:
            rules[key] = after_api[key]
    snapshots.save(org_id, rules)


def retire_card(deps: ChangeFlowDeps, pending: Pending) -> None:
    """Delete the confirmation card: a card cannot be edited, and its buttons must not linger.
    Its id is read anew: ``pending`` may have been read before the card was remembered. The
    database failing here (after a PUT, on the way to telling people) costs at most the card."""
    try:
        current = deps.pending.get(pending.id)
    except SQLAlchemyError as exc:
        log.warning("change %s: its card's id not read again (%s)", pending.id,
                    exc.__class__.__name__)
        current = None
    card = current.card_message_id if current is not None else pending.card_message_id
    if card:
        retire(deps.messenger, card, "confirmation card")


def retire(messenger: Messenger, message_id: str, what: str) -> None:
    """Delete a card whose work is done. Its answer is already posted, so a failure is logged,
    never raised: the card's buttons are answered as such if pressed."""
    try:
        messenger.delete(message_id)
    except WebexCallError as exc:
        log.warning("%s %s not deleted: %s", what, message_id, exc)
