"""Several orgs on the emulator, over HTTP: each org's own rules, people, rooms and audit events;
the Service App authorized in some orgs and not others; faults aimed at one org; and
``python -m emulator --orgs N`` generating many orgs for the benchmark."""

from __future__ import annotations

import base64
import os
import subprocess
import time

import pytest
import requests

from devtools.processes import REPO, emulator_command, free_port, start
from tests.contract.test_emulator_voicemail import assert_webex_error, audit_call, rules_call
from tests.support import openapi
from tests.support.openapi import check

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")
needs_descriptions = pytest.mark.skipif(not openapi.available(),
                                        reason=f"no API descriptions in {openapi.SPEC_DIR}")

SERVICE_APP = "vmrules-service-app"
SA_CLIENT = {"clientId": "vmrules-sa-client-id", "clientSecret": "vmrules-sa-client-secret"}
# The seed's orgs beyond acme and globex: every persona, each with a name and an email of its org.
PERSONAS = {
    "initech": {"iris": "Full Administrator", "ivan": "Read-only Administrator",
                "ines": "User Administrator", "igor": "Location Administrator", "ida": None},
    "umbrella": {"uma": "Full Administrator", "ursula": "Read-only Administrator",
                 "umberto": "User Administrator", "udo": "Location Administrator", "una": None},
}
ACME_RULES_EXPIRY = 100


def api(emulator, method: str, path: str, token: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{emulator.base_url}{path}", timeout=10,
                            headers={"Authorization": f"Bearer {token}"}, **kwargs)


def service_app_token(emulator, org: str) -> requests.Response:
    return api(emulator, "POST", f"applications/{emulator.id(SERVICE_APP)}/token",
               "developer-token", json=SA_CLIENT | {"targetOrgId": emulator.id(org)})


def org_entries(url: str, **params) -> dict[str, dict]:
    response = requests.get(f"{url}/_emulator/orgs", params=params, timeout=60)
    response.raise_for_status()
    return {org["key"]: org for org in response.json()["items"]}


def rules_of(emulator, org: str) -> dict:
    return emulator.control("GET", "voicemail-rules", params={"orgId": org}).json()["rules"]


# --- the seeded orgs ---------------------------------------------------------------------------

def test_the_seed_has_several_orgs_each_with_every_persona(emulator):
    orgs = org_entries(emulator.url)
    assert {"acme", "globex", "initech", "umbrella"} <= set(orgs)
    for org, personas in PERSONAS.items():
        people = {p["key"]: p for p in orgs[org]["people"]}
        assert set(people) == set(personas)
        for key, role in personas.items():
            assert people[key]["roles"] == ([role] if role else [])
            assert people[key]["email"] == f"{key}@{org}.example"
            assert {"token": f"{key}-token", "kind": "user"} in people[key]["tokens"]
        emails = [p["email"] for entry in orgs.values() for p in entry["people"]]
        assert len(emails) == len(set(emails))  # nobody shares an address across orgs
    assert orgs["initech"]["people"][0]["botRoomId"] == emulator.id("dm-iris")


def test_each_org_starts_with_its_own_rules(emulator):
    expiry = {org: rules_of(emulator, org)["expirePasscode"]["numberOfDays"]
              for org in ("acme", "globex", "initech", "umbrella")}
    assert expiry == {"acme": ACME_RULES_EXPIRY, "globex": 100, "initech": 60, "umbrella": 180}
    assert rules_of(emulator, "umbrella")["blockPreviousPasscodes"] == \
        {"enabled": True, "numberOfPasscodes": 5}
    assert get_rules(emulator, "iris-admin-token")["changePasscode"]["numberOfDays"] == 2


def get_rules(emulator, token: str, org: str | None = None) -> dict:
    return check(rules_call(emulator, "GET", token, org=org), status=200)


@needs_descriptions
def test_the_service_app_is_authorized_in_some_orgs_and_refused_in_the_others(emulator):
    orgs = org_entries(emulator.url)
    app_id = emulator.id(SERVICE_APP)
    authorized = {key for key, org in orgs.items() if app_id in org["serviceAppIds"]}
    assert authorized == {"acme", "initech"}
    for org in ("acme", "initech"):
        check(service_app_token(emulator, org), status=200)
    for org in ("globex", "umbrella"):
        body = check(service_app_token(emulator, org), status=403)
        assert "not authorized" in body["errors"][0]["description"]


