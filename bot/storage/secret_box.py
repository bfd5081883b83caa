"""Secrets at rest (a pending PIN, a refreshed token): Fernet, keyed by ``BOT_SECRET_KEY``.

Without ``BOT_SECRET_KEY`` the key is derived from ``WEBEX_WEBHOOK_SECRET`` with HKDF, so that every
worker and instance of one deployment shares it without another setting to manage.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.config import Settings


class SecretBox:
    def __init__(self, key: bytes):
        self._fernet = Fernet(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        if settings.bot_secret_key is not None:
            return cls(settings.bot_secret_key.get_secret_value().encode())
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"vmrules-bot",
                       info=b"secrets at rest").derive(
            settings.webex_webhook_secret.get_secret_value().encode())
        return cls(base64.urlsafe_b64encode(derived))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, ciphertext: str) -> str | None:
        """The plaintext, or None when it was sealed with another key."""
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            return None
