"""Preflight (``flask --app app check``): can this deployment work, before Webex sends it anything?

Each check makes the calls the bot itself will make, with the same clients, so "ok" means that call
works now and "FAIL" names what to fix. One line per check; a check that needs a failed one is
shown as "skip"; what the bot also logs at start-up as a warning (SQLite on a platform whose disk
does not survive a restart, no OPS_TOKEN) is shown as "WARN" and does not fail the check. Tokens
never appear in the output.

Webex has no endpoint that lists a token's scopes, so the admin scopes are checked by their
effect: roles shown on ``GET /people/{id}`` (people_read), ``GET /roles`` (roles_read), the rules
read (telephony_config_read). The write scope shows only when a change is applied: a probing write
would land in the org's admin audit log, and an invalid one proves nothing if Webex validates the
body before checking the scope.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings, start_up_warnings
from bot.storage.admin_grants import AdminGrants, Grant
from bot.storage.secret_box import SecretBox
from bot.storage.store import MIGRATIONS, Store
from bot.storage.tenancy import learned_home_org
from bot.webex import webhooks
from bot.webex.admin import AdminAccess
from bot.webex.admin_token import AdminToken, AdminTokenExpired, grant_problem
from bot.webex.clients import bot_api, sdk_call
from bot.webex.errors import WebexCallError
from bot.webex.rules_client import RulesClient

FULL_ADMIN = "Full Administrator"
ADMIN_DEPENDENTS = ("admin role", "admin scopes", "managed org", "voicemail rules")
SYNC_HINT = "run `flask --app app webhooks sync`"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok", "FAIL", "skip" or "WARN" (works, but should change; exit 0)
    detail: str

    def line(self) -> str:
        return f"{self.status:<4} {self.name}: {self.detail}"


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def fail(name: str, detail: str) -> Check:
    return Check(name, "FAIL", detail)


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in order; none raises for a Webex or database problem."""
    store = Store(settings.database_url)
    try:
        database = check_database(settings, store)
        bot = check_bot_token(settings)
        ready = store if database.status == "ok" else None
        admin = check_admin(settings, ready)
        warnings = [Check(w.topic, "WARN", w.text) for w in start_up_warnings(settings)]
        return [database, bot, *admin, *check_connected_orgs(settings, ready),
                check_webhooks(settings, bot_ok=bot.status == "ok"), *warnings]
    finally:
        store.dispose()


def attempt(action: Callable[[], Any]) -> tuple[Any, str | None]:
    """``(result, None)``, or ``(None, what went wrong)`` for the failures a check reports."""
    try:
        return action(), None
    except (WebexCallError, AdminTokenExpired) as exc:
        return None, str(exc)


def who(person) -> str:
    return f"{person.displayName} ({(person.emails or ['no email'])[0]})"


def check_database(settings: Settings, store: Store) -> Check:
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        with store.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        return fail("database", f"cannot connect to {where} ({exc.__class__.__name__})")
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    if current != head:
        schema = f"schema at {current}" if current else "no schema"
        return fail("database", f"{where}: {schema}, head is {head}; "
                                "run `flask --app app db upgrade`")
    return ok("database", f"{where}, schema at head ({head})")


def check_bot_token(settings: Settings) -> Check:
    me, error = attempt(lambda: sdk_call(bot_api(settings), lambda api: api.people.me()))
    if error:
        return fail("bot token", error)
    if me.type != "bot":
        return fail("bot token", f"belongs to {who(me)}, a {me.type}, not a bot")
    return ok("bot token", who(me))


class TokenSource:
    """The admin token as the bot gets it (``AdminToken``: the settings', or ``org_id``'s stored
    pair), noting a refresh. Without a ready database (where refreshed tokens live) only the
    configured token can be checked."""

    def __init__(self, settings: Settings, store: Store | None, org_id: str | None = None):
        box = SecretBox.from_settings(settings)
        self._token = AdminToken(settings, store, box, org_id) if store is not None else None
        configured = settings.webex_admin_token
        self._configured = configured.get_secret_value() if configured else ""
        self.refreshed = False

    def current(self) -> str:
        if self._token is not None:
            return self._token.current()
        if not self._configured:
            raise AdminTokenExpired("not checked: WEBEX_ADMIN_TOKEN is not set and the database "
                                    "(where refreshed tokens live) is not ready")
        return self._configured

    def refresh(self, refused: str) -> str:
        if self._token is None:
            raise AdminTokenExpired("refused, and not refreshed: the database is not ready")
        token = self._token.refresh(refused)
        self.refreshed = True
        return token


