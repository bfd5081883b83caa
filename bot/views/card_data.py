"""Card data in words an admin understands: rules, forms, diffs, history. No Webex calls here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.rules import EXPIRY_DAYS, FieldChange, VoicemailRules
from bot.domain.vocabulary import ChangeKind
from bot.storage.audit import Applied


def _plural(count: int, word: str) -> str:
    return f"{count} {word if count == 1 else word + 's'}"


def policy_rows(rules: VoicemailRules) -> list[dict[str, str]]:
    """Every changeable setting, with its number even when it is off (Webex keeps it)."""
    expire, change, previous = rules.expire, rules.change, rules.block_previous
    return [
        {"label": "Passcode expiry",
         "value": f"Passcodes expire after {_plural(expire.days, 'day')}" if expire.enabled
         else f"Passcodes never expire (off; set to {_plural(expire.days, 'day')})"},
        {"label": "Changing a passcode",
         "value": f"At most once every {_plural(change.days, 'day')}" if change.enabled
         else f"No minimum time between changes (off; set to {_plural(change.days, 'day')})"},
        {"label": "Reusing passcodes",
         "value": f"The last {_plural(previous.count, 'passcode')} cannot be reused"
         if previous.enabled else
         f"Allowed (blocking is off; it would cover the last {_plural(previous.count, 'passcode')})"},
        {"label": "Default PIN for new users",
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
            "readAt": read_at.strftime("%Y-%m-%d %H:%M UTC"), "canChange": can_change}


def edit_form(rules: VoicemailRules, *, values: dict[str, Any] | None = None,
              errors: list[str] | None = None) -> dict[str, Any]:
    """The form prefilled with the current rules, or with what the admin typed (``values``)."""
    data = {
        "expiryEnabled": _flag(rules.expire.enabled), "expiryDays": rules.expire.days,
        "changeEnabled": _flag(rules.change.enabled), "changeDays": rules.change.days,
        "previousEnabled": _flag(rules.block_previous.enabled),
        "previousCount": rules.block_previous.count,
        "defaultPinEnabled": _flag(rules.pin_rules.default_pin_enabled),
    }
    for field, key, number in (("expiry_enabled", "expiryEnabled", False),
                               ("expiry_days", "expiryDays", True),
                               ("change_enabled", "changeEnabled", False),
                               ("change_days", "changeDays", True),
                               ("previous_enabled", "previousEnabled", False),
                               ("previous_count", "previousCount", True),
                               ("default_pin_enabled", "defaultPinEnabled", False)):
        if values and field in values:
            data[key] = _number_or_text(values[field]) if number else str(values[field])
    expiry_days = data["expiryDays"] if isinstance(data["expiryDays"], int) else 0
    data["expiryMax"] = max(EXPIRY_DAYS[1], expiry_days)
    data["pinLength"] = f"{rules.pin_rules.length.min}-{rules.pin_rules.length.max}"
    data["errors"] = [{"message": e} for e in errors or []]
    data["hasErrors"] = bool(errors)
    return data


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _number_or_text(value: Any) -> Any:
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() else text


def change_rows(changes: list[FieldChange]) -> list[dict[str, str]]:
    return [{"label": c.label, "before": c.before, "after": c.after} for c in changes]


def history(entries: list[Applied]) -> dict[str, Any]:
    return {"isEmpty": not entries, "entries": [
        {"when": e.applied_at.strftime("%Y-%m-%d %H:%M UTC"),
         "who": f"{e.actor_name}{' (undo)' if e.kind == ChangeKind.UNDO else ''}",
         "what": "; ".join(f"{c.label}: {c.before} → {c.after}" for c in e.changes)}
        for e in entries]}


def rules_diff(before: VoicemailRules, after: VoicemailRules) -> list[FieldChange]:
    """Every field, changeable or read-only, that reads differently, in the card's own words."""
    changes = []
    for rows_of in (policy_rows, pin_rule_rows):
        for old, new in zip(rows_of(before), rows_of(after), strict=False):
            if old["value"] != new["value"]:
                changes.append(FieldChange(old["label"], old["value"], new["value"]))
    return changes
