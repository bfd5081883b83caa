"""Onboarding on the emulator, over HTTP: the consent page, the authorization-code grant with PKCE,
refresh, short-lived access tokens, and Service App tokens per org.

Answers of ``/access_token`` and ``/applications/{id}/token`` are checked against their
descriptions (``tests/support/openapi.py``: ``OAUTH_SPEC`` and the official Service Apps excerpt).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.support import openapi
from tests.support.openapi import check

CLIENT_ID = "vmrules-client-id"
CLIENT_SECRET = "vmrules-client-secret"
REDIRECT_URI = "http://127.0.0.1:8080/oauth/callback"
SCOPES = ("spark:people_read spark-admin:people_read spark-admin:roles_read "
          "spark-admin:telephony_config_read spark-admin:telephony_config_write")
SERVICE_APP = "vmrules-service-app"
SA_CLIENT_ID = "vmrules-sa-client-id"
SA_CLIENT_SECRET = "vmrules-sa-client-secret"
RULES = "telephony/config/voicemail/rules"

# The official Service Apps description declares an oauth2 security scheme openapi-core does not
# check (it warns); the bearer token is checked by the tests themselves.
pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")
needs_descriptions = pytest.mark.skipif(not openapi.available(),
                                        reason=f"no API descriptions in {openapi.SPEC_DIR}")


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def authorize_url(emulator, **changes) -> str:
    params = {"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
              "scope": SCOPES, "state": "st-123"} | changes
    return f"{emulator.base_url}authorize?" + urlencode({k: v for k, v in params.items()
                                                          if v is not None})


def open_consent(emulator, **changes) -> tuple[requests.Response, str | None]:
    """GET /v1/authorize; the page and the request id its form carries (None when no form)."""
    page = requests.get(authorize_url(emulator, **changes), allow_redirects=False, timeout=10)
    found = re.search(r'name="requestId" value="([^"]+)"', page.text)
    return page, found.group(1) if found else None


def answer_consent(emulator, request_id: str, person: str = "alice",
                   decision: str = "allow") -> dict[str, list[str]]:
    """POST the consent form; the query of the redirect (followed by hand)."""
    answer = requests.post(f"{emulator.base_url}authorize", allow_redirects=False, timeout=10,
                           data={"requestId": request_id, "personId": emulator.id(person),
                                 "decision": decision})
    assert answer.status_code == 302, answer.text
    target = urlsplit(answer.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT_URI
    return parse_qs(target.query)


def get_code(emulator, person: str = "alice", **changes) -> str:
    page, request_id = open_consent(emulator, **changes)
    assert page.status_code == 200 and request_id, page.text
    query = answer_consent(emulator, request_id, person)
    assert query["state"] == [changes.get("state", "st-123")]
    return query["code"][0]


def exchange(emulator, issued: str, **changes) -> requests.Response:
    form = {"grant_type": "authorization_code", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "code": issued, "redirect_uri": REDIRECT_URI} | changes
    return requests.post(f"{emulator.base_url}access_token", timeout=10,
                         data={k: v for k, v in form.items() if v is not None})


def api(emulator, method: str, path: str, token: str, **kwargs) -> requests.Response:
    return requests.request(method, emulator.base_url + path, timeout=10,
                            headers={"Authorization": f"Bearer {token}"}, **kwargs)


def assert_error(response: requests.Response, status: int, word: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message", "errors", "trackingId"}
    assert body["trackingId"] == response.headers["TrackingID"]
    assert word in body["message"], body


def test_pkce_check_follows_rfc_7636_appendix_b():
    from emulator.oauth import pkce_matches
    from emulator.oauth_state import AuthCode

    code = AuthCode(code="c", client_id="x", redirect_uri="r", person_id="p", scopes=[],
                    code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                    code_challenge_method="S256", expires_at=0)
    assert pkce_matches(code, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    assert not pkce_matches(code, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj")
    assert not pkce_matches(code, None)


# --- the consent page --------------------------------------------------------------------------

def test_consent_page_lists_the_scopes_and_the_people(emulator):
    page, request_id = open_consent(emulator)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert request_id
    assert "Voicemail Rules Bot" in page.text and "spark-admin:telephony_config_write" in page.text
    assert "Alice Fuller" in page.text and "Otto Other" in page.text
    assert "Voicemail Rules Bot (" not in page.text.split("<select")[1]  # no bots to sign in as
    pending = emulator.control("GET", "authorizations").json()["pending"]
    assert [p["id"] for p in pending] == [request_id]


def test_opening_the_same_consent_page_again_shows_the_same_request(emulator):
    first = open_consent(emulator)[1]
    assert open_consent(emulator)[1] == first
    assert open_consent(emulator, state="other")[1] != first
    assert len(emulator.control("GET", "authorizations").json()["pending"]) == 2


def test_consent_page_escapes_what_it_echoes(emulator):
    page, _ = open_consent(emulator, state='"><script>alert(1)</script>')
    assert "<script>" not in page.text  # state is not shown; the host of the redirect is, escaped
    emulator.control("POST", f"integrations/{CLIENT_ID}/redirectUris",
                     json={"redirectUri": "http://127.0.0.1:9/<b>x</b>"})
    page, _ = open_consent(emulator, redirect_uri="http://127.0.0.1:9/<b>x</b>")
    assert page.status_code == 200 and "<b>x</b>" not in page.text


@pytest.mark.parametrize("changes, why", [
    ({"client_id": "no-such-client"}, "client_id"),
    ({"redirect_uri": "https://evil.example/oauth/callback"}, "redirect_uri"),
    ({"redirect_uri": "http://127.0.0.1:8080/other"}, "redirect_uri"),
    ({"redirect_uri": None}, "redirect_uri"),
])
def test_untrusted_client_or_redirect_gets_an_error_page_never_a_redirect(emulator, changes, why):
    page, request_id = open_consent(emulator, **changes)
    assert page.status_code == 400 and "Location" not in page.headers
    assert request_id is None and why in page.text


@pytest.mark.parametrize("changes, error", [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"scope": "spark-admin:licenses_read"}, "invalid_scope"),
    ({"scope": ""}, "invalid_scope"),
    ({"code_challenge": pkce_pair()[1], "code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": pkce_pair()[1]}, "invalid_request"),  # method defaults to plain
])
def test_bad_requests_with_a_trusted_redirect_are_redirected_with_an_error(emulator, changes,
                                                                          error):
    page, _ = open_consent(emulator, **changes)
    assert page.status_code == 302
    query = parse_qs(urlsplit(page.headers["Location"]).query)
    assert query["error"] == [error] and query["state"] == ["st-123"]


def test_any_local_port_and_registered_uris_are_accepted(emulator):
    assert open_consent(emulator, redirect_uri="http://localhost:5001/oauth/callback")[1]
    uri = "https://bot.example/oauth/callback"
    assert open_consent(emulator, redirect_uri=uri)[0].status_code == 400
    emulator.control("POST", f"integrations/{CLIENT_ID}/redirectUris", json={"redirectUri": uri})
    assert open_consent(emulator, redirect_uri=uri)[1]


def test_denied_consent_redirects_with_access_denied(emulator):
    _, request_id = open_consent(emulator)
    query = answer_consent(emulator, request_id, decision="deny")
    assert query == {"error": ["access_denied"], "state": ["st-123"]}
    assert emulator.control("GET", "authorizations").json()["pending"] == []


def test_a_consent_form_is_answered_once(emulator):
    _, request_id = open_consent(emulator)
    answer_consent(emulator, request_id)
    again = requests.post(f"{emulator.base_url}authorize", allow_redirects=False, timeout=10,
                          data={"requestId": request_id, "personId": emulator.id("alice"),
                                "decision": "allow"})
    assert again.status_code == 400 and "Location" not in again.headers


# --- the authorization-code grant ----------------------------------------------------------------

@needs_descriptions
def test_full_flow_with_pkce_gives_a_token_of_the_consenting_admin(emulator):
    verifier, challenge = pkce_pair()
    code = get_code(emulator, code_challenge=challenge, code_challenge_method="S256")
    body = check(exchange(emulator, code, code_verifier=verifier), status=200)
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1209600
    assert body["refresh_token_expires_in"] == 7776000
    token = body["access_token"]
    me = check(api(emulator, "GET", "people/me", token), status=200)
    assert me["id"] == emulator.id("alice") and me["orgId"] == emulator.id("acme")
    assert me["roles"] == [emulator.id("id_full_admin")]  # admin view: people_read was granted
    assert check(api(emulator, "GET", RULES, token), status=200)
    # only what was asked: no audit events
    assert api(emulator, "GET", "adminAudit/events?orgId=" + emulator.id("acme") +
               "&from=2024-01-01T00:00:00.000Z&to=2030-01-01T00:00:00.000Z",
               token).status_code == 403


def test_flow_without_pkce_works_as_on_webex(emulator):
    body = exchange(emulator, get_code(emulator)).json()
    assert api(emulator, "GET", "people/me", body["access_token"]).status_code == 200


def test_a_person_without_an_admin_role_gets_a_token_that_admin_apis_refuse(emulator):
    body = exchange(emulator, get_code(emulator, person="nina")).json()
    token = body["access_token"]
    me = api(emulator, "GET", "people/me", token).json()
    assert me["id"] == emulator.id("nina") and "roles" not in me
    assert api(emulator, "GET", RULES, token).status_code == 403


def test_someone_of_another_org_gets_a_token_in_their_org(emulator):
    token = exchange(emulator, get_code(emulator, person="otto")).json()["access_token"]
    assert api(emulator, "GET", "people/me", token).json()["orgId"] == emulator.id("globex")


@needs_descriptions
@pytest.mark.parametrize("changes, status, word", [
    ({"code_verifier": "w" * 43}, 400, "invalid_grant"),
    ({"code_verifier": None}, 400, "invalid_grant"),
    ({"redirect_uri": "http://127.0.0.1:8081/oauth/callback"}, 400, "invalid_grant"),
    ({"code": "not-a-code"}, 400, "invalid_grant"),
    ({"client_secret": "wrong"}, 401, "invalid_client"),
    ({"client_id": "no-such-client"}, 401, "invalid_client"),
    ({"redirect_uri": None}, 400, "invalid_request"),
])
def test_exchange_refusals(emulator, changes, status, word):
    verifier, challenge = pkce_pair()
    code = get_code(emulator, code_challenge=challenge, code_challenge_method="S256")
    response = exchange(emulator, code, **({"code_verifier": verifier} | changes))
    assert_error(response, status, word)
    check(response)  # (the description cannot say which fields each grant_type needs)
    # a refused exchange does not spend the code
    if status == 400 and "code" not in changes:
        assert exchange(emulator, code, code_verifier=verifier).status_code == 200


def test_a_code_is_single_use_and_a_replay_revokes_its_token(emulator):
    verifier, challenge = pkce_pair()
    code = get_code(emulator, code_challenge=challenge, code_challenge_method="S256")
    token = exchange(emulator, code, code_verifier=verifier).json()["access_token"]
    assert api(emulator, "GET", "people/me", token).status_code == 200
    assert_error(exchange(emulator, code, code_verifier=verifier), 400, "invalid_grant")
    assert_error(api(emulator, "GET", "people/me", token), 401)


def test_a_code_expires(emulator, monkeypatch):
    code = get_code(emulator)
    with emulator.state.lock:
        emulator.state.oauth.codes[code].expires_at = time.time() - 1
    assert_error(exchange(emulator, code), 400, "expired")


def test_a_code_is_bound_to_its_client(emulator):
    code = get_code(emulator)
    response = exchange(emulator, code, client_id=SA_CLIENT_ID, client_secret=SA_CLIENT_SECRET)
    assert_error(response, 400, "invalid_grant")


# --- refresh and short-lived tokens -----------------------------------------------------------------

@needs_descriptions
def test_refresh_after_a_code_exchange(emulator):
    first = exchange(emulator, get_code(emulator)).json()
    form = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "refresh_token": first["refresh_token"]}
    second = check(requests.post(f"{emulator.base_url}access_token", data=form, timeout=10),
                   status=200)
    assert second["refresh_token"] == first["refresh_token"]
    assert_error(api(emulator, "GET", "people/me", first["access_token"]), 401)
    me = api(emulator, "GET", "people/me", second["access_token"]).json()
    assert me["id"] == emulator.id("alice")


def test_short_lived_access_tokens_expire_and_refresh(emulator):
    assert emulator.control("POST", "settings", json={"accessTokenSeconds": 1}).json() == \
        {"accessTokenSeconds": 1}
    body = exchange(emulator, get_code(emulator)).json()
    assert body["expires_in"] == 1
    assert api(emulator, "GET", RULES, body["access_token"]).status_code == 200
    time.sleep(1.1)
    assert_error(api(emulator, "GET", RULES, body["access_token"]), 401)
    form = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "refresh_token": body["refresh_token"]}
    fresh = requests.post(f"{emulator.base_url}access_token", data=form, timeout=10).json()
    assert fresh["expires_in"] == 1
    assert api(emulator, "GET", RULES, fresh["access_token"]).status_code == 200
    emulator.control("POST", "settings", json={"accessTokenSeconds": None})
    assert emulator.control("GET", "settings").json() == {"accessTokenSeconds": None}
    form["refresh_token"] = fresh["refresh_token"]
    lasting = requests.post(f"{emulator.base_url}access_token", data=form, timeout=10).json()
    assert lasting["expires_in"] == 1209600


def test_settings_are_checked_and_reset_with_the_seed(emulator):
    bad = requests.post(f"{emulator.url}/_emulator/settings", json={"accessTokenSeconds": 0},
                        timeout=10)
    assert bad.status_code == 400
    emulator.control("POST", "settings", json={"accessTokenSeconds": 5})
    emulator.control("POST", "reset")
    assert emulator.control("GET", "settings").json() == {"accessTokenSeconds": None}


# --- Service App tokens ----------------------------------------------------------------------------

def sa_token(emulator, org: str = "acme", token: str = "developer-token",
             app: str | None = None, **changes) -> requests.Response:
    body = {"clientId": SA_CLIENT_ID, "clientSecret": SA_CLIENT_SECRET,
            "targetOrgId": emulator.id(org)} | changes
    return api(emulator, "POST", f"applications/{app or emulator.id(SERVICE_APP)}/token", token,
               json=body)


@needs_descriptions
def test_service_app_token_for_an_org_that_authorized_it(emulator):
    body = check(sa_token(emulator), status=200)
    assert body["token_type"] == "Bearer"
    token = body["access_token"]
    me = check(api(emulator, "GET", "people/me", token), status=200)
    assert me["orgId"] == emulator.id("acme") and me["type"] == "bot"
    assert check(api(emulator, "GET", RULES, token), status=200)
    form = {"grant_type": "refresh_token", "client_id": SA_CLIENT_ID,
            "client_secret": SA_CLIENT_SECRET, "refresh_token": body["refresh_token"]}
    fresh = check(requests.post(f"{emulator.base_url}access_token", data=form, timeout=10),
                  status=200)
    assert api(emulator, "GET", "people/me", fresh["access_token"]).json()["id"] == me["id"]


@needs_descriptions
def test_service_app_token_refusals(emulator):
    check(sa_token(emulator, org="globex"), status=403)
    check(sa_token(emulator, clientSecret="wrong"), status=401)
    check(sa_token(emulator, clientId="someone-else"), status=401)
    check(sa_token(emulator, token="admin-token"), status=403)  # no spark:applications_token
    check(sa_token(emulator, token="no-such-token"), status=401)
    check(sa_token(emulator, app="Y2lzY29zcGFyazovL3VzL0FQUExJQ0FUSU9OL25vbmU"), status=404)
    check(sa_token(emulator, targetOrgId=None), status=400, request_valid=False)


def test_authorizing_and_deauthorizing_an_org(emulator):
    path = f"serviceApps/{SERVICE_APP}/orgs/globex"
    emulator.control("PUT", path)
    body = sa_token(emulator, org="globex").json()
    me = api(emulator, "GET", "people/me", body["access_token"]).json()
    assert me["orgId"] == emulator.id("globex")
    apps = emulator.control("GET", "serviceApps").json()["items"]
    assert emulator.id("globex") in apps[0]["authorizedOrgIds"]
    emulator.control("DELETE", path)
    assert_error(api(emulator, "GET", "people/me", body["access_token"]), 401)
    assert sa_token(emulator, org="globex").status_code == 403
    assert sa_token(emulator, org="acme").status_code == 200
