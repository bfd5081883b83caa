"""Configured secrets never reach a log line, in either format."""

from __future__ import annotations

import json
import logging

import pytest

from bot.ops.logs import RedactingFormatter


@pytest.mark.parametrize("as_json", [False, True])
def test_secrets_are_masked(as_json):
    formatter = RedactingFormatter(secrets=["bot-token-123456", "whsecret-abcdef"], as_json=as_json)
    record = logging.LogRecord("bot", logging.INFO, __file__, 1,
                               "calling with %s and %s", ("bot-token-123456", "whsecret-abcdef"),
                               None)
    line = formatter.format(record)
    assert "bot-token-123456" not in line and "whsecret-abcdef" not in line
    assert line.count("[redacted]") == 2


FORGED = "2026-12-02 07:00:00,000 ERROR bot.forged: every passcode leaked"


@pytest.mark.parametrize("value", [f"Fay\n{FORGED}", f"Fay\r\n{FORGED}", f"Fay\r{FORGED}",
                                   f"Fay\u2028{FORGED}", f"Fay\x85{FORGED}", "Fay\x1b[2Jclear"])
def test_a_logged_value_cannot_forge_a_line_in_the_text_format(value):
    formatter = RedactingFormatter(secrets=["bot-token-123456"], as_json=False)
    record = logging.LogRecord("bot.jobs.watcher", logging.INFO, __file__, 1,
                               "changed by %s with bot-token-123456", (value,), None)
    line = formatter.format(record)
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert "\u2028" not in line and "\x85" not in line
    assert line.endswith(" with [redacted]") and "Fay\\" in line


def test_a_traceback_stays_inside_its_record():
    formatter = RedactingFormatter(secrets=[], as_json=False)
    try:
        raise ValueError(f"bad name Fay\n{FORGED}")
    except ValueError:
        import sys

        record = logging.LogRecord("bot", logging.ERROR, __file__, 1, "failed", (),
                                   sys.exc_info())
    lines = formatter.format(record).splitlines()
    assert lines[0].endswith("bot: failed") and len(lines) > 2
    assert all(line.startswith(" ") for line in lines[1:])  # a reader can tell where records start


def test_json_lines_stay_single_lines():
    formatter = RedactingFormatter(secrets=[], as_json=True)
    record = logging.LogRecord("bot", logging.INFO, __file__, 1, "by %s", (f"Fay\n{FORGED}",), None)
    line = formatter.format(record)
    assert "\n" not in line and json.loads(line)["message"] == f"by Fay\n{FORGED}"
