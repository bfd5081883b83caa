"""Routing as data: each text command and each card action names its permission and handler.

Text is routed by its exact first word, card submits by their ``action`` key. A name listed twice
is an error at start-up, not a silent override.
"""

from __future__ import annotations

from typing import Callable

from . import handlers
from .authorization import Permission

Route = tuple[Permission, Callable]


def _table(*routes: tuple[str, Permission, Callable]) -> dict[str, Route]:
    table: dict[str, Route] = {}
    for name, permission, handler in routes:
        if name in table:
            raise ValueError(f"route {name!r} is defined twice")
        table[name] = (permission, handler)
    return table


TEXT_COMMANDS = _table(
    ("help", Permission.ANYONE, handlers.help_),
    ("whoami", Permission.ANYONE, handlers.whoami),
    ("show", Permission.VIEW, handlers.show),
    ("history", Permission.VIEW, handlers.history),
    ("subscribe", Permission.VIEW, handlers.subscribe),
    ("unsubscribe", Permission.VIEW, handlers.unsubscribe),
    ("edit", Permission.CHANGE, handlers.edit),
    ("set", Permission.CHANGE, handlers.set_),
    ("undo", Permission.CHANGE, handlers.undo),
)

CARD_ACTIONS = _table(
    ("show", Permission.VIEW, lambda ctx: handlers.show(ctx)),
    ("history", Permission.VIEW, lambda ctx: handlers.history(ctx)),
    ("edit", Permission.CHANGE, lambda ctx: handlers.edit(ctx)),
    ("review", Permission.CHANGE, handlers.review),
    ("confirm", Permission.CHANGE, handlers.confirm),
    ("cancel", Permission.ANYONE, handlers.cancel),
    ("cancel_edit", Permission.ANYONE, handlers.cancel_edit),
)
