"""The periodic webhook check: report each webhook's status, re-activate disabled ones, tell people.

Webex disables a webhook after 100 failed deliveries in five minutes and never re-enables it, so a
bot that was down for a while would stay deaf without this. It runs in one place at a time.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime

from bot.chat.context import Services
from bot.chat.notify_spaces import every_notify_room
from bot.storage.reports import save_report
from bot.storage.store import Store
from bot.webex.clients import sdk_call
from bot.webex.errors import WebexCallError
from bot.webex.messenger import Reply
from bot.webex.webhooks import reactivate, status

log = logging.getLogger(__name__)
REPORT = "webhooks"


def check_webhooks(services: Services, store: Store) -> list[str]:
    """One round; returns the ids of the webhooks re-activated."""
    api = services.messenger.api
    secret = services.settings.webex_webhook_secret.get_secret_value()
    states = sdk_call(api, lambda a: status(a, secret=secret))
    revived = sdk_call(api, lambda a: reactivate(a, states, secret=secret))
    for state in revived:
        text = (f"Webex had disabled the bot's {state.resource}/{state.event} webhook "
                f"(deliveries kept failing); it was re-activated at "
                f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}. Messages sent while it was "
                "off did not reach the bot.")
        log.warning("webhook %s %s/%s was inactive and is re-activated", state.webhook_id,
                    state.resource, state.event)
        for room_id in every_notify_room(services):
            try:
                services.messenger.post(Reply(text), room_id=room_id)
            except WebexCallError as exc:
                log.warning("could not tell %s about the webhook: %s", room_id, exc)
    if revived:
        states = sdk_call(api, lambda a: status(a, secret=secret))
    for state in states:
        if state.secret_matches is False:
            log.error("webhook %s %s/%s is signed with a secret other than WEBEX_WEBHOOK_SECRET: "
                      "its deliveries are refused; run `flask --app app webhooks sync`",
                      state.webhook_id, state.resource, state.event)
    save_report(store, REPORT, {"webhooks": [asdict(s) for s in states]})
    return [s.webhook_id for s in revived if s.webhook_id]  # reactivate revives only known ids
