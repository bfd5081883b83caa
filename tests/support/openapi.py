"""Contract checks: the emulator's real HTTP answers against Webex's own API descriptions.

``check(response)`` takes a ``requests.Response`` from the emulator, finds the operation it answered
in the OpenAPI descriptions under ``../shared/webex-openapi`` (``webex-messaging.json``,
``webex-admin.json``, ``voicemail-rules.yaml``), and validates, with ``openapi-core``:

- the request the test sent (path, query, body), so that tests only send what Webex accepts;
- the answer: its status must be documented for the operation, and its body must match the schema.

On top of the schemas it checks what Webex always sends although the descriptions do not mark it
``required`` (``ALWAYS_SENT``: ids, ``created``...), the ``TrackingID`` header, and that no private
emulator field (a key starting with ``_``) leaks. Every problem is collected; ``ContractError`` lists
them all.

The descriptions are used as published, with these documented adjustments (``_patched``):

1. ``servers``: the trimmed JSON descriptions have none; Webex's is ``https://webexapis.com/v1``.
   The emulator's ``http://127.0.0.1:<port>/v1`` is mapped onto it before validating.
2. Answers documented with an empty ``content`` map (the 204s) have no body: the empty map is
   dropped, since openapi-core would otherwise demand a body.
3. Error answers: the official descriptions list every 4xx/5xx status but give them no body.
   Webex's error body (``{message, errors: [{description, errorCode?}], trackingId}``,
   WEBEX_FACTS.md) is added to them as ``WebexError``, the same schema as ``Error`` in
   ``voicemail-rules.yaml`` (which declares its own).
4. ``Attachment``: the official schema is ``{content: File}`` with ``File`` requiring ``fileId``,
   ``type`` and ``contentUrl``, which no Adaptive Card attachment has (a known defect of the
   generated description). It is replaced by the shape Webex documents in its buttons-and-cards
   guide: ``{contentType: "application/vnd.microsoft.card.adaptive", content: {...}}``.
5. ``POST /access_token`` is not in the trimmed descriptions: ``OAUTH_SPEC`` below describes it
   by hand from WEBEX_FACTS.md ("Identity, roles and tokens", "Getting an admin token"): the
   refresh and authorization-code grants. ``GET /authorize`` answers HTML, not described.
6. ``POST /applications/{applicationId}/token`` is not in the trimmed descriptions either:
   ``webex-service-apps.json`` beside this module is that operation (and its ``Error`` schema)
   copied unchanged from the official Webex Admin description ("applications").
"""

from __future__ import annotations

import copy
import functools
import json
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.templating.responses.exceptions import ResponseNotFound

WEBEX_BASE = "https://webexapis.com/v1"
# The shared, kept-up-to-date descriptions beside the checkout when they are there; otherwise the
# copy in tests/webex-openapi/ (a clone on its own still checks the emulator).
SHARED_SPEC_DIR = Path(__file__).resolve().parents[3] / "shared" / "webex-openapi"
SPEC_DIR = Path(os.environ.get("WEBEX_OPENAPI_DIR") or (
    SHARED_SPEC_DIR if SHARED_SPEC_DIR.is_dir() else Path(__file__).resolve().parents[1] / "webex-openapi"))
SPEC_FILES = {
    "messaging": "webex-messaging.json",
    "admin": "webex-admin.json",
    "voicemail": "voicemail-rules.yaml",
}
# Searched in this order for the operation a request calls. /people/me and /people/{personId} are
# in both JSON descriptions with the same Person schema; the admin one is the one with GET /people.
SEARCH_ORDER = ("admin", "messaging", "voicemail", "oauth", "applications")
SERVICE_APPS_SPEC = Path(__file__).with_name("webex-service-apps.json")

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"

WEBEX_ERROR_SCHEMA = {
    "type": "object",
    "description": "Webex's error body (WEBEX_FACTS.md 'Errors'); added by tests/support/openapi.py.",
    "properties": {
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"description": {"type": "string"}, "errorCode": {"type": "integer"}},
            },
        },
        "trackingId": {"type": "string"},
    },
}

ATTACHMENT_SCHEMA = {
    "type": "object",
    "description": "An Adaptive Card attachment (replaces the official {content: File}, see above).",
    "required": ["contentType", "content"],
    "properties": {
        "contentType": {"type": "string", "enum": [ADAPTIVE_CARD]},
        "content": {"type": "object"},
    },
}