@dataclass(frozen=True)
class LiveOrg:
    """The one org whose admin token ``check`` tries with Webex calls (never a round of calls
    per org: a deployment may serve a thousand; the others are listed from the database), and
    what the admin token line says of the choice when other orgs are connected."""

    grant: Grant | None  # its stored pair; None: the settings' token (or nothing to try)
    about: str = ""
    warning: Check | None = None


def live_org(settings: Settings, store: Store | None) -> LiveOrg:
    """The home org when it is connected (WEBEX_ADMIN_TOKEN's, or the stored pair of
    WEBEX_ORG_ID's org or of the org the bot learned as home), else the org authorized first."""
    if store is None:
        return LiveOrg(None)
    grants = AdminGrants(store, SecretBox.from_settings(settings))
    try:
        stored = grants.orgs()
        if settings.admin_token_configured:
            others = len([org_id for org_id in stored if org_id != settings.webex_org_id])
            return LiveOrg(None, f"; these admin lines are about the home org (WEBEX_ADMIN_TOKEN's)"
                                 f"{_others(others)}" if others else "")
        home = Home(settings.webex_org_id, _learned_home(store))
        grant = grants.get(home.org_id if home.org_id in stored else None)
    except SQLAlchemyError:
        return LiveOrg(None)
    return _stored_choice(settings, home, grant, stored) if grant else LiveOrg(None)


@dataclass(frozen=True)
class Home:
    """The home org as the bot would have it: ``WEBEX_ORG_ID``, else the one it learned (kept
    for good: ``""`` when it found several orgs, None before it first looked)."""

    setting: str | None
    learned: str | None

    @property
    def org_id(self) -> str | None:
        return self.setting or self.learned or None

    @property
    def why(self) -> str:
        return ("the home org (WEBEX_ORG_ID)" if self.setting else
                "the home org (connected alone when the bot first looked, kept)")


def _learned_home(store: Store) -> str | None:
    try:
        return learned_home_org(store)
    except SQLAlchemyError:  # a database before 0007: nothing learned yet
        return None


def _stored_choice(settings: Settings, home: Home, grant: Grant, stored: list[str]) -> LiveOrg:
    """What ``check`` says of trying ``grant``, the pair of the home org or of the org
    authorized first, among the ``stored`` orgs."""
    warning = _home_warning(settings, home, stored)
    if len(stored) == 1:
        return LiveOrg(grant, "", warning)
    no_home = "the home org is not connected" if home.org_id else "there is no home org"
    why = home.why if grant.org_id == home.org_id else f"the first authorized ({no_home})"
    return LiveOrg(grant, f"; these admin lines are about org {org_label(grant.org_id)}"
                          f"{named(grant)}, {why}{_others(len(stored) - 1)}", warning)


def _home_warning(settings: Settings, home: Home, stored: list[str]) -> Check | None:
    """The home org (NOTIFY_ROOM_IDS' org) when the stored pairs leave it unserved: WEBEX_ORG_ID
    names an org not connected; the org learned as home is no longer connected; or there is
    none (several orgs were connected when the bot first looked, or are and it has not yet)."""
    if home.setting is not None:
        if home.setting in stored:
            return None
        return Check("home org", "WARN", f"WEBEX_ORG_ID names org {org_label(home.setting)}, "
                     "which has no stored pair: that org is not connected, and NOTIFY_ROOM_IDS "
                     "belong to it; connect it (`flask --app app orgs connect --org-id` with it) "
                     "or correct WEBEX_ORG_ID")
    if not settings.notify_room_ids:
        return None
    told_nothing = "NOTIFY_ROOM_IDS are told of nothing until WEBEX_ORG_ID names the home org"
    if home.learned:
        if home.learned in stored:
            return None
        return Check("home org", "WARN", f"the home org, org {org_label(home.learned)} (connected "
                     "alone when the bot first looked, kept for good), is no longer connected: "
                     f"{told_nothing} or that org is connected again")
    if home.learned == "":
        return Check("home org", "WARN", "several orgs were connected when the bot first looked, "
                     f"so it has no home org: {told_nothing}")
    if len(stored) > 1:
        return Check("home org", "WARN", f"{len(stored)} orgs are connected and none is the home "
                     f"org (the bot will find several): {told_nothing}")
    return None


