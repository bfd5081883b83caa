"""Wiring: build every service the handlers use from the settings, once per process; and learn,
once per process, what every event needs from Webex."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bot.chat.context import Services
from bot.config import Settings
from bot.storage.secret_box import SecretBox
from bot.storage.store import Store
from bot.webex.clients import bot_api
from bot.webex.directory import Directory
from bot.webex.messenger import Messenger
from bot.webex.orgs import OrgRegistry
from bot.webex.rules_client import RulesClient

log = logging.getLogger(__name__)
# Independent Webex calls made at the same time (the rules while the requester is looked up...):
# at most a few per inbox thread. Threads start only when needed, so none exists before a fork.
PARALLEL_CALLS = 16


def build_services(settings: Settings, store: Store) -> Services:
    box = SecretBox.from_settings(settings)
    parallel = ThreadPoolExecutor(max_workers=PARALLEL_CALLS, thread_name_prefix="webex-call")
    orgs = OrgRegistry(settings, store, box,
                       RulesClient(base_url=settings.webex_base_url, org_id=settings.webex_org_id,
                                   timeout=settings.webex_timeout_seconds,
                                   single_try_pool=settings.watch_concurrency))
    messenger = Messenger(bot_api(settings))
    return Services(settings=settings, messenger=messenger, orgs=orgs,
                    directory=Directory(orgs, messenger.api, parallel=parallel,
                                        first_org_from_the_chat=_first_org_from_the_chat(settings)),
                    store=store,
                    box=box, parallel=parallel)


def _first_org_from_the_chat(settings: Settings) -> bool:
    """May the very first org connect itself from the chat? Only when the chat can connect orgs
    and ``WEBEX_ORG_ID`` names the home org: without it, the org of the only stored
    authorization becomes the home org for good (``NOTIFY_ROOM_IDS`` are its), so the first
    org is the operator's to connect, never a stranger's who typed `connect` first."""
    return settings.connect_method is not None and settings.webex_org_id is not None


def warm_up(services: Services) -> None:
    """Before the first event, read at once what every event needs and what stays put: the bot's
    own identity, the home org (unless ``WEBEX_ORG_ID`` names it; rows from before orgs were kept
    apart are given to it) and the role names (of the only org, when only one is connected).

    Run once per process at start (in the background). A read that fails is logged and made
    again when an event first needs it.
    """
    reads: dict[str, Callable[[], object]] = {
             "the bot's identity": services.messenger.me,
             "the home org": services.orgs.home_org_id,
             "the admin role names": services.directory.load_role_names}
    started = {what: services.parallel.submit(read) for what, read in reads.items()}
    for what, future in started.items():
        try:
            future.result()
        except Exception as exc:  # noqa: BLE001 - read again on first use
            log.warning("start-up: could not read %s yet (%s: %s)", what,
                        exc.__class__.__name__, exc)