# Not in the trimmed descriptions: written from WEBEX_FACTS.md, not an official description.
OAUTH_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Webex OAuth token endpoint (from WEBEX_FACTS.md, hand-written)",
             "version": "1.0"},
    "servers": [{"url": WEBEX_BASE}],
    "paths": {
        "/access_token": {
            "post": {
                "operationId": "accessToken",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "description": "refresh_token needs refresh_token; "
                                               "authorization_code needs code and redirect_uri "
                                               "(and code_verifier when PKCE was used).",
                                "required": ["grant_type", "client_id", "client_secret"],
                                "properties": {
                                    "grant_type": {"type": "string",
                                                   "enum": ["refresh_token", "authorization_code"]},
                                    "client_id": {"type": "string"},
                                    "client_secret": {"type": "string"},
                                    "refresh_token": {"type": "string"},
                                    "code": {"type": "string"},
                                    "redirect_uri": {"type": "string"},
                                    "code_verifier": {"type": "string", "minLength": 43,
                                                      "maxLength": 128},
                                },
                            },
                        },
                    },
                },
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/AccessToken"}}},
                    },
                    "default": {
                        "description": "Error",
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/WebexError"}}},
                    },
                },
            },
        },
    },
    "components": {
        "schemas": {
            "AccessToken": {
                "type": "object",
                "required": ["access_token", "expires_in", "refresh_token",
                             "refresh_token_expires_in", "token_type"],
                "properties": {
                    "access_token": {"type": "string", "minLength": 1},
                    "expires_in": {"type": "integer", "minimum": 1},
                    "refresh_token": {"type": "string", "minLength": 1},
                    "refresh_token_expires_in": {"type": "integer", "minimum": 1},
                    "token_type": {"type": "string", "enum": ["Bearer"]},
                },
            },
            "WebexError": WEBEX_ERROR_SCHEMA,
        },
    },
}

# Fields Webex always sends in these schemas although the descriptions leave them optional
# (part of every real answer, and what the bot relies on). Keyed by component schema name; a
# collection (``{items: [...]}`` of one of these) is checked item by item. ALWAYS_SENT_NESTED goes
# one level into an array of objects (each error of ``errors`` has a ``description``).
ALWAYS_SENT: dict[str, tuple[str, ...]] = {
    "Person": ("id", "emails", "displayName", "orgId", "created", "type"),
    "Room": ("id", "title", "type", "isLocked", "lastActivity", "creatorId", "created"),
    "Membership": ("id", "roomId", "personId", "personEmail", "personDisplayName", "personOrgId",
                   "isModerator", "isMonitor", "created"),
    "Message": ("id", "roomId", "roomType", "personId", "personEmail", "created"),
    "ListMessage": ("id", "roomId", "roomType", "personId", "personEmail", "created"),
    "AttachmentActivity": ("id", "type", "messageId", "personId", "roomId", "created"),
    "Webhook": ("id", "name", "targetUrl", "resource", "event", "status", "created"),
    "Role": ("id", "name"),
    "AuditEvent": ("id", "actorId", "actorOrgId", "created", "data"),
    "VoicemailRules": ("defaultVoicemailPinRules", "expirePasscode", "changePasscode",
                       "blockPreviousPasscodes"),
    "WebexError": ("message", "errors", "trackingId"),
    "Error": ("message", "errors", "trackingId"),
}
ALWAYS_SENT_NESTED: dict[str, dict[str, tuple[str, ...]]] = {
    "WebexError": {"errors": ("description",)},
    "Error": {"errors": ("description",)},
}


class ContractError(AssertionError):
    """The answer (or the request a test sent) does not match Webex's description."""


def _load_file(name: str) -> dict:
    path = SPEC_DIR / SPEC_FILES[name]
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) if path.suffix in (".yaml", ".yml") else json.load(handle)


def _patched(name: str, spec: dict) -> dict:
    """The description with the adjustments listed in the module docstring."""
    spec = copy.deepcopy(spec)
    spec.setdefault("servers", [{"url": WEBEX_BASE}])
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    if name in ("messaging", "admin"):
        schemas["WebexError"] = WEBEX_ERROR_SCHEMA
        error_ref = {"$ref": "#/components/schemas/WebexError"}
        for operations in spec["paths"].values():
            for method, operation in operations.items():
                if method not in ("get", "put", "post", "delete", "patch"):
                    continue
                for status, answer in operation.get("responses", {}).items():
                    if answer.get("content") == {}:
                        del answer["content"]  # "no body" (204); openapi-core would want one
                    if status[:1] in ("4", "5") and "content" not in answer:
                        answer["content"] = {"application/json": {"schema": dict(error_ref)}}
    if "Attachment" in schemas:
        schemas["Attachment"] = ATTACHMENT_SCHEMA
    return spec


