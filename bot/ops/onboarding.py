"""Onboarding an org (getting the admin token): ``GET /oauth/callback`` and
``flask --app app admin authorize|service-app|status``.

``admin authorize`` stores a state (hashed) and a PKCE verifier (encrypted) in the database and
prints Webex's authorization URL; a Full Administrator opens it and allows; Webex sends the browser
to ``PUBLIC_URL/oauth/callback``, which any worker of any instance can answer: it takes the state
(once, unexpired) before anything else, exchanges the code with the verifier, and vets the token:
the person who allowed it must be a Full Administrator, and the scopes the bot needs must work.
Only then is the pair stored (encrypted, ``AdminGrants``). ``admin service-app`` gets a Service
App's pair for an org and vets and stores it the same way.

Webex's token answer does not list the scopes granted (WEBEX_FACTS), so when it does not, they
are checked by their effect, as ``check`` does: roles on ``GET /people/{id}`` (people_read),
``GET /roles`` (roles_read), the rules read (telephony_config_read). The write scope, and the
optional audit_events_read, can only be taken as asked: a probing write would land in the org's
audit log. Tokens never appear on a page, in the output or in the log.
"""

from __future__ import annotations

from datetime import datetime

import click
from flask import Blueprint, current_app, render_template, request
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.domain.authorization import FULL_ADMIN
from bot.ops.preflight import org_label
from bot.storage.admin_grants import AdminGrants, Grant, PendingAuthorization
from bot.storage.secret_box import SecretBox
from bot.storage.store import Store
from bot.views.connecting import connected
from bot.webex import oauth
from bot.webex.admin_token import AdminTokenExpired, grant_problem
from bot.webex.clients import bot_api
from bot.webex.connecting import (
    ConnectRefused,
    NotAuthorizedThere,
    ServiceApp,
    authorization_link,
    connect_service_app,
)
from bot.webex.errors import WebexCallError
from bot.webex.messenger import Messenger, Reply
from bot.webex.orgs import OrgRegistry
from bot.webex.rules_client import RulesClient
from bot.webex.vetting import Vetted, org_name, vet

blueprint = Blueprint("onboarding", __name__, template_folder="templates")
admin_cli = AppGroup("admin", help="Authorize the bot's admin access to an org, and see every "
                                     "connected org's.")
AGAIN = "Run `flask --app app admin authorize` again and open the new link."


def grants_of(settings: Settings, store: Store) -> AdminGrants:
    return AdminGrants(store, SecretBox.from_settings(settings))


# --- GET /oauth/callback --------------------------------------------------------------------------

def _page(outcome: str, title: str, message: str, next_step: str, status: int,
          details: list[tuple[str, str]] | None = None):
    body = render_template("oauth_result.html", outcome=outcome, title=title, message=message,
                           next_step=next_step, details=details or [])
    return body, status, {"Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8"}