@needs_descriptions
def test_a_service_app_token_acts_on_its_own_org_only(emulator):
    token = check(service_app_token(emulator, "initech"), status=200)["access_token"]
    initech, acme = emulator.id("initech"), emulator.id("acme")
    assert get_rules(emulator, token)["expirePasscode"]["numberOfDays"] == 60
    assert get_rules(emulator, token, org=initech)["expirePasscode"]["numberOfDays"] == 60
    check(rules_call(emulator, "PUT", token, org=initech,
                     body={"changePasscode": {"numberOfDays": 5}}), status=204)
    assert rules_of(emulator, "initech")["changePasscode"]["numberOfDays"] == 5
    assert_webex_error(rules_call(emulator, "GET", token, org=acme), 403)
    assert_webex_error(rules_call(emulator, "PUT", token, org=acme,
                                  body={"changePasscode": {"numberOfDays": 6}}), 403)
    assert rules_of(emulator, "acme")["changePasscode"]["numberOfDays"] == 1
    assert rules_of(emulator, "umbrella")["changePasscode"]["numberOfDays"] == 1


@pytest.mark.parametrize("token, own, other", [
    ("admin-token", "acme", "initech"),
    ("iris-admin-token", "initech", "umbrella"),
    ("uma-admin-token", "umbrella", "acme"),
])
def test_an_admin_of_one_org_is_refused_another_orgs_rules(emulator, token, own, other):
    before = rules_of(emulator, other)
    assert_webex_error(rules_call(emulator, "GET", token, org=emulator.id(other)), 403)
    assert_webex_error(rules_call(emulator, "PUT", token, org=emulator.id(other),
                                  body={"expirePasscode": {"numberOfDays": 30}}), 403)
    assert rules_of(emulator, other) == before
    check(rules_call(emulator, "PUT", token, org=emulator.id(own),
                     body={"expirePasscode": {"numberOfDays": 30}}), status=204)
    assert rules_of(emulator, own)["expirePasscode"]["numberOfDays"] == 30
    assert rules_of(emulator, other) == before


def test_audit_events_stay_in_the_org_whose_rules_changed(emulator):
    check(rules_call(emulator, "PUT", "iris-admin-token",
                     body={"changePasscode": {"numberOfDays": 4}}), status=204)
    initech = audit_call(emulator, "iris-admin-token", orgId=emulator.id("initech")).json()
    assert [e["actorId"] for e in initech["items"]] == [emulator.id("iris")]
    assert initech["items"][0]["data"]["targetOrgName"] == "Initech"
    assert audit_call(emulator, "admin-token").json()["items"] == []  # acme's: none
    assert_webex_error(audit_call(emulator, "admin-token", orgId=emulator.id("initech")), 403)


def test_people_and_rooms_belong_to_their_org(emulator):
    ivan = api(emulator, "GET", f"people/{emulator.id('ivan')}", "iris-admin-token").json()
    assert ivan["orgId"] == emulator.id("initech") and ivan["roles"]
    alice = api(emulator, "GET", f"people/{emulator.id('alice')}", "iris-admin-token").json()
    assert "roles" not in alice  # another org's person: no admin view
    found = api(emulator, "GET", "people", "alice-token",
                params={"email": "ivan@initech.example"}).json()["items"]
    assert found == []  # email lookup stays within the caller's org
    rooms = api(emulator, "GET", "rooms", "iris-token").json()["items"]
    assert {r["id"] for r in rooms} == {emulator.id(k) for k in
                                       ("dm-iris", "initech-admins", "initech-notify", "partners")}
    assert api(emulator, "GET", f"rooms/{emulator.id('admins')}", "iris-token").status_code == 404


# --- faults aimed at one org -----------------------------------------------------------------

@needs_descriptions
def test_a_429_can_target_one_orgs_tokens(emulator):
    service_app = check(service_app_token(emulator, "initech"), status=200)["access_token"]
    emulator.add_fault(path="/v1/telephony/*", orgId="initech", status=429, retryAfter=7)
    for token in ("iris-admin-token", service_app):
        limited = rules_call(emulator, "GET", token)
        assert_webex_error(limited, 429)
        assert limited.headers["Retry-After"] == "7"
    for token in ("admin-token", "uma-admin-token"):
        get_rules(emulator, token)  # other orgs are served
    emulator.control("DELETE", "faults")
    get_rules(emulator, "iris-admin-token")


def test_an_org_fault_names_a_known_org_and_is_listed_by_id(emulator):
    fault = emulator.add_fault(orgId="umbrella", status=503, count=1)
    assert fault["orgId"] == emulator.id("umbrella")
    response = requests.post(f"{emulator.url}/_emulator/faults", timeout=10,
                             json={"orgId": "no-such-org", "status": 429})
    assert_webex_error(response, 400, "Unknown org: no-such-org")
    assert emulator.control("GET", "faults").json()["items"] == [fault]


