"""``/v1/telephony/config/voicemail/rules``: the org's voicemail rules, GET and PUT.

Every org has its own rules (``State.voicemail_rules``, by org id). Access follows the two
reference pages (``/work/shared/seeds``): GET needs an admin token of a Full, User, Read-only or
Location Administrator with ``spark-admin:telephony_config_read``; PUT needs a Full Administrator
with ``spark-admin:telephony_config_write``. The call acts on the token's own org (a Service App
token: the org it was issued for, where its machine account lives); ``orgId`` may name that org,
and any other org is a 403, as Webex refuses an admin outside the org (the people description
keeps ``orgId`` for "admin users of another organization (such as partners)"; partner admins
are not emulated). Anything else is a 403 too. PUT validates like the PUT page (expiry 15-100 days,
not the GET page's 180), checks a new default PIN against the org's current
``defaultVoicemailPinRules``, changes only what it is given, answers 204, and leaves an admin
audit event. The PIN is stored but never served, logged or audited.
"""

from __future__ import annotations

import copy

from flask import Blueprint, Response, jsonify, request

from . import admin_audit, auth
from .errors import bad_request, forbidden
from .pin_rules import pin_problem
from .state import app_state

blueprint = Blueprint("voicemail", __name__, url_prefix="/v1")

PATH = "/telephony/config/voicemail/rules"
READ_ROLES = {"Full Administrator", "User Administrator", "Read-only Administrator",
              "Location Administrator"}
WRITE_ROLES = {"Full Administrator"}
READ_SCOPE = "spark-admin:telephony_config_read"
WRITE_SCOPE = "spark-admin:telephony_config_write"
# Section -> (its number field, minimum, maximum), per the "Update Voicemail Rules" page.
SECTIONS = {
    "expirePasscode": ("numberOfDays", 15, 100),
    "changePasscode": ("numberOfDays", 1, 7),
    "blockPreviousPasscodes": ("numberOfPasscodes", 1, 10),
}
TOP_LEVEL = {"defaultVoicemailPinEnabled", "defaultVoicemailPin", *SECTIONS}


def _authorized_org(roles: set[str], scope: str) -> tuple[dict, str]:
    """The caller and the org the call is about, or a 403 as Webex gives it."""
    grant = auth.current_grant()
    if not auth.is_admin_token(grant):
        raise forbidden()
    person = auth.caller()
    if not auth.role_names(person) & roles or not grant.has_scope(scope):
        raise forbidden()
    org_id = request.args.get("orgId") or person["orgId"]
    if org_id != person["orgId"]:
        raise forbidden()
    return person, org_id


@blueprint.get(PATH)
def get_rules():
    _person, org_id = _authorized_org(READ_ROLES, READ_SCOPE)
    state = app_state()
    with state.lock:
        return jsonify(copy.deepcopy(state.voicemail_rules[org_id]))


@blueprint.put(PATH)
def put_rules():
    person, org_id = _authorized_org(WRITE_ROLES, WRITE_SCOPE)
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    state = app_state()
    with state.lock:
        rules = state.voicemail_rules[org_id]
        validate(body, rules["defaultVoicemailPinRules"])
        before = copy.deepcopy(rules)
        apply(rules, body)
        if "defaultVoicemailPin" in body:
            state.default_pins[org_id] = body["defaultVoicemailPin"]
        admin_audit.record(state, actor=person, org_id=org_id,
                           description="Organization voicemail rules updated",
                           action_text=f"{person['displayName']} updated the voicemail rules of "
                                       f"{state.orgs[org_id]['displayName']}: "
                                       f"{describe_changes(before, rules, body)}")
    return Response(status=204)


def validate(body: dict, pin_rules: dict) -> None:
    """Raise a 400 naming the first field of ``body`` that the PUT page does not allow."""
    for key in body:
        if key == "defaultVoicemailPinRules":
            raise bad_request("Unknown field: defaultVoicemailPinRules. The passcode rules are "
                              "read-only and cannot be updated.")
        if key not in TOP_LEVEL:
            raise bad_request(f"Unknown field: {key}.")
    if "defaultVoicemailPinEnabled" in body:
        _boolean("defaultVoicemailPinEnabled", body["defaultVoicemailPinEnabled"])
    for section, (number, low, high) in SECTIONS.items():
        if section in body:
            _section(section, body[section], number, low, high)
    if "defaultVoicemailPin" in body:
        pin = body["defaultVoicemailPin"]
        if not isinstance(pin, str):
            raise bad_request("Invalid value for defaultVoicemailPin: must be a string of digits.")
        problem = pin_problem(pin, pin_rules)
        if problem:
            raise bad_request(f"Invalid defaultVoicemailPin: {problem}")


def _boolean(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise bad_request(f"Invalid value for {name}: must be true or false.")


def _section(section: str, value: object, number: str, low: int, high: int) -> None:
    if not isinstance(value, dict):
        raise bad_request(f"Invalid value for {section}: must be an object.")
    for key in value:
        if key not in ("enabled", number):
            raise bad_request(f"Unknown field: {section}.{key}.")
    if "enabled" in value:
        _boolean(f"{section}.enabled", value["enabled"])
    if number in value:
        days = value[number]
        if isinstance(days, bool) or not isinstance(days, int):
            raise bad_request(f"Invalid value for {section}.{number}: must be an integer.")
        if not low <= days <= high:
            raise bad_request(f"Invalid value for {section}.{number}: {days}. The minimum value "
                              f"is {low}. The maximum value is {high}.")


def apply(rules: dict, body: dict) -> None:
    """Change only what ``body`` names; a partial section keeps its other keys."""
    if "defaultVoicemailPinEnabled" in body:
        rules["defaultVoicemailPinRules"]["defaultVoicemailPinEnabled"] = \
            body["defaultVoicemailPinEnabled"]
    for section in SECTIONS:
        if section in body:
            rules.setdefault(section, {}).update(body[section])


def describe_changes(before: dict, after: dict, body: dict) -> str:
    """``changePasscode.numberOfDays 1 -> 3; ...`` for the audit trail, never the PIN itself."""
    changes = []
    for section in ("defaultVoicemailPinRules", *SECTIONS):
        for key, value in after.get(section, {}).items():
            old = before.get(section, {}).get(key)
            if old != value and not isinstance(value, dict):
                changes.append(f"{section}.{key} {_show(old)} -> {_show(value)}")
    if "defaultVoicemailPin" in body:
        changes.append("default voicemail passcode changed")
    return "; ".join(changes) or "no change"


def _show(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
