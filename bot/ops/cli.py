"""Operator commands: ``flask --app app webhooks sync|status`` and ``flask --app app db upgrade``."""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from webexpythonsdk import ApiError

from bot.ops.preflight import check_command
from bot.storage import store
from bot.webex import clients, webhooks

log = logging.getLogger(__name__)
webhooks_cli = AppGroup("webhooks", help="Register and inspect the bot's Webex webhooks.")
db_cli = AppGroup("db", help="Manage the bot's database schema.")
secrets_cli = AppGroup("secrets", help="Manage the secrets the bot keeps encrypted at rest.")


def register(app: Flask) -> None:
    app.cli.add_command(webhooks_cli)
    app.cli.add_command(db_cli)
    app.cli.add_command(secrets_cli)
    app.cli.add_command(worker)
    app.cli.add_command(check_command)
    app.cli.add_command(watch)
    from bot.ops.notify_cli import notify_cli
    from bot.ops.onboarding import admin_cli
    from bot.ops.orgs_cli import orgs_cli

    app.cli.add_command(admin_cli)
    app.cli.add_command(orgs_cli)
    app.cli.add_command(notify_cli)


def _settings():
    return current_app.extensions["vmbot.settings"]


@webhooks_cli.command("sync")
def webhooks_sync() -> None:
    """Create, update or re-activate the two webhooks for PUBLIC_URL (idempotent)."""
    settings = _settings()
    if not settings.webhook_target_url:
        raise click.ClickException("PUBLIC_URL is required to register webhooks")
    try:
        lines = webhooks.sync(clients.bot_api(settings), target_url=settings.webhook_target_url,
                                      secret=settings.webex_webhook_secret.get_secret_value())
    except ApiError as exc:
        raise click.ClickException(f"Webex refused: {exc}") from None
    for line in lines:
        click.echo(line)


@webhooks_cli.command("status")
def webhooks_status() -> None:
    """Show each webhook the bot needs, its status and whether its secret is WEBEX_WEBHOOK_SECRET;
    exit 1 unless all are active, signed with that secret and pointing at PUBLIC_URL."""
    settings = _settings()
    try:
        states = webhooks.status(clients.bot_api(settings),
                                 secret=settings.webex_webhook_secret.get_secret_value())
    except ApiError as exc:
        raise click.ClickException(f"Webex refused: {exc}") from None
    healthy = True
    for state in states:
        target = state.target_url or "-"
        secret = {True: "secret ok", False: "secret DIFFERS from WEBEX_WEBHOOK_SECRET "
                                            "(its deliveries are refused)", None: ""}
        click.echo(f"{state.resource}/{state.event}: {state.status} {state.webhook_id or ''} "
                   f"{target} {secret[state.secret_matches]}".rstrip())
        wrong_target = settings.webhook_target_url and state.target_url not in (
            None, settings.webhook_target_url)
        healthy = healthy and state.healthy and not wrong_target
    if not healthy:
        click.echo("run `flask --app app webhooks sync` to fix them", err=True)
        raise SystemExit(1)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (also done once when gunicorn starts)."""
    store.upgrade(_settings().database_url)
    click.echo("database is up to date")


@secrets_cli.command("rotate")
def secrets_rotate() -> None:
    """Seal every stored secret (pending PINs, refreshed tokens) again with BOT_SECRET_KEY.

    Run it after moving the old key to BOT_SECRET_KEY_PREVIOUS and setting a new BOT_SECRET_KEY
    (every process restarted); then the old key can be dropped. Exit 1 if some secret could not
    be read with any configured key (it stays as it is).
    """
    from bot.storage.secret_box import SecretBox, reseal_all

    settings = _settings()
    if settings.bot_secret_key is None:
        raise click.ClickException("BOT_SECRET_KEY is not set: there is no key to rotate to")
    done = reseal_all(current_app.extensions["vmbot.store"], SecretBox.from_settings(settings))
    click.echo(f"{done.resealed} secrets sealed again with BOT_SECRET_KEY")
    if done.unreadable:
        click.echo(f"{done.unreadable} secrets could not be read with BOT_SECRET_KEY or "
                   "BOT_SECRET_KEY_PREVIOUS and were left as they are", err=True)
        raise SystemExit(1)


@click.command("worker")
def worker() -> None:
    """Process the inbox and run the periodic jobs, without serving HTTP (Procfile ``worker:``)."""
    background = current_app.extensions["vmbot.background"]
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    background.start()
    click.echo(f"worker {background.worker.owner} running; Ctrl-C stops it")
    stopping.wait()
    background.stop()


WATCHER_LEASE = "change-watcher"  # the watcher's lease (bot.jobs.watcher.LEASE)
# Longer than one round takes (a few Webex calls of at most 10 s, retried); handed back at its end.
ONE_ROUND = timedelta(minutes=5)


@click.command("watch")
@click.option("--once", is_flag=True,
              help="One round, then exit (for cron or a check by hand). It takes the watcher's "
                   "lease for the round and skips it, saying so, while another process holds it.")
def watch(once: bool) -> None:
    """Look for rule changes made outside the bot, each org once every WATCH_INTERVAL_SECONDS,
    as its own process (Procfile ``worker:``); with 0 the watcher is off and this refuses to start.

    It takes the same database lease as the watcher inside the web processes, so however many run,
    one change is announced once.
    """
    from bot.chat.services import build_services
    from bot.jobs import watcher as watching
    from bot.jobs.scheduler import run_paced
    from bot.storage.leases import Leases

    settings = _settings()
    interval = settings.watch_interval_seconds
    if not once and interval == 0:
        raise click.ClickException("WATCH_INTERVAL_SECONDS is 0, so the watcher is off: set it "
                                   "above 0, or run one round with --once")
    store = current_app.extensions["vmbot.store"]
    watcher = watching.Watcher(build_services(settings, store), store)
    leases, owner = Leases(store), f"watch:{os.getpid()}"
    if once:
        click.echo(_one_round(watcher, leases, owner))
        return
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    click.echo(f"watching every {interval} s; Ctrl-C stops it")
    run_paced(leases, WATCHER_LEASE, owner, watcher.step, stopping, lease=watching.LEASE_TTL,
              idle_seconds=watching.IDLE_SECONDS)
    watcher.stop()


def _one_round(watcher, leases, owner: str) -> str:
    """A round under the watcher's lease, or none while another process holds it."""
    if not leases.acquire(WATCHER_LEASE, owner, ONE_ROUND):
        return f"skipped: another process is watching (it holds the {WATCHER_LEASE} lease)"
    try:
        return watcher.check()
    finally:
        # Renewed for no time, the lease is free again: the scheduled watcher need not wait.
        leases.acquire(WATCHER_LEASE, owner, timedelta(0))
