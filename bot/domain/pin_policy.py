"""Default voicemail PIN checks against the org's ``defaultVoicemailPinRules``, and generation.

Semantics follow Webex's own example: with ``max: 3`` repeated digits and 3 ascending/descending
digits, Control Hub tells admins "no digit repeated 4+ times in a row, no 4+ ascending or descending
digits", and the reference page's sample PIN 123544 is valid. So each number is the longest run
allowed. A repeated pattern is a group of two or more digits repeated back to back (1212, 408408).
"""

from __future__ import annotations

import re
import secrets

from bot.domain.rules import PinRules

_REPEATED_GROUP = re.compile(r"(\d{2,})\1")
GENERATED_MIN_LENGTH = 6


def _longest_run(pin: str, step: int) -> int:
    """Length of the longest run where each digit is the previous one plus ``step``."""
    longest = current = 1
    for previous, digit in zip(pin, pin[1:], strict=False):
        current = current + 1 if int(digit) - int(previous) == step else 1
        longest = max(longest, current)
    return longest


def violation(pin: str, rules: PinRules) -> str | None:
    """The first rule ``pin`` breaks, in words for the admin; None when it meets them all."""
    if not pin.isdigit() or not pin.isascii():
        return "The PIN must contain digits only."
    low, high = rules.length.min, rules.length.max
    if not low <= len(pin) <= high:
        return f"The PIN must be {low} to {high} digits long (it has {len(pin)})."
    if rules.repeated_digits.enabled and _longest_run(pin, 0) > rules.repeated_digits.max:
        return (f"The PIN repeats one digit more than {rules.repeated_digits.max} times in a row.")
    if rules.sequences.enabled:
        if _longest_run(pin, 1) > rules.sequences.ascending:
            return f"The PIN has more than {rules.sequences.ascending} ascending digits in a row."
        if _longest_run(pin, -1) > rules.sequences.descending:
            return f"The PIN has more than {rules.sequences.descending} descending digits in a row."
    if rules.block_repeated_patterns and _REPEATED_GROUP.search(pin):
        return "The PIN contains a repeated pattern (such as 1212 or 408408)."
    return None


def generate(rules: PinRules) -> str:
    """A random PIN (from ``secrets``) that meets ``rules``; at least 6 digits when rules allow."""
    length = min(max(rules.length.min, GENERATED_MIN_LENGTH), rules.length.max)
    for _attempt in range(10_000):
        pin = "".join(secrets.choice("0123456789") for _ in range(length))
        if violation(pin, rules) is None:
            return pin
    raise ValueError("No PIN can meet these PIN rules.")