def test_an_org_fault_counts_only_that_orgs_calls(emulator):
    emulator.add_fault(path="/v1/telephony/*", orgId="initech", status=429, count=1)
    get_rules(emulator, "admin-token")  # acme's call leaves the fault for initech
    assert_webex_error(rules_call(emulator, "GET", "iris-admin-token"), 429)
    get_rules(emulator, "iris-admin-token")


# --- python -m emulator --orgs N ---------------------------------------------------------------

@pytest.fixture(scope="module")
def thousand_orgs(tmp_path_factory):
    """The emulator as its own process with 1,000 generated orgs, and how long it took to answer."""
    port = free_port()
    started = time.monotonic()
    process = start("emulator --orgs 1000", emulator_command(port, "--orgs", "1000"), cwd=REPO,
                    env={**os.environ, "PYTHONPATH": str(REPO)},
                    log_path=tmp_path_factory.mktemp("orgs") / "emulator.log",
                    ready_url=f"http://127.0.0.1:{port}/_emulator/directory", timeout=60)
    yield f"http://127.0.0.1:{port}", time.monotonic() - started
    process.stop()


def decoded(webex_id: str) -> str:
    return base64.b64decode(webex_id + "=" * (-len(webex_id) % 4)).decode()


def test_generated_orgs_are_listed_with_what_a_benchmark_needs(thousand_orgs):
    url, seconds = thousand_orgs
    assert seconds < 30, f"1,000 orgs took {seconds:.1f} s to start"
    generated = org_entries(url, generated="true")
    assert len(generated) == 1000
    assert set(org_entries(url, generated="false")) == {"acme", "globex", "initech", "umbrella"}
    last = generated["org1000"]
    assert decoded(last["id"]).startswith("ciscospark://us/ORGANIZATION/")
    [admin] = last["people"]
    assert admin["roles"] == ["Full Administrator"] and admin["email"] == "admin@org1000.example"
    assert decoded(admin["id"]).startswith("ciscospark://us/PEOPLE/")
    assert {t["kind"] for t in admin["tokens"]} == {"user", "integration"}
    assert decoded(admin["botRoomId"]).startswith("ciscospark://us/ROOM/")
    assert len({org["id"] for org in generated.values()}) == 1000


def test_a_generated_org_is_a_working_org_of_its_own(thousand_orgs):
    url, _seconds = thousand_orgs
    org = org_entries(url, generated="true")["org0500"]
    [admin] = org["people"]
    tokens = {t["kind"]: t["token"] for t in admin["tokens"]}
    sent = requests.post(f"{url}/v1/messages", timeout=10, json={
        "roomId": admin["botRoomId"], "text": "show"},
        headers={"Authorization": f"Bearer {tokens['user']}"})
    assert sent.status_code == 200, sent.text
    rules = f"{url}/v1/telephony/config/voicemail/rules"
    own = requests.put(rules, params={"orgId": org["id"]}, timeout=10,
                       json={"expirePasscode": {"numberOfDays": 20}},
                       headers={"Authorization": f"Bearer {tokens['integration']}"})
    assert own.status_code == 204, own.text
    other = requests.get(f"{url}/_emulator/voicemail-rules", params={"orgId": "org0501"},
                         timeout=10).json()["rules"]
    assert other["expirePasscode"]["numberOfDays"] == 100  # its own copy changed, no other
    app_id = org["serviceAppIds"][0]
    pair = requests.post(f"{url}/v1/applications/{app_id}/token", timeout=10,
                         json=SA_CLIENT | {"targetOrgId": org["id"]},
                         headers={"Authorization": "Bearer developer-token"})
    assert pair.status_code == 200, pair.text
    machine = requests.get(rules, timeout=10,
                           headers={"Authorization": f"Bearer {pair.json()['access_token']}"})
    assert machine.json()["expirePasscode"]["numberOfDays"] == 20


def test_a_reset_brings_the_generated_orgs_back_as_they_were(thousand_orgs):
    url, _seconds = thousand_orgs
    requests.post(f"{url}/_emulator/reset", timeout=60).raise_for_status()
    org = org_entries(url, generated="true")["org0500"]
    rules = requests.get(f"{url}/_emulator/voicemail-rules", params={"orgId": org["id"]},
                         timeout=10).json()["rules"]
    assert rules["expirePasscode"]["numberOfDays"] == 100
    assert len(org_entries(url, generated="true")) == 1000


def test_a_wrong_orgs_count_is_refused_with_one_line():
    done = subprocess.run(emulator_command(free_port(), "--orgs", "-1"), cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--orgs must be between 0 and 100000" in done.stderr
