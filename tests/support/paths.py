"""Paths the tests read: the repository, the card examples, the emulator's seed."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.views.card_data import moment

REPO = Path(__file__).resolve().parents[2]
CARD_EXAMPLES_FILE = Path(__file__).with_name("card_examples.json")


def card_examples() -> dict[str, Any]:
    """Example data for every card template (the browser and contract tests render each)."""
    return json.loads(CARD_EXAMPLES_FILE.read_text(), object_hook=_moment)


def _moment(value: dict[str, Any]) -> Any:
    """``{"$moment": "<RFC 3339>"}`` is a moment as the bot gives it to a card (``moment``)."""
    if "$moment" not in value:
        return value
    return moment(datetime.fromisoformat(value["$moment"]), with_date=value.get("withDate", True))
