"""Builders for test inputs: settings, signed webhook envelopes."""

from __future__ import annotations

import json
import uuid

from bot.config import Settings, load_settings
from bot.webhook.signature import sign

SECRET = "test-webhook-secret-1234"
SECRET_KEY = "dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q="  # BOT_SECRET_KEY (a Fernet key)


def make_settings(tmp_path, **overrides) -> Settings:
    values = dict(
        _env_file=None,
        webex_bot_token="bot-token",
        webex_admin_token="admin-token",
        webex_webhook_secret=SECRET,
        database_url=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        public_url="http://127.0.0.1:9/",
        bot_secret_key=SECRET_KEY,
        watch_interval_seconds=0,  # off unless a test watches: its reads would count as calls
    )
    values.update(overrides)
    return load_settings(**values)


def envelope(resource: str = "messages", event: str = "created", data_id: str | None = None,
             **data) -> dict:
    """A webhook envelope in Webex's shape."""
    return {
        "id": "Y2lzY29zcGFyazovL3VzL1dFQkhPT0svdGVzdA",
        "name": "Voicemail Rules Bot messages/created",
        "resource": resource,
        "event": event,
        "orgId": "Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi9hY21l",
        "createdBy": "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9ib3Q",
        "appId": "Y2lzY29zcGFyazovL3VzL0FQUExJQ0FUSU9OL3Rlc3Q",
        "ownedBy": "creator",
        "status": "active",
        "created": "2026-11-22T08:00:00.000Z",
        "actorId": "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hbGljZQ",
        "data": {"id": data_id or str(uuid.uuid4()), "roomId": "room", "personId": "alice",
                 "created": "2026-11-22T08:00:00.000Z", **data},
    }


def signed(body: dict | bytes, secret: str = SECRET) -> tuple[bytes, dict]:
    """The raw bytes of ``body`` and the headers Webex would send with them."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return raw, {"Content-Type": "application/json", "X-Spark-Signature": sign(secret, raw)}
