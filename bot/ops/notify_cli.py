"""``flask --app app notify list``: the notification spaces, with their titles."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from bot.storage.audit import every_notify_space
from bot.webex.clients import bot_api, sdk_call
from bot.webex.errors import WebexCallError

notify_cli = AppGroup("notify", help="The spaces told of every change.")


@notify_cli.command("list")
def notify_list() -> None:
    """One line per notification space: its title (as Webex has it now), its id, and where it
    comes from and for which org (NOTIFY_ROOM_IDS: the home org's; `notify here`: by whom, and the
    org of whoever typed it)."""
    settings = current_app.extensions["vmbot.settings"]
    chosen = every_notify_space(current_app.extensions["vmbot.store"])
    api = bot_api(settings)

    def title(room_id: str, known: str = "") -> str:
        try:
            return sdk_call(api, lambda a: a.rooms.get(room_id)).title or known
        except WebexCallError as exc:
            return f"{known or '?'} (Webex: {exc})"

    shown = set()
    for room_id in dict.fromkeys(settings.notify_room_ids):
        shown.add(room_id)
        click.echo(f"{title(room_id)}\t{room_id}\tNOTIFY_ROOM_IDS\tthe home org")
    for space in chosen:
        if space.room_id in shown:
            continue
        click.echo(f"{title(space.room_id, space.title)}\t{space.room_id}\t`notify here` by "
                   f"{space.added_by_name} on {space.added_at:%Y-%m-%d}\torg {space.org_id}")
    if not settings.notify_room_ids and not chosen:
        click.echo("no notification spaces: a Full Administrator types `notify here` in one, or "
                   "set NOTIFY_ROOM_IDS")