def _others(count: int) -> str:
    return (f"; {count} other connected org{'s' if count != 1 else ''}: "
            f"{'their' if count != 1 else 'its'} `org` line{'s' if count != 1 else ''} below, "
            "from the database")


def named(grant: Grant) -> str:
    return f" ({grant.org_name})" if grant.org_name else ""


def check_admin(settings: Settings, store: Store | None) -> list[Check]:
    """The admin token, its role, its scopes, the managed org and the rules, from four calls,
    for one org (``live_org``)."""
    live = live_org(settings, store)
    stored = live.grant
    rules = RulesClient(base_url=settings.webex_base_url, org_id=settings.webex_org_id)
    # A stored pair is its org's own token: its own org, no orgId to name (as the bot does).
    org_id = stored.org_id if stored else None
    source = TokenSource(settings, store, org_id)
    admin = AdminAccess(settings, source, rules.for_org(None) if stored else rules, org_id=org_id)
    me, error = attempt(lambda: admin.sdk(lambda api: api.people.me()))
    machine = stored is not None and stored.kind == "service-app"  # a machine account: type bot
    warnings = [live.warning] if live.warning else []
    if me is None or (me.type == "bot" and not machine):
        problem = error or f"belongs to the bot {who(me)}, not to an administrator"
        return [fail("admin token", problem + live.about),
                *(Check(name, "skip", "needs a working admin token") for name in ADMIN_DEPENDENTS),
                *warnings]
    person = attempt(lambda: admin.sdk(lambda api: api.people.get(me.id)))
    roles = attempt(lambda: {r.id: r.name for r in admin.sdk(lambda api: list(api.roles.list()))})
    rules_read = attempt(admin.read_rules)
    trouble = grant_problem(stored) if stored is not None else None
    token = (fail("admin token", f"{who(me)}; {trouble}{live.about}") if trouble else
             ok("admin token", who(me) + (" (refreshed)" if source.refreshed else "")
                + live.about))
    return [token,
            role_check(me, person[0], roles[0]), scopes_check(person, roles, rules_read),
            org_check(settings, me, stored), rules_check(rules_read), *warnings]


def check_connected_orgs(settings: Settings, store: Store | None) -> list[Check]:
    """One line per org connected by a stored pair, from the database alone: how, until when,
    and anything an operator must do (the settings' org is checked above)."""
    if store is None:
        return []
    try:
        grants = AdminGrants(store, SecretBox.from_settings(settings)).every()
    except SQLAlchemyError:
        return []
    checks = []
    for grant in grants:
        problem = grant_problem(grant)
        detail = (f"{grant.org_name or 'name not known'}: {grant.kind}, access token until "
                  f"{grant.pair.access_expires_at:%Y-%m-%d %H:%M} UTC")
        name = f"org {org_label(grant.org_id)}"
        checks.append(fail(name, f"{detail}; {problem}") if problem else ok(name, detail))
    return checks


def role_check(me, person, roles: dict[str, str] | None) -> Check:
    if person is None or person.roles is None or roles is None:
        return Check("admin role", "skip", "the admin's roles cannot be seen (see admin scopes)")
    names = [roles.get(role_id, role_id) for role_id in person.roles]
    if FULL_ADMIN not in names:
        has = ", ".join(names) or "no admin role"
        return fail("admin role",
                    f"{me.displayName} has {has}; changing the rules needs {FULL_ADMIN}")
    return ok("admin role", ", ".join(names))


def scopes_check(person: tuple, roles: tuple, rules: tuple) -> Check:
    problems = []
    if person[1] or person[0].roles is None:
        problems.append("spark-admin:people_read (GET /people/{id} "
                        f"{person[1] or 'shows no roles'})")
    if roles[1]:
        problems.append(f"spark-admin:roles_read (GET /roles: {roles[1]})")
    if rules[1]:
        problems.append(f"spark-admin:telephony_config_read (reading the rules: {rules[1]})")
    if problems:
        return fail("admin scopes", "missing or refused: " + "; ".join(problems))
    return ok("admin scopes", "people_read, roles_read and telephony_config_read work; "
                              "telephony_config_write shows when a change is applied")


