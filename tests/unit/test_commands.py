"""Command parsing: exact words, case-insensitive, mention stripped, closest suggestion."""

from __future__ import annotations

import pytest

from bot.chat.commands import Command, Unknown, message_text, parse

BOT_ID = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9ib3Q"


@pytest.mark.parametrize("text, expected", [
    ("show", Command("show")),
    ("SHOW", Command("show")),
    ("rules", Command("show")),
    ("set expiry 60", Command("set", ("expiry", "60"))),
    ("Set Change-Interval OFF", Command("set", ("change-interval", "off"))),
    ("history 10", Command("history", ("10",))),
    ("", Command("help")),
    ("  help  ", Command("help")),
])
def test_known_commands(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, suggestion", [
    ("shw", "show"), ("histroy", "history"), ("showme", "show"), ("unsubscrib", "unsubscribe"),
    ("xyzzy", None),
])
def test_unknown_words_name_the_closest_command(text, suggestion):
    result = parse(text)
    assert isinstance(result, Unknown) and result.suggestion == suggestion


def test_no_substring_matching():
    assert isinstance(parse("please show the rules"), Unknown)


def test_mention_is_stripped_from_html():
    message = {"text": "Voicemail Rules Bot show",
               "html": f'<p><spark-mention data-object-type="person" data-object-id="{BOT_ID}">'
                       f'Voicemail Rules Bot</spark-mention> show</p>'}
    assert message_text(message, BOT_ID, "Voicemail Rules Bot") == "show"


def test_mention_is_stripped_from_text_by_name():
    assert message_text({"text": "Voicemail Rules Bot set expiry 30"}, BOT_ID,
                        "Voicemail Rules Bot") == "set expiry 30"
    assert message_text({"text": "Voicemail edit"}, BOT_ID, "Voicemail Rules Bot") == "edit"


def test_other_mentions_are_kept_as_text():
    message = {"html": '<spark-mention data-object-type="person" data-object-id="other">Rita'
                       '</spark-mention> &amp; show'}
    assert message_text(message, BOT_ID, "Bot") == "Rita & show"
