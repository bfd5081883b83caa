"""``flask --app app orgs list|connect|disconnect``: the operator's view of the connected orgs, and
the same connect and disconnect a Full Administrator has in the chat. Never a token."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from bot.config import Settings
from bot.domain.vocabulary import ChangeStatus
from bot.ops.onboarding import (
    connect_by_service_app,
    grant_lines,
    grants_of,
    home_by_settings,
    print_link,
    refuse_home_by_settings,
    require_client,
    when_text,
)
from bot.ops.preflight import decoded, org_label
from bot.storage.admin_grants import Grant
from bot.storage.models import PendingChange
from bot.storage.org_data import ChangeBeingApplied, forget_org, holdings
from bot.storage.snapshots import Snapshots
from bot.storage.store import Store
from bot.views.connecting import forgotten_items
from bot.webex import oauth
from bot.webex.admin_token import AdminTokenExpired, grant_problem
from bot.webex.connecting import ServiceApp
from bot.webex.errors import WebexCallError

orgs_cli = AppGroup("orgs", help="The organizations connected to this deployment.")
# The id Webex's API gives (what the bot keeps), not the uuid inside it that Control Hub shows.
ORG_ID_FORM = ("its id as Webex's API gives it (Y2lz..., in brackets in `orgs list`), not the "
               "uuid Control Hub shows")


def _context() -> tuple[Settings, Store]:
    return current_app.extensions["vmbot.settings"], current_app.extensions["vmbot.store"]


@orgs_cli.command("list")
def list_orgs() -> None:
    """Every connected org: id, name (when Webex said it), how it is connected, its tokens'
    expiry, its open change requests and the watcher's last read of its rules."""
    settings, store = _context()
    if settings.admin_token_configured:
        try:
            home = home_by_settings(settings, store) or ""
            shown = f"{org_label(home)} ({home})"
        except (WebexCallError, AdminTokenExpired) as exc:
            shown = f"not known ({exc})"
        click.echo(f"org: {shown}\nsource: WEBEX_ADMIN_TOKEN, the home org (`flask --app app "
                   "check` shows whose it is)")
    grants = grants_of(settings, store).every()
    if not grants and not settings.admin_token_configured:
        click.echo("no org is connected: a Full Administrator types `connect` to the bot, or run "
                   "`flask --app app orgs connect --org-id ...`")
    for grant in grants:
        click.echo("")
        for line in [*grant_lines(grant), *_activity(store, grant)]:
            click.echo(line)


def _not_kept(org_id: str) -> str:
    if "/ORGANIZATION/" not in decoded(org_id):  # Control Hub's uuid, say: no org is kept by it
        return f"no org is kept by the id {org_id!r}: --org-id takes {ORG_ID_FORM}"
    return f"org {org_label(org_id)} is not connected and nothing of it is kept: nothing to disconnect"


def _activity(store: Store, grant: Grant) -> list[str]:
    problem = grant_problem(grant)
    snapshot = Snapshots(store).read(grant.org_id)
    with store.session() as session:
        open_requests = session.scalar(select(func.count()).select_from(PendingChange).where(
            PendingChange.org_id == grant.org_id,
            PendingChange.status.in_((ChangeStatus.PENDING, ChangeStatus.APPLYING,
                                      ChangeStatus.UNKNOWN))))
    return [f"open change requests: {open_requests or 0}",
            "watcher: " + (f"last read the rules at {when_text(snapshot.seen_at)}" if snapshot
                           else "has not read the rules yet"),
            f"status: {'PROBLEM: ' + problem if problem else 'ok'}"]


@orgs_cli.command("connect")
@click.option("--org-id", required=True, help=f"The org to connect: {ORG_ID_FORM}.")
@click.option("--application-id", default=None,
              help="The Service App's id (default WEBEX_SERVICE_APP_ID); without one, the "
                   "Integration's authorization link for that org is printed.")
@click.option("--applications-token", envvar="WEBEX_APPLICATIONS_TOKEN", default=None,
              help="A token with spark:applications_token (default: the setting "
                   "WEBEX_APPLICATIONS_TOKEN, else asked).")
def connect(org_id: str, application_id: str | None, applications_token: str | None) -> None:
    """Connect an org: with the Service App (authorized in that org's Control Hub first), get
    and store its pair; with the Integration, print a link only a Full Administrator of that org
    can complete."""
    settings, store = _context()
    require_client(settings)
    application_id = application_id or settings.webex_service_app_id
    if application_id is None:
        refuse_home_by_settings(settings, store, org_id)
        print_link(settings, store, oauth.ALL_SCOPES, org_id=org_id)
        return
    configured = settings.webex_applications_token
    token = applications_token or (configured.get_secret_value() if configured else None) \
        or click.prompt("Applications token", hide_input=True)
    connect_by_service_app(settings, store, ServiceApp(application_id, token), org_id)


@orgs_cli.command("disconnect")
@click.option("--org-id", required=True, help=f"The org to disconnect: {ORG_ID_FORM}.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def disconnect(org_id: str, yes: bool) -> None:
    """Forget an org's stored access and everything kept of it (pending changes, history,
    subscriptions, notification spaces, the watcher's copy of its rules). Nothing changes in
    Webex."""
    settings, store = _context()
    refuse_home_by_settings(settings, store, org_id)
    kept = holdings(store, org_id)
    if not kept.token_pair and not any((kept.pending_changes, kept.history_entries,
                                        kept.subscribers, kept.notification_spaces,
                                        kept.rules_snapshot)):
        raise click.ClickException(_not_kept(org_id))
    click.echo(f"Disconnecting org {org_label(org_id)} forgets:")
    for item in forgotten_items(kept):
        click.echo(f"- {item}")
    if not yes and not click.confirm("Disconnect it?", default=False):
        raise click.ClickException("not disconnected: nothing was forgotten")
    try:
        forget_org(store, org_id)
    except ChangeBeingApplied:
        raise click.ClickException("not disconnected: a change to the rules of org "
                                   f"{org_label(org_id)} is being applied right now; run this "
                                   "again in a moment") from None
    click.echo(f"disconnected: org {org_label(org_id)} is forgotten (running processes stop "
               "serving it within seconds)")