def org_check(settings: Settings, me, stored: Grant | None) -> Check:
    if stored is not None:
        home = ", the home org (WEBEX_ORG_ID)" if stored.org_id == settings.webex_org_id else ""
        return ok("managed org", f"{org_label(stored.org_id)}{named(stored)}, the admin token's "
                                 f"own org{home}")
    if not settings.webex_org_id:
        return ok("managed org", f"{org_label(me.orgId)} (the admin token's own org)")
    if "/ORGANIZATION/" not in decoded(settings.webex_org_id):
        return fail("managed org", "WEBEX_ORG_ID is not a Webex organization id")
    detail = f"{org_label(settings.webex_org_id)} (WEBEX_ORG_ID)"
    if settings.webex_org_id != me.orgId:
        detail += f"; the admin belongs to {org_label(me.orgId)}"
    return ok("managed org", detail)


def decoded(webex_id: str) -> str:
    try:
        return base64.b64decode(webex_id + "=" * (-len(webex_id) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""


def org_label(org_id: str) -> str:
    """The org as Control Hub shows its id (the uuid inside the Webex id)."""
    return decoded(org_id).rpartition("/ORGANIZATION/")[2] or org_id


def rules_check(rules: tuple) -> Check:
    if rules[1]:
        return fail("voicemail rules", rules[1])
    expiry = rules[0].get("expirePasscode") or {}
    shown = f"{expiry.get('numberOfDays')} days" if expiry.get("enabled") else "off"
    return ok("voicemail rules", f"readable (passcode expiry {shown})")


def check_webhooks(settings: Settings, *, bot_ok: bool) -> Check:
    if not bot_ok:
        return Check("webhooks", "skip", "needs a working bot token")
    target = settings.webhook_target_url
    if not target:
        return fail("webhooks", "PUBLIC_URL is not set, so no webhook can point at the bot")
    secret = settings.webex_webhook_secret.get_secret_value()
    states, error = attempt(lambda: sdk_call(bot_api(settings),
                                             lambda api: webhooks.status(api, secret=secret)))
    if error:
        return fail("webhooks", error)
    names = [f"{state.resource}/{state.event}" for state in states]
    problems = [p for p in (webhook_problem(state, target) for state in states) if p]
    problems += [f"{name}: {names.count(name)} webhooks"
                 for name in dict.fromkeys(names) if names.count(name) > 1]
    if problems:
        return fail("webhooks", "; ".join(problems) + f"; {SYNC_HINT}")
    kinds = " and ".join(names)
    return ok("webhooks", f"{kinds} active at {target}, signed with WEBEX_WEBHOOK_SECRET")


def webhook_problem(state: webhooks.WebhookState, target: str) -> str | None:
    name = f"{state.resource}/{state.event}"
    if state.status != "active":
        return f"{name} {state.status}"
    if state.target_url != target:
        return f"{name} points at {state.target_url}"
    if state.secret_matches is False:
        return (f"{name} is signed with a secret other than WEBEX_WEBHOOK_SECRET, so the bot "
                "refuses its deliveries (401)")
    return None


def secrets(settings: Settings) -> list[str]:
    values = [settings.webex_bot_token, settings.webex_webhook_secret, settings.webex_admin_token,
              settings.webex_admin_client_secret, settings.webex_admin_refresh_token,
              settings.webex_applications_token,
              settings.bot_secret_key, *settings.bot_secret_key_previous, settings.ops_token]
    return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


@click.command("check")
def check_command() -> None:
    """Preflight: database, tokens, admin role and scopes, org, rules, webhooks; exit 1 on FAIL."""
    settings = current_app.extensions["vmbot.settings"]
    checks = run_checks(settings)
    for check in checks:
        line = check.line()
        for secret in secrets(settings):  # a Webex message could echo one back: never print it
            line = line.replace(secret, "***")
        click.echo(line)
    if any(check.status == "FAIL" for check in checks):
        raise SystemExit(1)
