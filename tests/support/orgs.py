"""Orgs connected to one deployment for a test: the Service App's settings, each org's pair
stored as ``admin service-app`` stores it, and what a reader sees of a bot message."""

from __future__ import annotations

import requests

from bot.config import AdminClient
from bot.storage.admin_grants import AdminGrants
from bot.storage.secret_box import SecretBox
from bot.storage.store import Store, upgrade
from bot.webex import oauth
from tests.support.bot_server import card_text
from tests.support.factories import SECRET_KEY, make_settings

# The settings of a deployment whose orgs are connected by the Service App (no WEBEX_ADMIN_TOKEN).
SERVICE_APP = {"webex_admin_token": None, "webex_admin_client_id": "vmrules-sa-client-id",
               "webex_admin_client_secret": "vmrules-sa-client-secret"}


def connect(emulator, tmp_path, *org_keys: str) -> dict[str, str]:
    """Store a Service App pair for each org (authorized in it first), as `admin service-app`
    does; each org's access token."""
    settings = make_settings(tmp_path, webex_base_url=emulator.base_url, **SERVICE_APP)
    upgrade(settings.database_url)
    store = Store(settings.database_url)
    grants, tokens = AdminGrants(store, SecretBox(SECRET_KEY.encode())), {}
    client = AdminClient("vmrules-sa-client-id", settings.webex_admin_client_secret)
    for key in org_keys:
        emulator.control("PUT", f"serviceApps/vmrules-service-app/orgs/{key}")
        pair = oauth.service_app_token(settings, application_id=emulator.id("vmrules-service-app"),
                                       client=client, org_id=emulator.id(key),
                                       applications_token="developer-token")
        grants.save(kind="service-app", client_id=client.client_id, pair=pair,
                    owner_id=f"machine-{key}", owner_name=f"Service App in {key}",
                    org_id=emulator.id(key), scopes=oauth.ALL_SCOPES)
        tokens[key] = pair.access_token
    store.dispose()
    return tokens


def put_expiry(emulator, token: str, days: int) -> None:
    """An admin of the token's org sets its passcode expiry outside the bot (Control Hub)."""
    response = requests.put(f"{emulator.base_url}telephony/config/voicemail/rules", timeout=10,
                            headers={"Authorization": f"Bearer {token}"},
                            json={"expirePasscode": {"enabled": True, "numberOfDays": days}})
    assert response.status_code == 204, response.text


def said(message: dict) -> str:
    """Everything a reader sees of a bot message: its text and its card."""
    text = message.get("markdown") or message.get("text") or ""
    return text + (card_text(message) if message.get("attachments") else "")