@functools.cache
def raw_spec(name: str) -> dict:
    """The (patched) description ``name``: messaging, admin, voicemail, oauth or applications."""
    if name == "oauth":
        return copy.deepcopy(OAUTH_SPEC)
    if name == "applications":
        with open(SERVICE_APPS_SPEC, encoding="utf-8") as handle:
            return json.load(handle)
    return _patched(name, _load_file(name))


@functools.cache
def spec(name: str) -> OpenAPI:
    """The openapi-core application for description ``name``, loaded once per test session."""
    return OpenAPI.from_dict(raw_spec(name))


def available() -> bool:
    return all((SPEC_DIR / filename).is_file() for filename in SPEC_FILES.values())


def webex_request(response: requests.Response) -> requests.PreparedRequest:
    """The request ``response`` answered, as if it had been sent to ``https://webexapis.com/v1``."""
    sent = response.request
    if sent is None:
        raise ContractError("The response carries no request to validate against.")
    parts = urlsplit(sent.url)
    path = parts.path
    marker = path.find("/v1/")
    if marker < 0:
        raise ContractError(f"{sent.url}: not a /v1/ URL of the emulator.")
    base = urlsplit(WEBEX_BASE)
    mapped = sent.copy()
    mapped.url = urlunsplit((base.scheme, base.netloc, path[marker:], parts.query, ""))
    return mapped


def find_operation(request: requests.PreparedRequest, name: str | None = None):
    """``(spec name, path template, operation SchemaPath)`` the request calls; ContractError if none."""
    method = request.method.lower()
    url = request.url.split("?", 1)[0]
    for candidate in ((name,) if name else SEARCH_ORDER):
        try:
            found = APICallPathFinder(spec(candidate).spec).find(method, url)
        except PathError:
            continue
        return candidate, found.path.parts[-1], found.operation
    raise ContractError(f"{request.method} {url}: no such operation in "
                        f"{', '.join((name,) if name else SEARCH_ORDER)} descriptions.")


def _describe(error: Exception) -> list[str]:
    """One line per schema error under ``error`` (openapi-core nests them)."""
    lines = []
    if isinstance(error, ResponseNotFound):
        documented = ", ".join(error.availableresponses)
        return [f"status {error.http_status} is not documented for this operation "
                f"(documented: {documented})"]
    details = getattr(error, "details", None)
    schema_errors = details.get("schema_errors") if isinstance(details, dict) else None
    if schema_errors:
        for item in schema_errors:
            where = "/".join(str(p) for p in item["path"]) or "(top level)"
            lines.append(f"{type(error).__name__} at {where}: {item['message']}")
        return lines
    cause = error.__cause__
    text = str(error)
    if cause is not None and str(cause) not in text:
        text = f"{text} ({cause})"
    return [f"{type(error).__name__}: {text}"]


def _documented_status(operation, status: int) -> str | None:
    """The key of ``responses`` that documents ``status`` (``"204"``, ``"2XX"``, ``"default"``)."""
    responses = raw_operation(operation)["responses"]
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in responses:
            return key
    return None


def _schema_name(operation, status: int) -> str | None:
    """The component schema name of the documented JSON body for ``status``, if it is a $ref."""
    key = _documented_status(operation, status)
    answer = raw_operation(operation)["responses"][key] if key else {}
    schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else None


def raw_operation(operation) -> dict:
    with operation.open() as content:
        return content


def _always_sent(spec_name: str, schema_name: str | None, body) -> list[str]:
    """Fields Webex always sends that the body lacks (top level, or per item of a collection)."""
    if not schema_name or not isinstance(body, dict):
        return []
    problems = []
    if schema_name in ALWAYS_SENT:
        problems += [f"missing {field!r}, which Webex always sends in {schema_name}"
                     for field in ALWAYS_SENT[schema_name] if field not in body]
        for field, inner in ALWAYS_SENT_NESTED.get(schema_name, {}).items():
            for index, item in enumerate(body.get(field) or []):
                problems += [f"missing {field}/{index}/{name!r}, which Webex always sends"
                             for name in inner if not isinstance(item, dict) or name not in item]
        return problems
    schema = raw_spec(spec_name)["components"]["schemas"].get(schema_name, {})
    item_ref = schema.get("properties", {}).get("items", {}).get("items", {}).get("$ref", "")
    item_name = item_ref.rsplit("/", 1)[-1]
    if item_name in ALWAYS_SENT:
        if not isinstance(body.get("items"), list):
            return [f"missing 'items' list in {schema_name}"]
        for index, item in enumerate(body["items"]):
            missing = [f for f in ALWAYS_SENT[item_name] if f not in item]
            if missing:
                problems.append(f"items/{index}: missing {missing}, which Webex always sends in "
                                f"{item_name}")
    return problems


