"""The periodic admin token check, for a pair the bot got itself (``admin authorize`` or
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
    """One round; returns the problem announced, if one was."""
    settings = services.settings
    if settings.admin_token_configured:
        return None
    grants = AdminGrants(store, SecretBox.from_settings(settings))
    if grants.get() is None:
        return None  # not yet authorized: /healthz and check say so; nothing to announce
    try:
        services.admin.run(lambda token: token)  # refreshes ahead when due
    except (AdminTokenExpired, WebexCallError) as exc:
        log.warning("admin token check: %s", exc)
    grant = grants.get()
    if grant is None:
        return None
    problem = grant_problem(grant)
    if problem == grant.announced_problem or not grants.mark_announced(problem):
        return None
    if problem is None:
        return None  # solved (re-authorized): remembered, so that a new problem is told again
    text = f"The bot's admin access needs an operator: {problem}."
    for room_id in notify_rooms(services):
        try:
            services.messenger.post(Reply(text), room_id=room_id)
        except WebexCallError as exc:
            log.warning("could not tell %s about the admin token: %s", room_id, exc)
    return problem
