"""Card data in words an admin understands: rules, forms, diffs, history, answers. No Webex calls
here: each function takes what it shows and returns the data its ``cards/<name>.json`` template
reads. Values from outside stay plain strings (the renderer escapes them); the bot's own markdown
is ``Markup``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.domain.authorization import Permission, Requester
from bot.domain.forms import Shown
from bot.domain.rules import EXPIRY_DAYS, FieldChange, VoicemailRules, setting_changes
from bot.domain.vocabulary import ChangeKind, SettingName
from bot.storage.audit import Applied
from bot.views.markup import Markup

MINUTE = "%H:%M UTC"
DAY_AND_MINUTE = "%Y-%m-%d %H:%M UTC"


def moment(when: datetime, *, with_date: bool = True) -> dict[str, str]:
    """``when`` for a card and for its text fallback: ``{"local": ..., "utc": ...}``.

    ``local`` is for card TextBlocks: Adaptive Cards' ``{{DATE()}}``/``{{TIME()}}`` functions, which
    Webex clients show in the reader's own time zone (RFC 3339 with ``Z``, seconds included, as the
    functions require). ``utc`` is for text, where nothing converts it: marked as UTC.
    """
    when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    local = f"{{{{DATE({stamp}, SHORT)}}}} {{{{TIME({stamp})}}}}" if with_date \
        else f"{{{{TIME({stamp})}}}}"
    return {"local": Markup(local), "utc": when.strftime(DAY_AND_MINUTE if with_date else MINUTE)}


def _plural(count: int, word: str) -> str:
    return f"{count} {word if count == 1 else word + 's'}"


def policy_rows(rules: VoicemailRules) -> list[dict[str, str]]:
    """Every changeable setting, by its one name (``SettingName``), in a sentence."""
    expire, change, previous = rules.expire, rules.change, rules.block_previous
    return [
        {"label": SettingName.EXPIRY,
         "value": f"Passcodes expire after {_plural(expire.days, 'day')}" if expire.enabled
         else "Off: passcodes never expire"},
        {"label": SettingName.CHANGE_INTERVAL,
         "value": f"At most once every {_plural(change.days, 'day')}" if change.enabled
         else "Off: no minimum time between changes"},
        {"label": SettingName.BLOCK_PREVIOUS,
         "value": f"The last {_plural(previous.count, 'passcode')}" if previous.enabled
         else "Off: earlier passcodes may be reused"},
        {"label": SettingName.DEFAULT_PIN_ENABLED,
         "value": "On: new users start with the default PIN" if rules.pin_rules.default_pin_enabled
         else "Off: each new user sets their own PIN"},
    ]


def pin_rule_rows(rules: VoicemailRules) -> list[dict[str, str]]:
    pin = rules.pin_rules
    repeated = f"no digit more than {_plural(pin.repeated_digits.max, 'time')} in a row"
    sequences = (f"no more than {pin.sequences.ascending} ascending or "
                 f"{pin.sequences.descending} descending digits in a row")
    return [
        {"label": "Length", "value": f"{pin.length.min} to {pin.length.max} digits"},
        {"label": "Repeated digits", "value": repeated.capitalize() if pin.repeated_digits.enabled
         else f"Allowed (off; would be {repeated})"},
        {"label": "Sequences", "value": sequences.capitalize() if pin.sequences.enabled
         else f"Allowed (off; would be {sequences})"},
        {"label": "Repeated patterns",
         "value": "Not allowed (such as 1212 or 408408)" if pin.block_repeated_patterns
         else "Allowed"},
    ]


def rules_card(rules: VoicemailRules, *, can_change: bool, read_at: datetime) -> dict[str, Any]:
    footnote = ""
    if rules.expire.enabled and rules.expire.days > EXPIRY_DAYS[1]:
        footnote = (f"The expiry of {rules.expire.days} days was set in Control Hub; through the API, "
                    f"and so through this bot, it can be set from {EXPIRY_DAYS[0]} to "
                    f"{EXPIRY_DAYS[1]} days.")
    return {"orgName": "Webex Calling, for the whole organization",
            "policy": policy_rows(rules), "pinRules": pin_rule_rows(rules),
            "hasFootnote": bool(footnote), "footnote": footnote,
            "readAt": moment(read_at), "canChange": can_change}


def edit_form(rules: VoicemailRules, *, values: dict[str, Any] | None = None,
              errors: list[str] | None = None,
              changed_meanwhile: list[FieldChange] | None = None) -> dict[str, Any]:
    """The form prefilled with the current rules, or with what the admin typed (``values``).

    Its Review button carries what the form showed of ``rules`` (``Shown``): on review, only the
    fields the admin changed are a request. ``changed_meanwhile``: the rules changed after an
    earlier form was filled, and this fresh one says what changed (empty: an earlier form that
    did not say what it showed)."""
    data: dict[str, Any] = {
        "expiryEnabled": _flag(rules.expire.enabled), "expiryDays": rules.expire.days,
        "changeEnabled": _flag(rules.change.enabled), "changeDays": rules.change.days,
        "previousEnabled": _flag(rules.block_previous.enabled),
        "previousCount": rules.block_previous.count,
        "defaultPinEnabled": _flag(rules.pin_rules.default_pin_enabled),
    }
    for field, key in (("expiry_enabled", "expiryEnabled"), ("expiry_days", "expiryDays"),
                       ("change_enabled", "changeEnabled"), ("change_days", "changeDays"),
                       ("previous_enabled", "previousEnabled"), ("previous_count", "previousCount"),
                       ("default_pin_enabled", "defaultPinEnabled")):
        if values and field in values:
            data[key] = values[field]
    data = {key: str(value) for key, value in data.items()}  # text inputs and toggles take text
    data["expiryPattern"] = _whole_numbers_pattern(EXPIRY_DAYS[0],
                                                   max(EXPIRY_DAYS[1], rules.expire.days))
    data["pinLength"] = f"{rules.pin_rules.length.min}-{rules.pin_rules.length.max}"
    data["errors"] = [{"message": e} for e in errors or []]
    data["hasErrors"] = bool(errors)
    data.update(_stale_notice(changed_meanwhile))
    data["shown"] = Shown.of(rules).encode()
    return data


def _stale_notice(changed: list[FieldChange] | None) -> dict[str, Any]:
    notice = ("" if changed is None else
              "The rules changed after your form was made, so nothing was proposed. What changed:"
              if changed else
              "Your form was made by an earlier version of the bot, so nothing was proposed.")
    return {"hasNotice": bool(notice), "notice": notice,
            "changedMeanwhile": change_rows(changed or [])}


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _whole_numbers_pattern(low: int, high: int) -> str:
    """A card-side check of ``low``-``high`` that lets the field be empty.

    The numbers are text inputs with this pattern, not ``Input.Number`` with min and max: the
    JavaScript renderer refuses an empty optional ``Input.Number`` that has a min or max
    (microsoft/AdaptiveCards#8347), and a number of a rule switched off may be left empty. Up to
    the expiry Control Hub may have set (180), so a value kept unchanged is never refused.
    """
    return "^(" + "|".join(str(n) for n in range(low, high + 1)) + ")?$"


def change_rows(changes: list[FieldChange]) -> list[dict[str, str]]:
    return [{"label": c.label, "before": c.before, "after": c.after} for c in changes]


def history(entries: list[Applied]) -> dict[str, Any]:
    return {"isEmpty": not entries, "entries": [
        {"when": moment(e.applied_at), "who": _who(e),
         "what": "; ".join(f"{c.label}: {c.before} → {c.after}" for c in e.changes)}
        for e in entries]}


def _who(entry: Applied) -> str:
    if entry.kind == ChangeKind.OUTSIDE:
        return f"{entry.actor_name or 'Someone'}, outside the bot"
    return f"{entry.actor_name}{' (undo)' if entry.kind == ChangeKind.UNDO else ''}"


def rules_diff(before: VoicemailRules, after: VoicemailRules) -> list[FieldChange]:
    """Every field, changeable or read-only, that reads differently: the settings as the bot's
    own changes show them ("60 days → 90 days"), the PIN rules in the rules card's words."""
    changes = setting_changes(before, after)
    for old, new in zip(pin_rule_rows(before), pin_rule_rows(after), strict=True):
        if old["value"] != new["value"]:
            changes.append(FieldChange(old["label"], old["value"], new["value"]))
    return changes


def error_card(*, title: str, message: str, tracking_id: str | None = None,
               retry_change_id: str | None = None) -> dict[str, Any]:
    """What went wrong; with ``retry_change_id``, a "Confirm again" button for that change."""
    return {"title": title, "message": message,
            "hasTrackingId": bool(tracking_id), "trackingId": tracking_id or "",
            "canRetry": retry_change_id is not None,
            "retryTitle": "Confirm again" if retry_change_id else "",
            "retryAction": "confirm" if retry_change_id else "",
            "changeId": retry_change_id or ""}


def confirm_card(*, requester: str, change_id: str, expires_at: datetime,
                 changes: list[FieldChange], undoes: Applied | None = None) -> dict[str, Any]:
    """With ``undoes``, the card says which change it undoes (when, and whose)."""
    if undoes is not None:
        requester = (f"{requester}, to undo the change {undoes.actor_name} made at "
                     f"{undoes.applied_at.strftime(DAY_AND_MINUTE)}")
    return {"requester": requester, "changeId": change_id,
            "expiresAt": moment(expires_at, with_date=False), "changes": change_rows(changes)}


def applied_card(*, summary: str, changes: list[FieldChange], detail: Markup) -> dict[str, Any]:
    """The ``result`` card of a change Webex has taken."""
    return {"title": "Change applied", "color": "Good", "summary": summary,
            "hasChanges": True, "changes": change_rows(changes),
            "hasDetail": bool(detail), "detail": detail}


def notification_card(*, who: str, where: str, when: datetime,
                      changes: list[FieldChange]) -> dict[str, Any]:
    """A change, for everyone told of it: a new PIN appears only as "changed"."""
    return {"who": who, "where": where, "when": moment(when),
            "changes": change_rows(changes)}


def whoami_card(person: Requester, *, in_org: bool, may: Callable[[Permission], bool],
                org_name: str | None = None) -> dict[str, Any]:
    """Who the bot thinks ``person`` is, and what ``may`` (their permission check) lets them do;
    ``org_name``: the managed org's display name, when Webex said it."""
    what = ("view and change the rules" if may(Permission.CHANGE) else
            "view the rules" if may(Permission.VIEW) else
            Markup("use `help` and `whoami`") if in_org else "nothing here: the bot manages another org")
    return {"name": person.display_name, "email": person.email,
            "org": (f"{org_name} (the organization this bot manages)" if in_org and org_name
                    else "the organization this bot manages" if in_org else "another organization"),
            "roles": ", ".join(sorted(person.role_names)) or "none", "may": what}


# What the help card lists, each line shown only to whom its permission allows.
COMMAND_HELP = (
    ("help", "what you can do here", Permission.ANYONE),
    ("whoami", "who the bot thinks you are, and your admin roles", Permission.ANYONE),
    ("show", "the current rules (also: rules)", Permission.VIEW),
    ("history [n]", "the last n changes, through the bot or outside it (default 5, at most 20)",
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
    # `connect` is for people of an org that is not connected: their refusal names it (help
    # answers only connected orgs).
    ("disconnect", "disconnect your organization: the bot forgets its access and everything it "
                   "keeps of it (it says what, and asks first)", Permission.CHANGE),
)


def help_card(may: Callable[[Permission], bool]) -> dict[str, Any]:
    """The commands the requester may use (``may``: their permission check)."""
    can_view = may(Permission.VIEW)
    intro = ("I show and change your organization's voicemail passcode rules. You can:" if can_view
             else "I manage the voicemail passcode rules, which needs an admin role. You can:")
    return {"intro": intro, "canView": can_view, "canChange": may(Permission.CHANGE),
            "commands": [{"usage": Markup(usage), "description": text}
                         for usage, text, permission in COMMAND_HELP if may(permission)]}
