"""Edit-form and ``set`` input, checked on the server: card-side validation is only a convenience.

Each wrong field gets its own message; nothing is changed until every field is right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.domain import pin_policy
from bot.domain.rules import (
    SETTINGS,
    FieldChange,
    RulesChange,
    VoicemailRules,
    build_patch,
    diff,
    validate_value,
)

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


@dataclass(frozen=True)
class Shown:
    """What an edit form showed: each setting's toggle and number, and the default PIN's toggle.

    The form carries it in its submit data (``encode``), so that on review only the fields the
    admin changed are a request, and a form filled from rules that have changed since is noticed
    instead of silently putting the old values back.
    """

    settings: tuple[tuple[str, bool, int], ...]  # (setting key, enabled, number shown)
    default_pin_enabled: bool

    @classmethod
    def of(cls, rules: VoicemailRules) -> Shown:
        sections = {"expiry": (rules.expire.enabled, rules.expire.days),
                    "change-interval": (rules.change.enabled, rules.change.days),
                    "block-previous": (rules.block_previous.enabled, rules.block_previous.count)}
        return cls(tuple((key, *sections[key]) for key in SETTINGS),
                   rules.pin_rules.default_pin_enabled)

    def encode(self) -> str:
        """``expiry=on:100;change-interval=on:1;block-previous=off:10;default-pin=on``"""
        parts = [f"{key}={_ON_OFF[enabled]}:{number}" for key, enabled, number in self.settings]
        return ";".join([*parts, f"default-pin={_ON_OFF[self.default_pin_enabled]}"])

    @classmethod
    def decode(cls, text: Any) -> Shown | None:
        """What ``encode`` wrote; None for anything else (a form of an older bot, a forged value)."""
        match = _SHOWN.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            return None
        settings = tuple((key, match[f"{name}_on"] == "on", int(match[f"{name}_number"]))
                         for key, name in zip(SETTINGS, _SHOWN_NAMES, strict=True))
        return cls(settings, match["pin_on"] == "on")

    def value(self, key: str) -> int | None:
        """The setting as the form showed it: its number when on, None when off."""
        return next(number if enabled else None
                    for shown_key, enabled, number in self.settings if shown_key == key)

    def reads_as(self, rules: VoicemailRules) -> bool:
        """Do the rules still say what the form showed? (A number shown beside a toggle that is
        off, in both, does not count: nothing applies it.)"""
        now = Shown.of(rules)
        return all(self.value(key) == now.value(key) for key in SETTINGS) and \
            self.default_pin_enabled == now.default_pin_enabled


_ON_OFF = {True: "on", False: "off"}
_SHOWN_NAMES = ("expiry", "change", "previous")
_SHOWN = re.compile(";".join(
    [rf"{key}=(?P<{name}_on>on|off):(?P<{name}_number>[0-9]{{1,4}})"
     for key, name in zip(SETTINGS, _SHOWN_NAMES, strict=True)]
    + ["default-pin=(?P<pin_on>on|off)"]))


def changed_since(shown: Shown, rules: VoicemailRules) -> list[FieldChange]:
    """What changed in ``rules`` since a form showed ``shown``, before → after."""
    api = rules.to_api()
    for key, enabled, number in shown.settings:
        setting = SETTINGS[key]
        api[setting.section] = {"enabled": enabled, setting.number_field: number}
    api["defaultVoicemailPinRules"] = dict(api["defaultVoicemailPinRules"],
                                           defaultVoicemailPinEnabled=shown.default_pin_enabled)
    as_shown = VoicemailRules.from_api(api)
    now = RulesChange(values={key: Shown.of(rules).value(key) for key in SETTINGS},
                      default_pin_enabled=rules.pin_rules.default_pin_enabled)
    return diff(as_shown, build_patch(as_shown, now))


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


def parse_form(inputs: dict[str, Any], rules: VoicemailRules, shown: Shown) -> FormResult:
    """Turn the edit form's inputs into a change, with one message per wrong field. Only the
    fields that differ from what the form ``shown`` are asked for: a field the admin left alone
    is not a request to put back the value the form showed."""
    result = FormResult(RulesChange())
    for (toggle, number, key), (_, shown_on, shown_number) in zip(FORM_SETTINGS, shown.settings,
                                                                  strict=True):
        enabled = _flag(inputs, toggle, result.errors)
        raw = str(inputs.get(number, "")).strip()
        if enabled is None or (enabled == shown_on and (not enabled or raw == str(shown_number))):
            continue  # refused above, or left as the form showed it
        wanted = _wanted(key, enabled, raw, result.errors)
        if wanted is not INVALID:
            result.change.values[key] = wanted
    pin_enabled = _flag(inputs, "default_pin_enabled", result.errors)
    if pin_enabled is not None and pin_enabled != shown.default_pin_enabled:
        result.change.default_pin_enabled = pin_enabled
    result.generate_pin = str(inputs.get("generate_pin", "false")).lower() == "true"
    _check_pin(str(inputs.get("new_pin", "") or "").strip(), pin_enabled, rules, result)
    return result


def _wanted(key: str, enabled: bool, raw: str, errors: list[str]):
    """The value asked for: None (off), a number, or INVALID (a message was added)."""
    if not enabled:
        return None
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


def set_command(patch: dict[str, Any]) -> str | None:
    """The one ``set`` command that asks for ``patch`` (a PUT body without a PIN), if there is one."""
    if patch == {"defaultVoicemailPinEnabled": False}:
        return "set default-pin off"
    sections = {setting.section: setting for setting in SETTINGS.values()}
    if len(patch) != 1 or next(iter(patch)) not in sections:
        return None
    section, body = next(iter(patch.items()))
    setting = sections[section]
    return f"set {setting.key} {body[setting.number_field] if body.get('enabled') else 'off'}"
