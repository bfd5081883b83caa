"""Logging: text or JSON lines, and never a secret. Every configured secret is masked on output.

No logged value can forge a line: in the text format, control characters in the message (a
newline in a display name, a carriage return in typed text) are written as escapes (``\\n``), and
the lines of a traceback are indented, so every line that starts without a space starts a record.
JSON escapes them by itself.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

REDACTED = "[redacted]"
_CONTROLS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
CONTINUATION = "    "  # before every further line of a record (a traceback)


def escape_controls(text: str) -> str:
    """``text`` on one line: ``\\n``, ``\\r``, ``\\t``, else ``\\xNN`` / ``\\uNNNN``."""
    return _CONTROLS.sub(lambda m: _NAMED.get(m.group()) or (
        f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"),
        text)


class RedactingFormatter(logging.Formatter):
    """Formats a record, then masks every known secret value in the result (defence in depth)."""

    def __init__(self, *, secrets: list[str], as_json: bool):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)
        self._as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        if self._as_json:
            line = json.dumps({
                "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
                **({"exc": self.formatException(record.exc_info)} if record.exc_info else {}),
            })
        else:
            line = super().format(record)
            # The message is one line already (formatMessage); what follows it is a traceback.
            first, _, rest = line.partition("\n")
            if rest:
                line = first + "".join(f"\n{CONTINUATION}{escape_controls(part)}"
                                       for part in rest.split("\n"))
        for secret in self._secrets:
            line = line.replace(secret, REDACTED)
        return line

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


def configure(*, level: str, fmt: str, secrets: list[str]) -> None:
    """Send the bot's logs to stderr (gunicorn collects it) in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(secrets=secrets, as_json=fmt == "json"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_vmbot", False):
            root.removeHandler(existing)
    handler._vmbot = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries' chatter (the SDK logs its User-Agent on every client) stays out of INFO logs.
    for noisy in ("urllib3", "webexpythonsdk"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
