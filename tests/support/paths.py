"""Paths the tests read: the repository, the card examples, the emulator's seed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CARD_EXAMPLES_FILE = Path(__file__).with_name("card_examples.json")


def card_examples() -> dict[str, Any]:
    """Example data for every card template (the browser and contract tests render each)."""
    return json.loads(CARD_EXAMPLES_FILE.read_text())
