"""The voicemail rules domain: the model Webex returns, the changes an admin may ask for, the diff.

Pure code: no HTTP, no Flask. Ranges come from Webex's "Update Voicemail Rules" page (the PUT);
reading accepts whatever the GET page allows (expiry up to 180 days, set in Control Hub).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.vocabulary import PinWords, SettingName

# The PUT page's ranges: what the bot may send.
EXPIRY_DAYS = (15, 100)
CHANGE_INTERVAL_DAYS = (1, 7)
PREVIOUS_PASSCODES = (1, 10)


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow", frozen=True)


class RepeatedDigits(_Model):
    enabled: bool = False
    max: int = Field(default=3, ge=1, le=6)


class ContiguousSequences(_Model):
    enabled: bool = False
    ascending: int = Field(default=3, ge=2, le=5, alias="numberOfAscendingDigits")
    descending: int = Field(default=3, ge=2, le=5, alias="numberOfDescendingDigits")


class PinLength(_Model):
    min: int = Field(default=6, ge=2, le=15)
    max: int = Field(default=30, ge=3, le=30)


class PinRules(_Model):
    """``defaultVoicemailPinRules``: read-only in the API, and what a new default PIN must meet."""

    block_repeated_patterns: bool = Field(default=False, alias="blockRepeatedPatternsEnabled")
    repeated_digits: RepeatedDigits = Field(default_factory=RepeatedDigits,
                                            alias="blockRepeatedDigits")
    sequences: ContiguousSequences = Field(default_factory=ContiguousSequences,
                                           alias="blockContiguousSequences")
    length: PinLength = Field(default_factory=PinLength)
    default_pin_enabled: bool = Field(default=False, alias="defaultVoicemailPinEnabled")


class DaysSetting(_Model):
    enabled: bool = False
    days: int = Field(alias="numberOfDays")


class PreviousPasscodes(_Model):
    enabled: bool = False
    count: int = Field(alias="numberOfPasscodes")


class VoicemailRules(_Model):
    """The rules as ``GET /telephony/config/voicemail/rules`` returns them."""

    pin_rules: PinRules = Field(alias="defaultVoicemailPinRules")
    expire: DaysSetting = Field(alias="expirePasscode")
    change: DaysSetting = Field(alias="changePasscode")
    block_previous: PreviousPasscodes = Field(alias="blockPreviousPasscodes")

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> VoicemailRules:
        return cls.model_validate(data)

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


@dataclass(frozen=True)
class Setting:
    """One changeable setting: ``None`` for "off", a number for "on with this value"."""

    key: str
    label: str
    section: str
    number_field: str
    bounds: tuple[int, int]
    unit: str


SETTINGS = {
    "expiry": Setting("expiry", SettingName.EXPIRY, "expirePasscode", "numberOfDays",
                      EXPIRY_DAYS, "days"),
    "change-interval": Setting("change-interval", SettingName.CHANGE_INTERVAL,
                               "changePasscode", "numberOfDays", CHANGE_INTERVAL_DAYS, "days"),
    "block-previous": Setting("block-previous", SettingName.BLOCK_PREVIOUS,
                              "blockPreviousPasscodes", "numberOfPasscodes", PREVIOUS_PASSCODES,
                              "passcodes"),
}


def current_value(rules: VoicemailRules, key: str) -> int | None:
    """The setting's value as the admin thinks of it: its number when enabled, else None (off)."""
    sections: dict[str, DaysSetting | PreviousPasscodes] = {
        "expiry": rules.expire, "change-interval": rules.change,
        "block-previous": rules.block_previous}
    section = sections[key]
    if not section.enabled:
        return None
    return section.days if isinstance(section, DaysSetting) else section.count


@dataclass
class RulesChange:
    """What an admin asked for. Keys absent from ``values`` stay as they are."""

    values: dict[str, int | None] = field(default_factory=dict)  # setting key -> number or None
    default_pin_enabled: bool | None = None
    new_pin: str | None = None  # never logged, never shown

    def is_empty(self) -> bool:
        return not self.values and self.default_pin_enabled is None and self.new_pin is None


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str
    after: str


