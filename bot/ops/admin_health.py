"""``/healthz``'s ``components.admin_token``: the admin access of every connected org at once.

Load balancers read ``/healthz``, and a deployment may serve a thousand orgs: this is one query
over the stored pairs as kept in clear (none is opened) and never a Webex call. Without
``OPS_TOKEN`` anyone who reaches the port reads it, so, like the watcher's component, it holds
counts and dates only, never an org's id or name: ``admin status`` and ``orgs list`` say which
org needs what.

An org's problem is what ``admin status`` calls one (``stored_problem``): a refused refresh, or
a refresh token about to expire. The settings' token (``WEBEX_ADMIN_TOKEN``) counts as one
connected org, the home org; only ``check`` can try it, since that takes a Webex call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.storage.admin_grants import AdminGrants, GrantState
from bot.storage.secret_box import SecretBox
from bot.storage.store import Store
from bot.webex.admin_token import REFRESH_TOKEN_WARNING, AdminNotAuthorized, stored_problem

SETTINGS = "settings"
WHICH = ("`flask --app app admin status` (or `flask --app app orgs list`) says which, and what to "
         "run")


def admin_token_health(settings: Settings, store: Store) -> dict[str, Any]:
    """Every connected org's admin access, counted: how many, by source, how many need an
    operator, and the soonest expiry dates of the stored pairs."""
    try:
        states = AdminGrants(store, SecretBox.from_settings(settings)).states()
    except SQLAlchemyError as exc:
        return {"ok": False, "orgs": None, "source": None,
                "problem": f"the stored authorizations cannot be read ({exc.__class__.__name__}): "
                           "run `flask --app app db upgrade`"}
    states = [s for s in states if not _served_by_settings(settings, s)]
    by_settings = [SETTINGS] if settings.admin_token_configured else []
    sources = Counter(by_settings + [s.kind for s in states])
    orgs = sum(sources.values())
    if not orgs:
        return {"ok": False, "orgs": 0, "source": None, "problem": str(AdminNotAuthorized())}
    now = datetime.now(UTC)
    troubled = [s for s in states if stored_problem(s.problem, s.kind, s.refresh_expires_at, now)]
    body: dict[str, Any] = {
        "ok": not troubled, "orgs": orgs, "orgs_with_problem": len(troubled),
        "source": next(iter(sources)) if len(sources) == 1 else "several",
        "sources": dict(sources),
        "access_expires_at": _soonest(s.access_expires_at for s in states),
        "refresh_expires_at": _soonest(s.refresh_expires_at for s in states)}
    if troubled:
        body["problem"] = _problem(troubled, orgs, now)
    return body


def _served_by_settings(settings: Settings, state: GrantState) -> bool:
    """A pair stored for the org ``WEBEX_ADMIN_TOKEN`` serves (named by ``WEBEX_ORG_ID``) is not
    used: that org is counted once, as the settings'. Without ``WEBEX_ORG_ID`` the token's org
    is known only to Webex, so such a pair is counted as an org of its own, as ``admin status``
    lists it."""
    return settings.admin_token_configured and state.org_id == settings.webex_org_id


def _soonest(moments: Iterable[datetime | None]) -> str | None:
    known = [moment for moment in moments if moment is not None]
    return min(known).isoformat() if known else None


def _problem(troubled: list[GrantState], orgs: int, now: datetime) -> str:
    """With one org connected, its problem as ``admin status`` says it (a single-org deployment
    sees what to run); with several, how many and of which kind, naming none."""
    if orgs == 1:
        only = troubled[0]
        return stored_problem(only.problem, only.kind, only.refresh_expires_at, now) or ""
    refused = sum(bool(s.problem) for s in troubled)  # recorded: Webex refused a refresh
    expiring = len(troubled) - refused
    kinds = [f"{refused} refused refresh(es)" if refused else "",
             f"{expiring} refresh token(s) expiring within {REFRESH_TOKEN_WARNING.days} days"
             if expiring else ""]
    return (f"{len(troubled)} of {orgs} connected orgs need an operator "
            f"({', '.join(kind for kind in kinds if kind)}): {WHICH}")