@blueprint.get("/oauth/callback")
def callback():
    settings: Settings = current_app.extensions["vmbot.settings"]
    store: Store = current_app.extensions["vmbot.store"]
    grants = grants_of(settings, store)
    pending = grants.take(request.args.get("state", ""))  # first, before anything else
    # gunicorn's access log writes the request line from this environ once the answer is sent:
    # keep the code and the state out of it (and out of any log that copies the URL).
    for key in ("RAW_URI", "QUERY_STRING"):
        if key in request.environ:
            request.environ[key] = "/oauth/callback?(redacted)" if key == "RAW_URI" else "redacted"
    if pending is None:
        return _page("refused", "This authorization link is not valid",
                     "The link is unknown, was already used, or has expired (after 15 minutes). "
                     "Nothing was changed.", AGAIN, 400)
    error = request.args.get("error")
    if error:
        said = "The access was denied" if error == "access_denied" else \
            f"Webex did not authorize the bot ({error}: {request.args.get('error_description', '')})"
        return _page("refused", "The bot was not authorized", f"{said}. Nothing was changed.",
                     _again(pending) + " A Full Administrator must allow the access.", 400)
    code = request.args.get("code", "")
    client, redirect_uri = settings.admin_client, settings.oauth_redirect_uri
    if not code or client is None or redirect_uri is None:
        return _page("refused", "The bot was not authorized",
                     "The answer carried no authorization code, or the bot lacks "
                     "WEBEX_ADMIN_CLIENT_ID, WEBEX_ADMIN_CLIENT_SECRET or PUBLIC_URL. Nothing was "
                     "changed.", _again(pending), 400)
    try:
        pair, granted = oauth.exchange_code(settings, client, redirect_uri, code, pending.verifier)
    except (oauth.TokenRefused, WebexCallError) as exc:
        return _page("refused", "The bot was not authorized",
                     f"Webex refused to exchange the authorization code: {exc}. Nothing was "
                     "changed.", _again(pending), 502)
    vetted = vet(settings, pair.access_token, kind="integration", asked=pending.scopes,
                 granted=granted)
    vetted.refusal = vetted.refusal or _wrong_org(settings, store, vetted, pending)
    if vetted.refusal is not None:
        return _page("refused", "The bot was not authorized",
                     f"Refused: {vetted.refusal} Nothing was changed (the new token is not kept).",
                     _again(pending), 403)
    name = org_name(settings, pair.access_token, vetted.org_id)
    grants.save(kind="integration", client_id=client.client_id, pair=pair,
                owner_id=vetted.owner_id, owner_name=vetted.owner_name, org_id=vetted.org_id,
                scopes=vetted.scopes, org_name=name)
    current_app.logger.info("admin access authorized by %s for org %s", vetted.owner_id,
                            vetted.org_id)
    if pending.requester_id:
        _announce_connected(settings, pending.requester_id, name)
    return _page("ok", "The bot is authorized",
                 f"The bot now reads and changes the voicemail rules of the org as "
                 f"{vetted.owner_name} ({vetted.owner_email}), and keeps the access fresh by "
                 "itself.", "Close this page. Type `show` to the bot in Webex to see the rules; "
                 "`flask --app app admin status` shows the authorization.", 200,
                 details=[("Authorized by", f"{vetted.owner_name} ({vetted.owner_email})"),
                          ("Org", org_label(vetted.org_id)),
                          ("Scopes", " ".join(vetted.scopes)),
                          ("Access valid until", when_text(pair.access_expires_at)),
                          ("Refresh valid until", when_text(pair.refresh_expires_at))])


def _wrong_org(settings: Settings, store: Store, vetted: Vetted,
               pending: PendingAuthorization) -> str | None:
    """Why the consenting person's org may not be connected by this link, or None."""
    if pending.org_id and vetted.org_id != pending.org_id:
        return (f"{vetted.owner_name} is not of the organization this link was made for: a "
                f"{FULL_ADMIN} of that organization must allow the access.")
    if vetted.org_id == home_by_settings(settings, store):
        return ("this org is connected by the bot's WEBEX_ADMIN_TOKEN, which the bot uses for it "
                "whatever is authorized here.")
    return None


def home_by_settings(settings: Settings, store: Store) -> str | None:
    """The org WEBEX_ADMIN_TOKEN connects (it wins for that org), or None without one."""
    if not settings.admin_token_configured:
        return None
    box = SecretBox.from_settings(settings)
    rules = RulesClient(base_url=settings.webex_base_url, org_id=settings.webex_org_id,
                        timeout=settings.webex_timeout_seconds)
    return OrgRegistry(settings, store, box, rules).settings_org_id()


def _again(pending: PendingAuthorization) -> str:
    if pending.org_id:  # a link `connect` sent: the chat gives a new one
        return "Type `connect` to the bot again for a new link."
    return AGAIN