def describe_value(key: str, value: int | None) -> str:
    """Words an admin understands, e.g. "100 days" or "off"."""
    if value is None:
        return "off"
    unit = SETTINGS[key].unit
    return f"{value} {unit[:-1] if value == 1 else unit}"


def build_patch(rules: VoicemailRules, change: RulesChange) -> dict[str, Any]:
    """The PUT body: only the sections that really change. Empty when nothing would change.

    Turning a setting off sends only ``enabled: false``, so that a value set in Control Hub outside
    the PUT's range (an expiry of 150 days, say) does not make Webex refuse the whole change.
    """
    patch: dict[str, Any] = {}
    for key, wanted in change.values.items():
        if wanted == current_value(rules, key):
            continue
        setting = SETTINGS[key]
        patch[setting.section] = ({"enabled": False} if wanted is None
                                  else {"enabled": True, setting.number_field: wanted})
    if change.default_pin_enabled is not None and \
            change.default_pin_enabled != rules.pin_rules.default_pin_enabled:
        patch["defaultVoicemailPinEnabled"] = change.default_pin_enabled
    if change.new_pin is not None:
        patch["defaultVoicemailPin"] = change.new_pin
        patch["defaultVoicemailPinEnabled"] = True
    return patch


def diff(rules: VoicemailRules, patch: dict[str, Any], *,
         pin_words: PinWords = PinWords.SET) -> list[FieldChange]:
    """Field, before and after for each change in ``patch``; a new PIN only ever as ``pin_words``
    (what the reader may know of it), never its digits."""
    changes = []
    for key, setting in SETTINGS.items():
        if setting.section in patch:
            section = patch[setting.section]
            after = section.get(setting.number_field) if section["enabled"] else None
            changes.append(FieldChange(setting.label, describe_value(key, current_value(rules, key)),
                                       describe_value(key, after)))
    enabling = patch.get("defaultVoicemailPinEnabled")
    if enabling is not None and enabling != rules.pin_rules.default_pin_enabled:
        changes.append(FieldChange(SettingName.DEFAULT_PIN_ENABLED,
                                   _on_off(rules.pin_rules.default_pin_enabled), _on_off(enabling)))
        if enabling and "defaultVoicemailPin" not in patch:  # the PIN Webex holds comes back
            changes.append(FieldChange(SettingName.DEFAULT_PIN, PinWords.CURRENT,
                                       PinWords.UNCHANGED))
    if "defaultVoicemailPin" in patch:
        changes.append(FieldChange(SettingName.DEFAULT_PIN, PinWords.CURRENT, pin_words))
    return changes


def setting_changes(before: VoicemailRules, after: VoicemailRules) -> list[FieldChange]:
    """The changeable settings that differ between two readings, in the words of ``diff``
    ("60 days → 90 days"): how a change made outside the bot is told."""
    changes = []
    for key, setting in SETTINGS.items():
        old, new = current_value(before, key), current_value(after, key)
        if old != new:
            changes.append(FieldChange(setting.label, describe_value(key, old),
                                       describe_value(key, new)))
    old_pin, new_pin = before.pin_rules.default_pin_enabled, after.pin_rules.default_pin_enabled
    if old_pin != new_pin:
        changes.append(FieldChange(SettingName.DEFAULT_PIN_ENABLED, _on_off(old_pin),
                                   _on_off(new_pin)))
    return changes


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def validate_value(key: str, raw: str) -> int | None:
    """Parse ``raw`` (a number or "off") for setting ``key``; raise ValueError saying what is allowed."""
    setting = SETTINGS[key]
    text = raw.strip().lower()
    if text in ("off", "none", "disable", "disabled"):
        return None
    low, high = setting.bounds
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{setting.label} must be a whole number from {low} to {high}, or off")
    value = int(text)
    if not low <= value <= high:
        raise OutOfRange(f"{setting.label} must be {low} to {high} {setting.unit} "
                         f"(you gave {value})")
    return value


class OutOfRange(ValueError):
    """A number read, but outside the range Webex's PUT takes."""
