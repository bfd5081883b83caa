"""Logging: text or JSON lines, and never a secret. Every configured secret is masked on output."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

REDACTED = "[redacted]"


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
        for secret in self._secrets:
            line = line.replace(secret, REDACTED)
        return line


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
