"""Values from outside are text: escaped for Webex markdown and card TextBlocks, in one place
(``bot.views.markup``), by default in every template; the bot's own markup opts in."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.chat.commands import Unknown, parse
from bot.domain import forms
from bot.views import cards
from bot.views.markup import Markup, escape
from bot.webex.messenger import Reply
from tests.support.rendering import card_markdown, live_markup, render, visible

HOSTILE = "Fay <@all> [open](https://evil.example/x) **B**"
# Text people type: letters, digits, punctuation (markdown's and HTML's), spaces, line breaks.
PIECES = [*"ab1. \n\t<>&@:/#*_-+=`~[]()!|\\\"'{}", "<@all>", "https://x.io", "**", "www.", "&amp;"]
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60) | \
    st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


def one_line(text: str) -> str:
    """What a value reads as: control characters are spaces, ends trimmed."""
    return "".join(" " if ord(c) < 32 or ord(c) == 127 or c in "\x85\u2028\u2029" else c
                   for c in text).strip()


@given(TEXT)
def test_escaped_text_has_no_live_mention_link_or_markup(text):
    escaped = escape(text)
    assert live_markup(escaped) == []
    assert "<" not in escaped and "<a " not in render(escaped)
    # In a message's list item and after words, as the templates place values.
    assert live_markup(f"- Who: {escaped}") == [] and "<a " not in render(f"x {escaped} y")


@given(TEXT)
def test_escaped_text_renders_back_to_the_same_visible_text(text):
    expected = " ".join(one_line(text).split())
    assert visible(escape(text)) == expected
    assert visible(f"- Who: {escape(text)}") == f"Who: {expected}".strip()


@given(TEXT)
def test_markup_passes_and_formats_its_values_as_text(text):
    assert escape(Markup(text)) == text
    formatted = Markup("Hello `x`, {name}!").format(name=text)
    assert formatted.startswith("Hello `x`, ") and isinstance(formatted, Markup)
    assert live_markup(formatted.removeprefix("Hello `x`, ")) == []


def test_the_name_from_the_issue():
    escaped = escape(HOSTILE)
    assert "<@all>" not in escaped and "](" not in escaped.replace("\\](", "")
    assert visible(escaped) == HOSTILE
    assert escape("Alice Fuller") == "Alice Fuller"  # ordinary names are unchanged
    assert escape("Anne-Marie O'Neil") == "Anne-Marie O'Neil"


def test_every_card_escapes_its_values_by_default():
    data = {"name": HOSTILE, "email": "fay@evil.example", "org": "<@all>", "roles": "_x_",
            "may": "[a](https://evil.example)"}
    rendered = cards.render("whoami", data)
    for text in [rendered.markdown, *card_markdown(rendered.content)]:
        assert live_markup(text) == [], text
    assert HOSTILE in visible(rendered.markdown)
    assert any(visible(t) == HOSTILE for t in card_markdown(rendered.content))


def test_the_bots_own_markup_is_kept_and_other_properties_are_untouched():
    rendered = cards.render("error", {
        "title": "Oops", "message": Markup("Start again with `edit`."), "hasTrackingId": True,
        "trackingId": "ROUTER_1.2", "canRetry": True, "retryTitle": "Confirm again",
        "retryAction": "confirm", "changeId": "id_with_[brackets]"})
    assert "Start again with `edit`." in rendered.markdown
    assert rendered.content["actions"][0]["data"]["changeId"] == "id_with_[brackets]"
    assert rendered.content["actions"][0]["title"] == "Confirm again"
    assert html.unescape("ROUTER_1.2") in visible(rendered.markdown)


def test_a_reply_is_text_unless_it_is_markup():
    assert Reply(f"Only {HOSTILE} may confirm.").markdown == f"Only {escape(HOSTILE)} may confirm."
    assert Reply(Markup("Type `help`.")).markdown == "Type `help`."


@pytest.mark.parametrize("typed", ["583920", "58-39", "1234a", "pin:583920", "x" * 40, "ünïcode",
                                   "<@all>", "show*"])
def test_an_unknown_word_is_repeated_only_when_it_is_a_plausible_command_word(typed):
    assert parse(typed) == Unknown(None, None)


@pytest.mark.parametrize("typed, suggestion", [("shw", "show"), ("histroy", "history"),
                                               ("xyzzy", None), ("set-up", "set")])
def test_a_plausible_word_is_kept_with_its_suggestion(typed, suggestion):
    assert parse(typed) == Unknown(typed, suggestion)


@pytest.mark.parametrize("setting", ["583920", "expiry583920", "<@all>"])
def test_set_with_an_unknown_setting_does_not_repeat_it_unless_it_is_a_word(setting):
    with pytest.raises(ValueError) as refused:
        forms.parse_set((setting, "off"))
    assert setting not in str(refused.value) and "583920" not in str(refused.value)
    with pytest.raises(ValueError, match="the setting 'expirey'"):
        forms.parse_set(("expirey", "off"))


def test_the_bots_own_code_spans_stay_code():
    rendered = cards.render("help", {"intro": "You can:", "canView": True, "canChange": False,
                                     "commands": [{"usage": Markup("set expiry <15-100|off>"),
                                                   "description": "days"}]})
    assert "- `set expiry <15-100|off>`: days" in rendered.markdown
