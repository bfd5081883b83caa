"""What the bot says about connecting and disconnecting an org (the chat and the OAuth callback
say the same): the org's name from Webex is shown as text."""

from __future__ import annotations

from datetime import datetime

from bot.storage.org_data import OrgHoldings
from bot.views.card_data import moment
from bot.views.markup import Markup

WHAT_IT_DOES = ("Its Full, Read-only, User and Location Administrators can now see the voicemail "
                "passcode rules (`show`, `history`, `subscribe`), and its Full Administrators can "
                "change them (`edit`, `set`, `undo`) and choose notification spaces "
                "(`notify here`); changes made in Control Hub are announced too. Type `help` to "
                "see what you may do; `disconnect` undoes this.")


def connected(org_name: str | None) -> Markup:
    """The announcement of a newly connected org, in the 1:1 space of whoever connected it."""
    named = Markup(" ({name})").format(name=org_name) if org_name else Markup("")
    return Markup("**Your organization{named} is now connected to this bot.** ").format(
        named=named) + Markup(WHAT_IT_DOES)


def disconnect_card(*, org_name: str | None, requester: str, request_id: str,
                    expires_at: datetime, holdings: OrgHoldings) -> dict:
    """The confirmation card of ``disconnect``: exactly what would be forgotten."""
    return {"org": org_name or "your organization", "requester": requester,
            "requestId": request_id, "expiresAt": moment(expires_at, with_date=False),
            "forgotten": [{"item": item} for item in forgotten_items(holdings)]}


def forgotten_items(holdings: OrgHoldings) -> list[str]:
    """What a disconnect forgets, item by item (with none of the org's names or values)."""
    return [
        "the bot's access to it (the stored token pair)" if holdings.token_pair
        else "no stored access (none is stored)",
        f"{_count(holdings.pending_changes, 'change request')} (pending or closed)",
        f"the history of changes ({_count(holdings.history_entries, 'entry', 'entries')})",
        f"{_count(holdings.subscribers, 'subscriber')} to change messages",
        f"{_count(holdings.notification_spaces, 'notification space')} (chosen with notify here)",
        "the change watcher's copy of its rules" if holdings.rules_snapshot
        else "no copy of its rules (the change watcher has none yet)",
    ]


def _count(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else words or word + 's'}"
