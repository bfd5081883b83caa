"""The periodic admin token check, for each org's pair the bot got itself (``admin authorize`` or
``admin service-app``): refresh it ahead of its expiry even when nobody uses the bot, and tell the
notification spaces, once, when an operator must act (a refused refresh, a refresh token about to
expire). ``/healthz``, ``check`` and ``admin status`` say the same from the database. It runs in
one place at a time.
"""

from __future__ import annotations

import logging

from bot.chat.context import Services
from bot.chat.notify_spaces import notify_rooms
from bot.storage.admin_grants import AdminGrants
from bot.storage.secret_box import SecretBox
from bot.storage.store import Store
from bot.webex.admin_token import AdminTokenExpired, grant_problem
from bot.webex.errors import WebexCallError
from bot.webex.messenger import Reply

log = logging.getLogger(__name__)


def check_admin_token(services: Services, store: Store) -> str | None:
    """One round over every stored pair; returns the last problem announced, if one was."""
    grants = AdminGrants(store, SecretBox.from_settings(services.settings))
    announced = None
    for org_id in grants.orgs():
        announced = _check_org(services, grants, org_id) or announced
    return announced


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