def _announce_connected(settings: Settings, person_id: str, name: str | None) -> None:
    """Tell whoever typed `connect` that their org is connected, in their 1:1 space. The
    authorization stands whatever happens here: a failure is logged, and the page says it."""
    try:
        Messenger(bot_api(settings)).post(Reply(connected(name)), person_id=person_id)
    except WebexCallError as exc:
        current_app.logger.warning("the org is connected, but telling %s failed: %s", person_id,
                                   exc)


def when_text(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "not told by Webex"


# --- flask --app app admin ... --------------------------------------------------------------------

def _context() -> tuple[Settings, Store]:
    return current_app.extensions["vmbot.settings"], current_app.extensions["vmbot.store"]


def require_client(settings: Settings) -> None:
    if settings.admin_client is None:
        raise click.ClickException("WEBEX_ADMIN_CLIENT_ID and WEBEX_ADMIN_CLIENT_SECRET are "
                                   "required (the Integration's or the Service App's)")


def refuse_home_by_settings(settings: Settings, store: Store, org_id: str) -> None:
    """The org of WEBEX_ADMIN_TOKEN is served by that token whatever is stored: say so."""
    try:
        home = home_by_settings(settings, store)
    except (WebexCallError, AdminTokenExpired) as exc:
        raise click.ClickException(f"the org of WEBEX_ADMIN_TOKEN cannot be told ({exc})") \
            from None
    if home == org_id:
        raise click.ClickException(
            f"org {org_label(org_id)} is the home org, connected by WEBEX_ADMIN_TOKEN (or "
            "WEBEX_ADMIN_REFRESH_TOKEN), which the bot uses for it whatever is stored: nothing to "
            "connect or disconnect here; change that setting instead")


@admin_cli.command("authorize")
@click.option("--without-audit", is_flag=True,
              help="Do not ask spark-admin:audit_events_read (then changes made in Control Hub "
                   "are announced without who made them).")
def authorize(without_audit: bool) -> None:
    """Print the URL a Full Administrator opens to authorize the bot (an Integration, OAuth 2
    authorization code with PKCE); the bot's /oauth/callback completes it."""
    settings, store = _context()
    require_client(settings)
    print_link(settings, store, oauth.REQUIRED_SCOPES if without_audit else oauth.ALL_SCOPES)


def print_link(settings: Settings, store: Store, scopes: tuple[str, ...],
               org_id: str | None = None) -> None:
    """Print the Integration's authorization URL (for ``org_id`` only, when given)."""
    if settings.oauth_redirect_uri is None:
        raise click.ClickException("PUBLIC_URL is required: Webex sends the browser back to "
                                   "PUBLIC_URL/oauth/callback")
    try:
        link = authorization_link(settings, grants_of(settings, store), scopes=scopes,
                                  org_id=org_id)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"the database is not ready ({exc.__class__.__name__}): run "
                                   "`flask --app app db upgrade`") from None
    of_org = f"org {org_label(org_id)}" if org_id else "the org to connect (the org connected is " \
        "that of the administrator who allows it)"
    click.echo(f"A Full Administrator of {of_org} opens this URL and allows the access:")
    click.echo(link.url)
    click.echo(f"The link works once, until {link.expires_at:%H:%M} UTC. Webex then sends the "
               f"browser to {settings.oauth_redirect_uri}, where the running bot completes the "
               "authorization.")
    click.echo(f"The Integration must have {settings.oauth_redirect_uri} as a redirect URI and "
               "these scopes: " + " ".join(scopes))


@admin_cli.command("service-app")
@click.option("--application-id", envvar="WEBEX_SERVICE_APP_ID", required=True,
              help="The Service App's id (developer.webex.com); env WEBEX_SERVICE_APP_ID.")
@click.option("--org-id", default=None, help="The org that authorized it (default WEBEX_ORG_ID).")
@click.option("--applications-token", envvar="WEBEX_APPLICATIONS_TOKEN", prompt=True,
              hide_input=True, help="A token with the spark:applications_token scope (the "
                                    "developer's); env WEBEX_APPLICATIONS_TOKEN, else asked.")
