"""The edit form's input, relative to what the form showed; the `set` that asks for a patch."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.forms import Shown, changed_since, parse_form, parse_set, set_command
from bot.domain.rules import SETTINGS, RulesChange, VoicemailRules, build_patch
from tests.support.paths import REPO

SEED = VoicemailRules.from_api(json.loads((REPO / "emulator" / "seed.json").read_text())
                               ["voicemailRules"])


def with_sections(rules: VoicemailRules, **sections) -> VoicemailRules:
    return VoicemailRules.from_api(dict(rules.to_api(), **sections))


def inputs_as_shown(rules: VoicemailRules, **changes: str) -> dict[str, str]:
    """What a client sends for an untouched form filled from ``rules``, then ``changes``."""
    inputs = {"expiry_enabled": str(rules.expire.enabled).lower(),
              "expiry_days": str(rules.expire.days),
              "change_enabled": str(rules.change.enabled).lower(),
              "change_days": str(rules.change.days),
              "previous_enabled": str(rules.block_previous.enabled).lower(),
              "previous_count": str(rules.block_previous.count),
              "default_pin_enabled": str(rules.pin_rules.default_pin_enabled).lower(),
              "new_pin": "", "generate_pin": "false"}
    return inputs | changes


days = st.builds(lambda on, n: {"enabled": on, "numberOfDays": n}, st.booleans(),
                 st.integers(1, 180))
previous = st.builds(lambda on, n: {"enabled": on, "numberOfPasscodes": n}, st.booleans(),
                     st.integers(1, 10))
any_rules = st.builds(
    lambda expire, change, prev, pin_on: with_sections(
        SEED, expirePasscode=expire, changePasscode=change, blockPreviousPasscodes=prev,
        defaultVoicemailPinRules=dict(SEED.to_api()["defaultVoicemailPinRules"],
                                      defaultVoicemailPinEnabled=pin_on)),
    days, days, previous, st.booleans())


@given(any_rules)
def test_what_a_form_showed_reads_back_from_its_submit(rules):
    shown = Shown.of(rules)
    assert Shown.decode(shown.encode()) == shown and shown.reads_as(rules)


@given(any_rules)
def test_an_untouched_form_asks_for_nothing(rules):
    result = parse_form(inputs_as_shown(rules), rules, Shown.of(rules))
    assert result.errors == [] and result.change.is_empty()


@pytest.mark.parametrize("text", [None, "", 42, "expiry=on:100", "expiry=on:100;x" * 3,
                                  Shown.of(SEED).encode() + ";", Shown.of(SEED).encode().upper()])
def test_anything_else_is_not_what_a_form_showed(text):
    assert Shown.decode(text) is None


def test_only_the_fields_changed_are_asked_for():
    result = parse_form(inputs_as_shown(SEED, change_days="3", previous_enabled="true"), SEED,
                        Shown.of(SEED))
    assert result.change.values == {"change-interval": 3, "block-previous": 10}


def test_a_number_beside_a_toggle_left_off_asks_for_nothing():
    result = parse_form(inputs_as_shown(SEED, previous_count="4"), SEED, Shown.of(SEED))
    assert result.change.is_empty()


def test_what_changed_since_a_form_is_said_before_and_after():
    now = with_sections(SEED, expirePasscode={"enabled": True, "numberOfDays": 60},
                        blockPreviousPasscodes={"enabled": False, "numberOfPasscodes": 4})
    shown = Shown.of(SEED)
    assert not shown.reads_as(now)  # the expiry; a number beside "off" alone would not count
    assert [(c.label, c.before, c.after) for c in changed_since(shown, now)] == [
        ("Passcode expiry", "100 days", "60 days")]


@pytest.mark.parametrize("command", ["set expiry 40", "set expiry off", "set change-interval 7",
                                     "set block-previous 2", "set default-pin off"])
def test_the_set_that_asks_for_a_patch_is_the_set_that_made_it(command):
    rules = with_sections(SEED, blockPreviousPasscodes={"enabled": True, "numberOfPasscodes": 10})
    patch = build_patch(rules, parse_set(tuple(command.split()[1:])))
    assert set_command(patch) == command


@pytest.mark.parametrize("change", [
    RulesChange(values={"expiry": 40, "change-interval": 3}),
    RulesChange(default_pin_enabled=True),
])
def test_a_patch_no_single_set_asks_for_has_none(change):
    rules = with_sections(SEED, defaultVoicemailPinRules=dict(
        SEED.to_api()["defaultVoicemailPinRules"], defaultVoicemailPinEnabled=False))
    assert set_command(build_patch(rules, change)) is None


def test_every_setting_has_a_form_field():
    assert [key for key, *_ in Shown.of(SEED).settings] == list(SETTINGS)