def _private_keys(value, where: str = "") -> list[str]:
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{where}/{key}" if where else key
            if key.startswith("_"):
                found.append(path)
            found += _private_keys(inner, path)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _private_keys(inner, f"{where}/{index}")
    return found


def _resolve(spec_name: str, schema: dict) -> dict:
    ref = schema.get("$ref", "")
    return raw_spec(spec_name)["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def _undocumented(spec_name: str, schema: dict, value, where: str) -> list[str]:
    schema = _resolve(spec_name, schema)
    found = []
    if isinstance(value, dict) and "properties" in schema:
        for key, inner in value.items():
            path = f"{where}/{key}" if where else key
            if key not in schema["properties"]:
                found.append(path)
            else:
                found += _undocumented(spec_name, schema["properties"][key], inner, path)
    elif isinstance(value, list) and "items" in schema:
        for index, inner in enumerate(value):
            found += _undocumented(spec_name, schema["items"], inner, f"{where}/{index}")
    return found


def undocumented_fields(response: requests.Response) -> list[str]:
    """Fields of the answer that its documented schema does not list (allowed, but worth a look:
    Webex itself sends a few, such as a webhook's ``orgId``)."""
    request = webex_request(response)
    name, _template, operation = find_operation(request)
    key = _documented_status(operation, response.status_code)
    if not key or not response.content:
        return []
    answer = raw_operation(operation)["responses"][key]
    schema = answer.get("content", {}).get("application/json", {}).get("schema")
    return _undocumented(name, schema, response.json(), "") if schema else []


def problems(response: requests.Response, *, request_valid: bool = True,
             spec_name: str | None = None) -> list[str]:
    """Every way ``response`` (and its request) departs from the description; [] when none."""
    request = webex_request(response)
    name, template, operation = find_operation(request, spec_name)
    app = spec(name)
    openapi_request = RequestsOpenAPIRequest(request)
    found: list[str] = []

    request_errors = [line for error in app.iter_request_errors(openapi_request)
                      for line in _describe(error)]
    if request_valid:
        found += [f"request: {line}" for line in request_errors]
    elif not request_errors:
        found.append("request: the test meant to send a request Webex's description refuses, "
                     "but it validates")

    found += [f"response: {line}" for error in
              app.iter_response_errors(openapi_request, RequestsOpenAPIResponse(response))
              for line in _describe(error)]

    if response.status_code < 400 and _documented_status(operation, response.status_code) == "default":
        found.append(f"response: status {response.status_code} is not documented for this operation "
                     "(only the 'default' error answer matches it)")
    key = _documented_status(operation, response.status_code)
    if key and not raw_operation(operation)["responses"][key].get("content") and response.content:
        found.append(f"response: status {response.status_code} is documented without a body, "
                     f"but {len(response.content)} bytes came")
    if not response.headers.get("TrackingID"):
        found.append("response: no TrackingID header")
    body = None
    if response.content:
        try:
            body = response.json()
        except ValueError:
            body = None
    found += [f"response: {line}" for line in
              _always_sent(name, _schema_name(operation, response.status_code), body)]
    found += [f"response: private emulator field {key!r} leaked" for key in _private_keys(body)]
    return found


def check(response: requests.Response, *, status: int | None = None, request_valid: bool = True,
          spec_name: str | None = None):
    """Validate ``response`` and its request; return the JSON body (None when empty).

    ``status``: the status the test expects (checked first, reported with the others).
    ``request_valid=False``: the test deliberately sends a request the description refuses (to get a
    400); that it does not validate is then checked instead.
    """
    found = []
    if status is not None and response.status_code != status:
        found.append(f"status {response.status_code}, expected {status}")
    try:
        found += problems(response, request_valid=request_valid, spec_name=spec_name)
    except ContractError as error:
        found.append(str(error))
    if found:
        request = response.request
        body = response.text if len(response.text) <= 1500 else response.text[:1500] + "..."
        raise ContractError(
            f"{request.method} {request.url} -> {response.status_code} breaks the Webex contract:\n"
            + "\n".join(f"  - {line}" for line in found)
            + f"\n  body: {body}")
    return response.json() if response.content else None
