"""Edit-form and ``set`` input, checked on the server: card-side validation is only a convenience.

Each wrong field gets its own message; nothing is changed until every field is right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.domain import pin_policy
from bot.domain.rules import RulesChange, VoicemailRules, current_value, validate_value

# form field pairs: (toggle input, number input, setting key)
FORM_SETTINGS = (("expiry_enabled", "expiry_days", "expiry"),
                 ("change_enabled", "change_days", "change-interval"),
                 ("previous_enabled", "previous_count", "block-previous"))
SET_USAGE = ("Usage: `set expiry <15-100|off>`, `set change-interval <1-7|off>`, "
             "`set block-previous <1-10|off>` or `set default-pin off`.")


# What a command or setting word looks like: letters and dashes, short. Only such a word is ever
# repeated back to a space: a PIN typed by mistake (digits) or a pasted secret never is.
_PLAUSIBLE_WORD = re.compile(r"[a-z][a-z-]{0,23}", re.IGNORECASE)


def plausible_word(word: str) -> bool:
    """``word`` may be quoted back: ASCII letters and dashes only, at most 24 of them."""
    return _PLAUSIBLE_WORD.fullmatch(word) is not None


INVALID = object()  # a field whose value was refused (its message is in the errors)


@dataclass
class FormResult:
    change: RulesChange
    errors: list[str] = field(default_factory=list)
    generate_pin: bool = False


def _flag(inputs: dict[str, Any], name: str, errors: list[str]) -> bool | None:
    value = str(inputs.get(name, "")).strip().lower()
    if value in ("true", "false"):
        return value == "true"
    errors.append(f"'{name}' must be true or false.")
    return None


def parse_form(inputs: dict[str, Any], rules: VoicemailRules) -> FormResult:
    """Turn the edit form's inputs into a change, with one message per wrong field."""
    result = FormResult(RulesChange())
    for toggle, number, key in FORM_SETTINGS:
        enabled = _flag(inputs, toggle, result.errors)
        if enabled is None:
            continue
        wanted = _wanted(key, enabled, str(inputs.get(number, "")), rules, result.errors)
        if wanted is not INVALID:
            result.change.values[key] = wanted
    pin_enabled = _flag(inputs, "default_pin_enabled", result.errors)
    result.change.default_pin_enabled = pin_enabled
    result.generate_pin = str(inputs.get("generate_pin", "false")).lower() == "true"
    _check_pin(str(inputs.get("new_pin", "") or "").strip(), pin_enabled, rules, result)
    return result


def _wanted(key: str, enabled: bool, raw: str, rules: VoicemailRules, errors: list[str]):
    """The value asked for: None (off), a number, or INVALID (a message was added)."""
    if not enabled:
        return None
    current = current_value(rules, key)
    if raw.strip() == str(current):
        return current  # unchanged: a value Control Hub set outside the PUT range stays allowed
    try:
        value = validate_value(key, raw)
    except ValueError as exc:
        errors.append(f"{exc}.")
        return INVALID
    return value


def _check_pin(pin: str, pin_enabled: bool | None, rules: VoicemailRules, result: FormResult) -> None:
    if pin and result.generate_pin:
        result.errors.append("Either type a new default PIN or ask for a generated one, not both.")
    elif pin and pin_enabled is False:
        result.errors.append("A new default PIN needs the default PIN turned on.")
    elif pin:
        reason = pin_policy.violation(pin, rules.pin_rules)
        if reason:
            result.errors.append(reason)
        else:
            result.change.new_pin = pin
    elif result.generate_pin and pin_enabled is False:
        result.errors.append("A generated default PIN needs the default PIN turned on.")


def parse_set(args: tuple[str, ...]) -> RulesChange:
    """``set <setting> <value|off>``; raise ValueError with the usage or the range when wrong."""
    if len(args) != 2:
        raise ValueError(SET_USAGE)
    setting, raw = args
    if setting == "default-pin":
        if raw == "off":
            return RulesChange(default_pin_enabled=False)
        raise ValueError("A default PIN is never accepted in a message: use `edit`, where the "
                         "form can also generate one and send it to you privately.")
    if setting not in ("expiry", "change-interval", "block-previous"):
        named = f" '{setting}'" if plausible_word(setting) else ""
        raise ValueError(f"I don't know the setting{named}. {SET_USAGE}")
    return RulesChange(values={setting: validate_value(setting, raw)})
