"""The voicemail rules client against the emulator over HTTP, with injected faults."""

from __future__ import annotations

import time

import pytest
import requests

from bot.webex.errors import WebexCallError
from bot.webex.rules_client import RulesClient, environment_once, retrying_session


class Client:
    """The rules client with a fixed token, as the tests use it."""

    def __init__(self, emulator, token: str, **session_options):
        session = retrying_session(backoff=0.01, **session_options)
        self._client = RulesClient(base_url=emulator.base_url, session=session, timeout=5)
        self._token = token

    def get(self):
        return self._client.get(self._token)

    def put(self, patch):
        return self._client.put(self._token, patch)


def client(emulator, token: str = "admin-token", **session_options) -> Client:
    return Client(emulator, token, **session_options)


def test_reads_the_seeded_rules(emulator):
    rules = client(emulator).get()
    assert rules["expirePasscode"] == {"enabled": True, "numberOfDays": 100}
    assert "defaultVoicemailPin" not in rules


def test_put_applies_only_the_sent_sections(emulator):
    rules_client = client(emulator)
    rules_client.put({"changePasscode": {"enabled": True, "numberOfDays": 3}})
    after = rules_client.get()
    assert after["changePasscode"] == {"enabled": True, "numberOfDays": 3}
    assert after["expirePasscode"] == {"enabled": True, "numberOfDays": 100}


def test_webex_refusal_carries_description_and_tracking_id(emulator):
    with pytest.raises(WebexCallError) as caught:
        client(emulator).put({"expirePasscode": {"enabled": True, "numberOfDays": 101}})
    assert caught.value.status == 400 and not caught.value.is_unavailable
    assert caught.value.description and caught.value.tracking_id.startswith("ROUTER_")


def test_429_is_retried_honouring_retry_after(emulator):
    emulator.add_fault(method="GET", path="/v1/telephony/*", status=429, retryAfter=1, count=1)
    started = time.monotonic()
    assert client(emulator).get()["changePasscode"]["numberOfDays"] == 1
    assert time.monotonic() - started >= 0.9
    assert emulator.calls()["GET /v1/telephony/config/voicemail/rules"] == 2


def test_retry_after_is_capped(emulator):
    emulator.add_fault(method="GET", path="/v1/telephony/*", status=503, retryAfter=3600, count=1)
    started = time.monotonic()
    client(emulator, max_retry_after=0.2).get()
    assert time.monotonic() - started < 5


def test_malformed_retry_after_falls_back_to_backoff(emulator):
    emulator.add_fault(method="GET", path="/v1/telephony/*", status=429, retryAfter="soon",
                       count=1)
    assert client(emulator).get()["expirePasscode"]["enabled"] is True


def test_persistent_unavailability_is_reported_after_bounded_retries(emulator):
    emulator.add_fault(method="PUT", path="/v1/telephony/*", status=503)
    with pytest.raises(WebexCallError) as caught:
        client(emulator).put({"changePasscode": {"enabled": True, "numberOfDays": 2}})
    assert caught.value.status == 503 and caught.value.is_unavailable
    assert emulator.calls()["PUT /v1/telephony/config/voicemail/rules"] == 4  # 1 + 3 retries


def test_dropped_connections_are_retried_then_reported(emulator):
    emulator.add_fault(method="GET", path="/v1/telephony/*", drop=True, count=1)
    assert client(emulator).get()["expirePasscode"]["numberOfDays"] == 100
    emulator.add_fault(method="GET", path="/v1/telephony/*", drop=True)
    with pytest.raises(WebexCallError) as caught:
        client(emulator).get()
    assert caught.value.status is None and caught.value.is_unavailable


def test_expired_token_is_reported_as_unauthorized(emulator):
    with pytest.raises(WebexCallError) as caught:
        client(emulator, token="expired-token").get()
    assert caught.value.is_unauthorized


def test_proxy_settings_from_the_environment_are_kept_when_resolved_once(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = environment_once(requests.Session(), "https://webexapis.com/v1/")
    assert session.proxies["https"] == "http://proxy.example:3128"
    assert session.trust_env is False  # not read again on every request


def test_no_proxy_for_the_webex_host_is_honoured(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "webexapis.com")
    session = environment_once(requests.Session(), "https://webexapis.com/v1/")
    assert "https" not in session.proxies


def test_a_ca_bundle_named_in_the_environment_is_kept(monkeypatch, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    session = environment_once(requests.Session(), "https://webexapis.com/v1/")
    assert session.verify == str(bundle)
