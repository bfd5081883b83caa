"""Webex-style resource ids: base64 of ``ciscospark://us/<TYPE>/<uuid>`` without padding."""

import base64
import uuid
from datetime import UTC

_SEED_NAMESPACE = uuid.UUID("6f1c2a4e-8d1b-4f7e-9a57-5b0c3e2d9f10")


def webex_id(kind: str, raw: str | None = None) -> str:
    """Return a Webex id for a resource of ``kind`` (``PEOPLE``, ``ROOM``, ``MESSAGE``...)."""
    raw = raw or str(uuid.uuid4())
    text = f"ciscospark://us/{kind}/{raw}".encode()
    return base64.b64encode(text).decode().rstrip("=")


def seeded_id(kind: str, key: str) -> str:
    """A stable id for a seeded resource, so the same seed always gives the same ids."""
    return webex_id(kind, str(uuid.uuid5(_SEED_NAMESPACE, f"{kind}:{key}")))


def tracking_id() -> str:
    """A tracking id in the shape Webex uses for every answer."""
    return f"ROUTER_{uuid.uuid4()}".upper().replace("ROUTER-", "ROUTER_")


def now_iso() -> str:
    """The current time as Webex writes it: ISO 8601, milliseconds, ``Z``."""
    from datetime import datetime

    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
