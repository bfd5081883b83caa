"""Tell everyone who should know about a change of one org's rules: that org's notification
spaces (``notify here``, and ``NOTIFY_ROOM_IDS`` for the home org) and subscribers, once each;
never anyone of another org.

For a change made through the bot, the space where it was made already has the result in its
thread, so it is skipped; so is a subscriber who made the change in their 1:1 space. A subscriber
is told only while they may still view the rules (their roles are looked up again, uncached: a
role revoked since they subscribed stops the rules data reaching them). A PIN appears only as "changed".
A post that fails is retried with backoff (a rare duplicate beats a space that never hears of it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.chat.context import Conversation, OrgScope, Services
from bot.chat.retries import deliver
from bot.domain.authorization import Permission, decide
from bot.domain.rules import FieldChange
from bot.domain.vocabulary import RoomType
from bot.storage.audit import Subscriptions
from bot.views import cards
from bot.views.card_data import notification_card
from bot.webex.admin import AdminAccess
from bot.webex.admin_token import AdminTokenExpired
from bot.webex.directory import Directory
from bot.webex.errors import WebexCallError
from bot.webex.messenger import Messenger, Reply

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notifier:
    """Posts a change's notification card to the notify spaces and the subscribers."""

    messenger: Messenger
    directory: Directory  # a subscriber's roles, looked up afresh
    admin: AdminAccess  # the org whose rules changed
    subscriptions: Subscriptions
    notify_room_ids: tuple[str, ...]

    @classmethod
    def of(cls, services: Services, org: OrgScope) -> Notifier:
        return cls(messenger=services.messenger, directory=services.directory,
                   admin=org.admin, subscriptions=org.subscriptions,
                   notify_room_ids=org.notify_room_ids)

    def change_through_bot(self, conversation: Conversation,
                           changes: list[FieldChange]) -> list[str]:
        """A change made through the bot; return the targets reached (room ids / person ids)."""
        asker, where = conversation.requester, conversation.where
        direct = where.room_type == RoomType.DIRECT
        return self.broadcast(
            who=f"{asker.display_name} ({asker.email}) changed them",
            where="through the bot in a 1:1 space" if direct else "through the bot in a group space",
            changes=changes, skip_room=where.room_id, skip_person=asker.person_id if direct else None)

    def broadcast(self, *, who: str, where: str, changes: list[FieldChange],
                  when: datetime | None = None, skip_room: str | None = None,
                  skip_person: str | None = None) -> list[str]:
        """Post the notification card to every notify space and subscriber, skipping the given
        ones; return the targets reached."""
        card = cards.render("notification", notification_card(
            who=who, where=where, when=when or datetime.now(UTC), changes=changes))
        reached = []
        # NOTIFY_ROOM_IDS, then the spaces chosen in Webex (`notify here`), each once
        for room_id in dict.fromkeys((*self.notify_room_ids, *self.subscriptions.spaces())):
            if room_id != skip_room and self._send(card, room_id=room_id):
                reached.append(room_id)
        for person_id in dict.fromkeys(self.subscriptions.people()):
            if person_id != skip_person and self._may_still_view(person_id) \
                    and self._send(card, person_id=person_id):
                reached.append(person_id)
        return reached

    def _may_still_view(self, person_id: str) -> bool:
        """A subscriber's roles may have changed since they subscribed (looked up afresh: this
        sends rules data, and changes are rare); when unsure, tell nothing."""
        try:
            person = self.directory.requester(person_id, fresh=True)
            allowed = decide(person, Permission.VIEW,
                             managed_org_id=self.admin.managed_org_id()).allowed
        except (WebexCallError, AdminTokenExpired) as exc:
            log.warning("subscriber %s not notified: their role could not be checked (%s)",
                        person_id, exc)
            return False
        if not allowed:
            log.info("subscriber %s not notified: they may no longer view the rules", person_id)
        return allowed

    def _send(self, card: cards.RenderedCard, **target: str) -> bool:
        """Post, retried with backoff: every notification is delivered at least once if Webex
        lets it through in time (failures logged by ``deliver``)."""
        return deliver(f"the notification to {target}",
                       lambda: self.messenger.post(Reply.of(card), **target)) is not None
