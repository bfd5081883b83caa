"""Webhook signatures: ``X-Spark-Signature`` is the hex HMAC-SHA1 of the raw body, keyed with the secret."""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, body: bytes) -> str:
    """The signature Webex sends for ``body``."""
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def is_valid(secret: str, body: bytes, signature: str | None) -> bool:
    """True when ``signature`` matches ``body``; compared in constant time, over the raw bytes."""
    # A header is any Latin-1 text, and compare_digest raises TypeError on non-ASCII strings: such a
    # header cannot be hex, so it is simply a wrong signature (401, not 500).
    if not signature or not signature.isascii():
        return False
    return hmac.compare_digest(sign(secret, body), signature.strip().lower())
