"""Routing as data: each text command and each card action names its permission and handler,
and whether the handler reads the rules.

Text is routed by its exact first word, card submits by their ``action`` key. A name listed twice
is an error at start-up, not a silent override.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from bot.chat import connect, handlers, notify_spaces
from bot.domain.authorization import Permission


class Route(NamedTuple):
    permission: Permission
    handler: Callable
    # The handler reads the rules: the read may start with the requester lookup, to be used
    # only once the requester is authorized (see dispatch.py).
    reads_rules: bool = False


READS_RULES = True


def _table(*routes: tuple) -> dict[str, Route]:
    table: dict[str, Route] = {}
    for name, *route in routes:
        if name in table:
            raise ValueError(f"route {name!r} is defined twice")
        table[name] = Route(*route)
    return table


TEXT_COMMANDS = _table(
    ("help", Permission.ANYONE, handlers.help_),
    ("whoami", Permission.ANYONE, handlers.whoami),
    ("show", Permission.VIEW, handlers.show, READS_RULES),
    ("history", Permission.VIEW, handlers.history),
    ("subscribe", Permission.VIEW, handlers.subscribe),
    ("unsubscribe", Permission.VIEW, handlers.unsubscribe),
    ("edit", Permission.CHANGE, handlers.edit, READS_RULES),
    ("set", Permission.CHANGE, handlers.set_, READS_RULES),
    ("undo", Permission.CHANGE, handlers.undo, READS_RULES),
    ("notify", Permission.CHANGE, notify_spaces.notify),
    ("connect", Permission.ANY_ORG, connect.connect),  # of an org not connected, too
    ("disconnect", Permission.CHANGE, connect.disconnect),
)

CARD_ACTIONS = _table(
    ("show", Permission.VIEW, lambda ctx: handlers.show(ctx), READS_RULES),
    ("history", Permission.VIEW, lambda ctx: handlers.history(ctx)),
    ("edit", Permission.CHANGE, lambda ctx: handlers.edit(ctx), READS_RULES),
    ("review", Permission.CHANGE, handlers.review, READS_RULES),
    ("confirm", Permission.CHANGE, handlers.confirm),  # reads them itself, after a fresh role check
    ("cancel", Permission.ANYONE, handlers.cancel),
    ("cancel_edit", Permission.CHANGE, handlers.cancel_edit),  # deletes the form: not anyone's
    ("disconnect_confirm", Permission.CHANGE, connect.confirm_disconnect),  # checks the role again
    ("disconnect_cancel", Permission.CHANGE, connect.cancel_disconnect),
)
