"""The periodic admin token check, for each org's pair the bot got itself (``admin authorize`` or
``admin service-app``): refresh it ahead of its expiry even when nobody uses the bot, and tell the
notification spaces, once, when an operator must act (a refused refresh, a refresh token about to
expire). ``/healthz``, ``check`` and ``admin status`` say the same from the database. It runs in
one place at a time.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.chat.context import Services
from bot.chat.notify_spaces import notify_rooms
from bot.storage.admin_grants import AdminGrants, GrantState
from bot.storage.secret_box import SecretBox
from bot.storage.store import Store
from bot.webex.admin_token import (
    AdminTokenExpired,
    grant_problem,
    refresh_due_by,
    stored_problem,
)
from bot.webex.errors import WebexCallError
from bot.webex.messenger import Reply

log = logging.getLogger(__name__)


def check_admin_token(services: Services, store: Store) -> str | None:
    """One round over every stored pair; returns the last problem announced, if one was.

    It runs every few seconds in the process that also answers people, over every connected org:
    a pair with no refresh due and nothing new to tell is left sealed (one query for all of
    them), so a thousand orgs cost one read, not thousands of openings and lookups."""
    grants = AdminGrants(store, SecretBox.from_settings(services.settings))
    announced = None
    now = datetime.now(UTC)
    for state in grants.states():
        if _needs_a_look(state, now):
            announced = _check_org(services, grants, state.org_id) or announced
    return announced


def _needs_a_look(state: GrantState, now: datetime) -> bool:
    """A refresh is due, or the problem an operator must hear of is not the one last told."""
    problem = stored_problem(state.problem, state.kind, state.refresh_expires_at, now)
    return (refresh_due_by(state.access_expires_at, state.access_lifetime_seconds, now)
            or problem != state.announced_problem)


def _check_org(services: Services, grants: AdminGrants, org_id: str) -> str | None:
    """Refresh ``org_id``'s pair ahead when due; tell that org's notification spaces, once, of
    what an operator must do about it."""
    org = services.scope(org_id)
    if org is None or not services.orgs.served_by_grant(org_id) or grants.get(org_id) is None:
        return None  # the settings' token serves this org, or the pair cannot be opened
    try:
        org.admin.run(lambda token: token)  # refreshes ahead when due
    except (AdminTokenExpired, WebexCallError) as exc:
        log.warning("admin token check: %s", exc)
    grant = grants.get(org_id)
    if grant is None:
        return None
    problem = grant_problem(grant)
    if problem == grant.announced_problem or not grants.mark_announced(org_id, problem):
        return None
    if problem is None:
        return None  # solved (re-authorized): remembered, so that a new problem is told again
    text = f"The bot's admin access needs an operator: {problem}."
    for room_id in notify_rooms(org):
        try:
            services.messenger.post(Reply(text), room_id=room_id)
        except WebexCallError as exc:
            log.warning("could not tell %s about the admin token: %s", room_id, exc)
    return problem