def service_app(application_id: str, org_id: str | None, applications_token: str) -> None:
    """Get and store the token pair of a Service App that a Full Administrator of the org has
    authorized in Control Hub (WEBEX_ADMIN_CLIENT_ID/SECRET are the Service App's)."""
    settings, store = _context()
    org_id = org_id or settings.webex_org_id
    if not org_id:
        raise click.ClickException("the org is required: --org-id or WEBEX_ORG_ID")
    connect_by_service_app(settings, store, ServiceApp(application_id, applications_token), org_id)


def connect_by_service_app(settings: Settings, store: Store, app: ServiceApp, org_id: str) -> None:
    """Get, vet and store ``org_id``'s Service App pair, saying what happened (or why not)."""
    require_client(settings)
    refuse_home_by_settings(settings, store, org_id)
    try:
        done = connect_service_app(settings, grants_of(settings, store), app, org_id)
    except (NotAuthorizedThere, WebexCallError) as exc:
        raise click.ClickException(
            f"Webex refused the Service App token ({exc}). Is the Service App authorized in "
            "Control Hub by a Full Administrator of the org, and does the token have "
            "spark:applications_token?") from None
    except ConnectRefused as exc:
        raise click.ClickException(f"not stored: {exc}") from None
    click.echo(f"stored: the Service App acts as {done.owner_name} in org "
               f"{org_label(done.org_id)}{f' ({done.org_name})' if done.org_name else ''}; "
               f"access valid until {when_text(done.access_expires_at)}")


def status_lines(settings: Settings, grants: list[Grant]) -> tuple[list[str], bool]:
    """What ``admin status`` prints (never a token): the settings' token, then every org's stored
    pair, one block each; and whether all is well."""
    lines: list[str] = []
    if settings.admin_token_configured:
        source = "WEBEX_ADMIN_TOKEN" if settings.webex_admin_token else "WEBEX_ADMIN_REFRESH_TOKEN"
        lines.append(f"source: the settings ({source}), for the home org; "
                     "`flask --app app check` shows whose it is")
    elif not grants:
        return ["source: none: the bot is not yet authorized; an operator runs "
                "`flask --app app admin authorize` (or `admin service-app`)"], False
    healthy = True
    for grant in grants:
        problem = grant_problem(grant)
        healthy = healthy and problem is None
        lines += [*([""] if lines else []), *grant_lines(grant),  # a blank line between orgs
                  f"status: {'PROBLEM: ' + problem if problem else 'ok'}"]
    return lines, healthy


def grant_lines(grant: Grant) -> list[str]:
    """One org's stored pair, as ``admin status`` and ``orgs list`` show it (never a token)."""
    named = f", {grant.org_name}" if grant.org_name else ""
    return [f"org: {org_label(grant.org_id)} ({grant.org_id}{named})",
            f"source: {grant.kind} (stored encrypted in the database)",
            f"owner: {grant.owner_name} ({grant.owner_id})",
            f"scopes: {' '.join(grant.scopes)}",
            f"authorized at: {when_text(grant.authorized_at)}",
            f"refreshed at: {when_text(grant.refreshed_at) if grant.refreshed_at else 'not yet'}",
            f"access token expires: {when_text(grant.pair.access_expires_at)}",
            f"refresh token expires: {when_text(grant.pair.refresh_expires_at)}"]


@admin_cli.command("status")
def status() -> None:
    """Show the admin token's source, and every connected org's owner, scopes and expiry dates
    (never a token); exit 1 when the bot is not authorized or something needs an operator."""
    settings, store = _context()
    try:
        grants = grants_of(settings, store).every()
    except SQLAlchemyError as exc:
        raise click.ClickException(f"the database is not ready ({exc.__class__.__name__}): run "
                                   "`flask --app app db upgrade`") from None
    lines, healthy = status_lines(settings, grants)
    for line in lines:
        click.echo(line)
    if not healthy:
        raise SystemExit(1)

