"""The rules domain and PIN policy: pure functions, with property-based cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import pin_policy
from bot.domain.rules import PinRules, RulesChange, VoicemailRules, build_patch, diff, validate_value
from bot.domain.vocabulary import PinWords

SEED = json.loads((Path(__file__).resolve().parents[2] / "emulator" / "seed.json").read_text())
RULES = VoicemailRules.from_api(SEED["voicemailRules"])
PIN_RULES = RULES.pin_rules


def test_rules_round_trip_the_api_shape():
    assert RULES.to_api() == SEED["voicemailRules"]


@pytest.mark.parametrize("key, raw, expected", [
    ("expiry", "14", ValueError), ("expiry", "15", 15), ("expiry", "100", 100),
    ("expiry", "101", ValueError), ("change-interval", "0", ValueError),
    ("change-interval", "1", 1), ("change-interval", "7", 7), ("change-interval", "8", ValueError),
    ("block-previous", "0", ValueError), ("block-previous", "1", 1),
    ("block-previous", "10", 10), ("block-previous", "11", ValueError),
    ("expiry", "off", None), ("expiry", " OFF ", None), ("expiry", "-3", ValueError),
    ("expiry", "1e2", ValueError), ("expiry", "", ValueError), ("expiry", "٣٠", ValueError),
])
def test_values_are_checked_against_the_put_page(key, raw, expected):
    if expected is ValueError:
        with pytest.raises(ValueError):
            validate_value(key, raw)
    else:
        assert validate_value(key, raw) == expected


def test_patch_holds_only_what_changes():
    change = RulesChange(values={"expiry": 100, "change-interval": 3, "block-previous": None})
    assert build_patch(RULES, change) == {"changePasscode": {"enabled": True, "numberOfDays": 3}}


def test_turning_off_sends_only_enabled_false():
    patch = build_patch(RULES, RulesChange(values={"expiry": None}))
    assert patch == {"expirePasscode": {"enabled": False}}
    assert [(c.before, c.after) for c in diff(RULES, patch)] == [("100 days", "off")]


def test_pin_is_never_shown_in_the_diff():
    patch = build_patch(RULES, RulesChange(new_pin="908172"))
    shown = " ".join(f"{c.label} {c.before} {c.after}" for c in diff(RULES, patch))
    assert "908172" not in shown and "hidden" not in shown
    assert [(c.label, c.before, c.after) for c in diff(RULES, patch, pin_words=PinWords.TYPED)] \
        == [("Default PIN", "current PIN", "new PIN (typed)")]


def test_turning_the_default_pin_on_again_keeps_the_pin_webex_holds():
    off = RULES.model_copy(update={"pin_rules": RULES.pin_rules.model_copy(
        update={"default_pin_enabled": False})})
    patch = build_patch(off, RulesChange(default_pin_enabled=True))
    assert [(c.label, c.before, c.after) for c in diff(off, patch)] == [
        ("Default PIN for new users", "off", "on"), ("Default PIN", "current PIN", "unchanged")]


@pytest.mark.parametrize("pin, broken", [
    ("12a456", "digits only"), ("１２３４５６", "digits only"), ("12345", "6 to 30 digits"),
    ("9" * 31, "6 to 30 digits"), ("902222", "repeats one digit"),
    ("901234", "ascending"), ("976543", "descending"), ("121212", "repeated pattern"),
    ("408408", "repeated pattern"), ("591212", "repeated pattern"),
])
def test_each_pin_rule_is_named(pin, broken):
    assert broken in pin_policy.violation(pin, PIN_RULES)


@pytest.mark.parametrize("pin", ["123544", "908172", "902228", "135792468"])
def test_pins_that_meet_the_rules(pin):
    assert pin_policy.violation(pin, PIN_RULES) is None


rule_sets = st.builds(
    lambda patterns, rep_on, rep_max, seq_on, asc, desc, low, extra: PinRules.model_validate({
        "blockRepeatedPatternsEnabled": patterns,
        "blockRepeatedDigits": {"enabled": rep_on, "max": rep_max},
        "blockContiguousSequences": {"enabled": seq_on, "numberOfAscendingDigits": asc,
                                     "numberOfDescendingDigits": desc},
        "length": {"min": low, "max": min(30, max(3, low + extra))},
        "defaultVoicemailPinEnabled": True}),
    st.booleans(), st.booleans(), st.integers(1, 6), st.booleans(), st.integers(2, 5),
    st.integers(2, 5), st.integers(2, 15), st.integers(0, 15))


@settings(max_examples=200)
@given(rule_sets)
def test_generated_pins_always_meet_the_rules(rules):
    pin = pin_policy.generate(rules)
    assert pin_policy.violation(pin, rules) is None
    assert rules.length.min <= len(pin) <= rules.length.max


@given(st.text(min_size=1, max_size=40))
def test_violation_never_crashes(pin):
    result = pin_policy.violation(pin, PIN_RULES)
    assert result is None or result.endswith(".")


def reference_is_valid(pin: str, rules: PinRules) -> bool:
    """An independent, brute-force reading of the same rules, for comparison."""
    if not pin or any(ch not in "0123456789" for ch in pin):
        return False
    if not rules.length.min <= len(pin) <= rules.length.max:
        return False
    windows = lambda size: [pin[i:i + size] for i in range(len(pin) - size + 1)]  # noqa: E731
    if rules.repeated_digits.enabled and any(
            len(set(w)) == 1 for w in windows(rules.repeated_digits.max + 1)):
        return False
    if rules.sequences.enabled:
        for size, step in ((rules.sequences.ascending + 1, 1),
                           (rules.sequences.descending + 1, -1)):
            if any(all(int(b) - int(a) == step for a, b in zip(w, w[1:], strict=False))
                   for w in windows(size)):
                return False
    if rules.block_repeated_patterns:
        for size in range(2, len(pin) // 2 + 1):
            if any(pin[i:i + size] == pin[i + size:i + 2 * size] for i in range(len(pin))
                   if i + 2 * size <= len(pin)):
                return False
    return True


@settings(max_examples=500)
@given(rule_sets, st.text(alphabet="0123456789", min_size=1, max_size=16))
def test_pin_checker_agrees_with_the_reference(rules, pin):
    assert (pin_policy.violation(pin, rules) is None) == reference_is_valid(pin, rules)


@pytest.mark.parametrize("pin", ["22888", "121212", "408408", "012345", "987654"])
def test_the_reference_pages_examples_are_refused(pin):
    assert pin_policy.violation(pin, PIN_RULES) is not None
    assert not reference_is_valid(pin, PIN_RULES)
