"""The emulator's consent page (``/v1/authorize``) and the panel's Authorizations tab in Chromium.

The redirect URI is the emulator's own ``/oauth/callback`` (allowed on any local port), so the
browser really follows the redirect and the test reads the code from where it landed.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import expect

from tests.support.emulator_server import start_emulator


@pytest.fixture(scope="module")
def emulator():
    server = start_emulator()
    yield server
    server.stop()


def consent_url(emulator, state: str) -> str:
    return f"{emulator.base_url}authorize?" + urlencode({
        "client_id": "vmrules-client-id", "response_type": "code",
        "redirect_uri": f"{emulator.url}/oauth/callback", "state": state,
        "scope": "spark-admin:people_read spark-admin:telephony_config_write"})


def landed(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_accept_and_decline_on_the_consent_page(browser, emulator):
    emulator.reset()
    page = browser.new_page()
    try:
        page.goto(consent_url(emulator, "s-1"))
        expect(page.get_by_role("heading")).to_contain_text("Voicemail Rules Bot wants to access")
        expect(page.locator("main")).to_contain_text("Change your organization's calling settings")
        page.get_by_label("Signed in as").select_option(emulator.id("rita"))
        page.get_by_role("button", name="Accept").click()
        page.wait_for_url("**/oauth/callback?**")
        query = landed(page)
        assert query["state"] == ["s-1"] and query["code"][0] in emulator.state.oauth.codes
        assert emulator.state.oauth.codes[query["code"][0]].person_id == emulator.id("rita")

        page.goto(consent_url(emulator, "s-2"))
        page.get_by_role("button", name="Decline").click()
        page.wait_for_url("**/oauth/callback?**")
        assert landed(page) == {"error": ["access_denied"], "state": ["s-2"]}
    finally:
        page.close()


def test_the_panel_lists_waiting_consents_and_authorizes_service_apps(browser, emulator):
    emulator.reset()
    page = browser.new_page()
    try:
        page.goto(consent_url(emulator, "s-3"))
        page.goto(f"{emulator.url}/?panel=authorizations")
        panel = page.locator("#panel-body")
        expect(panel).to_contain_text("Consent pages waiting for an answer")
        link = panel.get_by_role("link", name="Open the consent page")
        expect(link).to_have_count(1)
        globex = panel.get_by_role("row").filter(has_text="Globex Corporation")
        expect(globex).to_contain_text("not authorized")
        globex.get_by_role("button", name="Authorize", exact=True).click()
        expect(globex).to_contain_text("authorized")
        expect(globex.get_by_role("button", name="Deauthorize")).to_be_visible()
        app = next(iter(emulator.state.oauth.service_apps.values()))
        assert emulator.id("globex") in app.authorized_orgs
    finally:
        page.close()
