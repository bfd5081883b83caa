"""The words the bot stores and compares: a change request's status, a change's kind, a space's
type. ``StrEnum``: each member equals the string it always was, so database rows, logs and JSON
are unchanged (no migration)."""

from __future__ import annotations

from enum import StrEnum


class ChangeStatus(StrEnum):
    """Where a change request stands (``pending_changes.status``)."""

    PENDING = "pending"  # waiting for its requester's Confirm or Cancel
    APPLYING = "applying"  # claimed by one Confirm (or the watcher): single use
    UNKNOWN = "unknown"  # the PUT went unanswered and the rules could not tell: Webex may have it
    APPLIED = "applied"
    ALREADY = "already"  # the rules already read as asked: nothing was sent
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"  # the rules changed after the request: nothing applied
    INTERRUPTED = "interrupted"  # the process applying it died
    FAILED = "failed"  # Webex refused it, or its PIN can no longer be read
    # Unknown, a new PIN alone (never served, so reading the rules cannot tell), and expired: its
    # PIN is erased, and its requester told that it may or may not have been set.
    UNDETERMINED = "undetermined"


# A repeated press on a request in one of these is told quietly what became of it (not an error).
ANSWERED = frozenset({ChangeStatus.APPLIED, ChangeStatus.APPLYING, ChangeStatus.CANCELLED,
                      ChangeStatus.ALREADY})


class ChangeKind(StrEnum):
    CHANGE = "change"
    UNDO = "undo"


class RoomType(StrEnum):
    """A Webex space: 1:1 with the bot, or a group space (answers go in the command's thread)."""

    DIRECT = "direct"
    GROUP = "group"

    @classmethod
    def of(cls, webex_room_type: str | None) -> RoomType:
        """Webex's ``roomType``; anything but ``group`` is answered as a 1:1 space."""
        return cls.GROUP if webex_room_type == cls.GROUP else cls.DIRECT
