"""The words the bot stores, compares and shows: a change request's status, a change's kind, a
space's type, and the one name of each setting. ``StrEnum``: each member equals the string it
always was, so database rows, logs and JSON are unchanged (no migration)."""

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
    OUTSIDE = "outside"  # found by the change watcher: made in Control Hub or through the API


class RoomType(StrEnum):
    """A Webex space: 1:1 with the bot, or a group space (answers go in the command's thread)."""

    DIRECT = "direct"
    GROUP = "group"

    @classmethod
    def of(cls, webex_room_type: str | None) -> RoomType:
        """Webex's ``roomType``; anything but ``group`` is answered as a 1:1 space."""
        return cls.GROUP if webex_room_type == cls.GROUP else cls.DIRECT


class SettingName(StrEnum):
    """The one name of each setting, on every surface: the rules card, the edit form, the
    confirmation, the result, notifications, history and the outside-change notice."""

    EXPIRY = "Passcode expiry"
    CHANGE_INTERVAL = "Minimum days between changes"
    BLOCK_PREVIOUS = "Previous passcodes that cannot be reused"
    DEFAULT_PIN_ENABLED = "Default PIN for new users"
    DEFAULT_PIN = "Default PIN"


class PinWords(StrEnum):
    """How a default PIN shows: never its digits, never "hidden"."""

    CURRENT = "current PIN"  # before a new one: the bot never knows the PIN Webex holds
    UNCHANGED = "unchanged"  # turned on again without a new one: the one Webex holds is kept
    TYPED = "new PIN (typed)"
    GENERATED = "new PIN (generated, sent to you privately)"
    TO_GENERATE = "new PIN (generated, sent to you privately once applied)"
    NOT_SENT = "new PIN (generated; it could not be sent to you)"
    SET = "new PIN (not shown)"  # what everyone else reads: notifications, history
