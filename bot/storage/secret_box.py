"""Secrets at rest (a pending PIN, a refreshed token): Fernet, keyed by ``BOT_SECRET_KEY``.

Secrets are sealed with ``BOT_SECRET_KEY`` and read with it or any key of
``BOT_SECRET_KEY_PREVIOUS`` (``MultiFernet``), so a key can be rotated without losing pending PINs
or stored tokens: set the new key, move the old one to ``BOT_SECRET_KEY_PREVIOUS``, run
``flask --app app secrets rotate`` (or let pending changes expire), then drop the old key.

Only the emulator demo may run without ``BOT_SECRET_KEY`` (``Settings`` refuses it elsewhere); its
key is then derived from ``WEBEX_WEBHOOK_SECRET`` with HKDF. That derived key is also kept for
reading, so secrets sealed before ``BOT_SECRET_KEY`` was set stay readable until re-sealed.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select

from bot.config import Settings
from bot.storage.models import AdminGrant, OAuthState, PendingChange, StoredSecret
from bot.storage.store import Store


class SecretBox:
    def __init__(self, key: bytes, *previous: bytes):
        """Seal with ``key``; open with ``key`` or any of ``previous``."""
        self._fernet = MultiFernet([Fernet(k) for k in (key, *previous)])

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        derived = derived_key(settings)
        if settings.bot_secret_key is None:
            return cls(derived)
        previous = [key.get_secret_value().encode() for key in settings.bot_secret_key_previous]
        return cls(settings.bot_secret_key.get_secret_value().encode(), *previous, derived)

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, ciphertext: str) -> str | None:
        """The plaintext, or None when it was sealed with a key this box does not hold."""
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            return None

    def reseal(self, ciphertext: str) -> str | None:
        """``ciphertext`` sealed again with the current key; None when no key here opens it."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken:
            return None


def derived_key(settings: Settings) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"vmrules-bot",
                   info=b"secrets at rest").derive(
        settings.webex_webhook_secret.get_secret_value().encode())
    return base64.urlsafe_b64encode(derived)


@dataclass(frozen=True)
class Resealed:
    resealed: int
    unreadable: int  # sealed with a key that is no longer configured: left as they are


def reseal_all(store: Store, box: SecretBox) -> Resealed:
    """Seal every stored secret (pending PINs, stored tokens) again with the current key."""
    resealed = unreadable = 0
    with store.session() as session, session.begin():
        pins = session.scalars(select(PendingChange)
                               .where(PendingChange.pin_ciphertext.is_not(None))).all()
        tokens = session.scalars(select(StoredSecret)).all()
        grants = session.scalars(select(AdminGrant)).all()
        states = session.scalars(select(OAuthState)).all()
        for row, column in [*((pin, "pin_ciphertext") for pin in pins),
                            *((token, "ciphertext") for token in tokens),
                            *((grant, name) for grant in grants
                              for name in ("access_ciphertext", "refresh_ciphertext")),
                            *((state, "verifier_ciphertext") for state in states)]:
            fresh = box.reseal(getattr(row, column))
            if fresh is None:
                unreadable += 1
            else:
                setattr(row, column, fresh)
                resealed += 1
    return Resealed(resealed, unreadable)
