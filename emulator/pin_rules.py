"""Webex's default voicemail PIN rules as pure functions: why a PIN is refused, or None.

The numbers in ``defaultVoicemailPinRules`` are read as the longest run *allowed*:
``blockRepeatedDigits.max: 3`` refuses 2222 but allows 222, and ``numberOfAscendingDigits: 3``
refuses 1234 but allows 123. That is how Control Hub words the same policy ("no digit repeated 4+
times in a row, no 4+ ascending or descending digits") and it keeps the PUT page's own sample PIN,
123544, valid under the sample rules. A repeated pattern is a group of two or more digits repeated
back to back anywhere in the PIN (1212, 121212, 408408, 551212).
"""

from __future__ import annotations

import re

_REPEATED_GROUP = re.compile(r"(\d{2,})\1")


def longest_run(pin: str, step: int) -> int:
    """The longest stretch of ``pin`` where each digit is the previous one plus ``step``."""
    if not pin:
        return 0
    longest = current = 1
    for previous, digit in zip(pin, pin[1:], strict=False):
        current = current + 1 if int(digit) - int(previous) == step else 1
        longest = max(longest, current)
    return longest


def has_repeated_pattern(pin: str) -> bool:
    """True when a group of 2+ digits is immediately repeated (1212, 408408)."""
    return _REPEATED_GROUP.search(pin) is not None


def pin_problem(pin: object, rules: dict) -> str | None:
    """The first rule of ``rules`` (``defaultVoicemailPinRules``) that ``pin`` breaks, or None."""
    if not isinstance(pin, str) or not pin or not (pin.isascii() and pin.isdigit()):
        return "The passcode must contain digits only."
    length = rules.get("length") or {}
    low, high = length.get("min", 2), length.get("max", 30)
    if len(pin) < low:
        return f"The passcode must be at least {low} digits long."
    if len(pin) > high:
        return f"The passcode must be at most {high} digits long."
    repeated = rules.get("blockRepeatedDigits") or {}
    if repeated.get("enabled") and longest_run(pin, 0) > repeated.get("max", 3):
        return (f"The passcode must not repeat a digit more than {repeated.get('max', 3)} "
                "times in a row.")
    sequences = rules.get("blockContiguousSequences") or {}
    if sequences.get("enabled"):
        ascending = sequences.get("numberOfAscendingDigits", 3)
        descending = sequences.get("numberOfDescendingDigits", 3)
        if longest_run(pin, 1) > ascending:
            return f"The passcode must not contain more than {ascending} ascending digits in a row."
        if longest_run(pin, -1) > descending:
            return (f"The passcode must not contain more than {descending} descending digits "
                    "in a row.")
    if rules.get("blockRepeatedPatternsEnabled") and has_repeated_pattern(pin):
        return "The passcode must not contain a repeated pattern (such as 1212 or 408408)."
    return None
