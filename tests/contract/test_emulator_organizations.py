"""The emulator's Organizations API (``GET /v1/organizations[/{orgId}]``), over HTTP: what
``whoami`` reads to name the managed org. Shape ``{id, displayName, created}``, admins only."""

from __future__ import annotations

import requests

from tests.contract.test_emulator_messaging import assert_webex_error


def get(emulator, path: str, token: str) -> requests.Response:
    return requests.get(f"{emulator.base_url}{path}", timeout=10,
                        headers={"Authorization": f"Bearer {token}"})


def test_an_admin_token_reads_its_own_organization(emulator):
    acme = emulator.id("acme")
    answer = get(emulator, f"organizations/{acme}", "admin-token")
    assert answer.status_code == 200
    assert answer.json() == {"id": acme, "displayName": "Acme Telephony",
                             "created": answer.json()["created"]}
    listed = get(emulator, "organizations", "admin-token").json()["items"]
    assert [org["displayName"] for org in listed] == ["Acme Telephony"]


def test_another_org_a_user_token_or_an_unknown_id_is_refused(emulator):
    assert_webex_error(get(emulator, f"organizations/{emulator.id('globex')}", "admin-token"), 403)
    assert_webex_error(get(emulator, f"organizations/{emulator.id('acme')}", "alice-token"), 403)
    assert_webex_error(get(emulator, f"organizations/{emulator.id('acme')}", "bot-token"), 403)
    assert_webex_error(get(emulator, "organizations/nope", "admin-token"), 404)
    assert get(emulator, "organizations", "nobody").status_code == 401
