"""Configured secrets never reach a log line, in either format."""

from __future__ import annotations

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
