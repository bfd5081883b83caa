"""nginx in front of gunicorn, configured with the checked-in deploy/nginx files (issue 14, item 6).

Debian's nginx runs the site file and its proxy snippet as README says to install them, only the
ports, the log directory and the certificate moved (``tests/support/nginx_process.py``; plain
HTTP except in the TLS test), in front of the bot under gunicorn with the checked-in config and
the emulator as Webex: signed deliveries are answered through it and wrongly signed ones refused,
what a client could forge does not reach gunicorn, the log keeps no secret, and slow or half-open
clients wait in nginx while a signed delivery is acknowledged in under a second.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.bot_process import BotProcess, bot_env, flask_cli, free_port, start_gunicorn
from tests.support.deliveries import event_for, say
from tests.support.factories import SECRET, envelope, signed
from tests.support.hostile_clients import (
    BODY_HEADERS,
    Hostile,
    Swarm,
    bot_replies,
    open_files_for_a_swarm,
    press,
)
from tests.support.nginx_process import SERVER_NAME, SNIPPET, Certificate, Nginx, nginx_in_front
from tests.support.waiting import wait_until

HOLD_SECONDS = 12.0
SWARM_SOURCES = tuple(f"127.0.0.{n}" for n in range(2, 12))  # 25 connections from each
PER_ADDRESS = int(re.search(r"limit_conn vmrules_per_ip (\d+);", SNIPPET.read_text())[1])


@dataclass
class Proxied:
    nginx: Nginx
    bot: BotProcess
    env: dict[str, str]
    workdir: Path
    port: int      # nginx's main server
    bot_port: int  # gunicorn's

    @property
    def url(self) -> str:
        return self.nginx.https_url


@pytest.fixture(scope="module")
def proxied(emulator_session, tmp_path_factory):
    """The bot under gunicorn (2 workers, the checked-in config) behind nginx; ``PUBLIC_URL`` is
    nginx's, so the webhooks that ``webhooks sync`` registers point at it."""
    workdir = tmp_path_factory.mktemp("nginx")
    nginx_port, bot_port = free_port(), free_port()
    env = bot_env(emulator_session, workdir, SECRET, bot_port,
                  PUBLIC_URL=f"http://127.0.0.1:{nginx_port}/")
    with open_files_for_a_swarm():  # inherited by gunicorn and nginx
        bot = start_gunicorn(env, workdir, bot_port)
        try:
            with nginx_in_front(bot_port, workdir, port=nginx_port) as nginx:
                yield Proxied(nginx, bot, env, workdir, nginx_port, bot_port)
        finally:
            bot.stop()


def test_a_signed_delivery_from_the_emulator_is_answered_through_nginx(emulator, proxied):
    synced = flask_cli(proxied.env, proxied.workdir, "webhooks", "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr

    sent = say(emulator, "show")

    def delivered() -> list[int]:
        return [d["status"] for d in emulator.control("GET", "deliveries").json()["items"]
                if d["dataId"] == sent["id"]]

    assert wait_until(delivered, "the emulator's delivery through nginx", timeout=15) == [202]
    wait_until(lambda: bot_replies(emulator) == 1, "the bot's reply to show", timeout=15)
    assert f"event messages:created:{sent['id']} accepted" in proxied.bot.log()


def test_a_wrongly_signed_delivery_is_refused_through_nginx(emulator, proxied):
    raw, _headers = event_for(emulator, say(emulator, "show"))
    _raw, wrong = signed(raw, "not-the-webhook-secret")
    assert post(proxied.url, raw, wrong).status_code == 401
    unsigned = {"Content-Type": "application/json"}
    assert post(proxied.url, raw, unsigned).status_code == 401


def test_a_client_cannot_forge_the_scheme_or_the_wsgi_path(emulator, proxied):
    # gunicorn trusts these from 127.0.0.1, where nginx connects from: had nginx passed them on,
    # the scheme headers would contradict X-Forwarded-Proto (gunicorn answers 400) and SCRIPT_NAME
    # would move the path the bot sees.
    raw, headers = event_for(emulator, say(emulator, "show"))
    forged = headers | {"X-Forwarded-Ssl": "on", "X-Forwarded-Protocol": "ssl",
                        "Forwarded": "proto=https", "SCRIPT_NAME": "/webhooks",
                        "X-Forwarded-For": "203.0.113.9"}
    assert post(proxied.url, raw, forged).status_code == 202
    wait_until(lambda: bot_replies(emulator) == 1, "the bot's reply to show", timeout=15)


def test_a_body_over_the_bots_limit_is_refused_by_nginx(proxied):
    huge = envelope(data_id="too-big")
    huge["data"]["padding"] = "x" * (1024 * 1024)
    raw, headers = signed(huge)
    before = len(proxied.bot.log())
    assert post(proxied.url, raw, headers).status_code == 413
    assert "/webhooks/webex" not in proxied.bot.log()[before:], "gunicorn saw the request"


def test_the_access_log_keeps_no_code_signature_or_body(emulator, proxied):
    callback = requests.get(f"{proxied.url}/oauth/callback", timeout=10,
                            params={"code": "the-authorization-code", "state": "the-state"})
    assert callback.status_code == 400  # an unknown state: refused by the bot, through nginx
    raw, headers = event_for(emulator, say(emulator, "show"))
    assert post(proxied.url, raw, headers).status_code == 202
    message_id = json.loads(raw)["data"]["id"]

    log = wait_until(lambda: ("POST /webhooks/webex" in proxied.nginx.access_log()
                              and proxied.nginx.access_log()), "nginx's access log")
    assert re.search(r'"GET /oauth/callback HTTP/1\.1" 400 ', log), log
    assert re.search(r'"POST /webhooks/webex HTTP/1\.1" 202 ', log), log
    for secret in ("the-authorization-code", "the-state", headers["X-Spark-Signature"],
                   message_id):
        assert secret not in log


def test_the_error_log_never_quotes_an_oauth_callbacks_code(tmp_path):
    # gunicorn down: nginx logs each 502 with its request line, but not the callback's.
    with nginx_in_front(free_port(), tmp_path, wait_ready=False) as nginx:
        callback = requests.get(f"{nginx.https_url}/oauth/callback", timeout=10,
                                params={"code": "the-authorization-code", "state": "the-state"})
        other = requests.get(f"{nginx.https_url}/oauth/callback/x", timeout=10,
                             params={"code": "a-marker-for-other-paths"})
        assert callback.status_code == other.status_code == 502
        logged = wait_until(lambda: "a-marker-for-other-paths" in nginx.error_log()
                            and nginx.error_log(), "the other path's 502 in the error log")
    assert "the-authorization-code" not in logged and "the-state" not in logged


def test_plain_http_only_redirects_to_https(proxied):
    answer = requests.get(f"{proxied.nginx.http_url}/healthz?x=1", timeout=10,
                          allow_redirects=False)
    assert answer.status_code == 301
    assert answer.headers["Location"] == f"https://{SERVER_NAME}/healthz?x=1"


def test_slow_and_half_open_clients_wait_in_nginx_not_in_gunicorn(emulator, proxied):
    seen_by_gunicorn = len(proxied.bot.log())
    swarm = Swarm(proxied.port, sources=SWARM_SOURCES)
    try:
        press(swarm, emulator, proxied.url, HOLD_SECONDS)
        assert len(swarm.clients) == 250
        # nginx let go of stalled headers (5 s) and stalled bodies (10 s without a byte); a body
        # trickled a byte a second is held in nginx, under its per-address limit.
        let_go = {kind for kind, _how in swarm.let_go}
        assert let_go == {c.kind for c in swarm.clients} - {"trickled-body"}, swarm.let_go
    finally:
        swarm.stop()
    # gunicorn saw only whole requests: the test's own three deliveries and health checks.
    requests_seen = re.findall(r'"(\w+ \S+) HTTP/1\.\d" (\d+)', proxied.bot.log()[seen_by_gunicorn:])
    assert sorted(requests_seen) == [("GET /healthz", "200")] * 3 + [
        ("POST /webhooks/webex", "202")] * 3, requests_seen
    assert proxied.bot.popen.poll() is None


def test_one_address_cannot_hold_more_than_its_share(emulator, proxied):
    one_address = [Hostile("one-body-byte", BODY_HEADERS + b"{", source="127.0.0.66")
                   for _ in range(PER_ADDRESS + 5)]
    elsewhere = Hostile("one-body-byte", BODY_HEADERS + b"{", source="127.0.0.67")
    try:
        for client in [*one_address, elsewhere]:
            client.open(proxied.port)
        time.sleep(2)  # nginx answers at once; its body deadline (10 s) is far off
        answers = Counter(client.let_go() for client in one_address)
        assert answers == {None: PER_ADDRESS, "HTTP/1.1 429 Too Many Requests": 5}, answers
        assert elsewhere.let_go() is None  # another address is not limited
        raw, headers = event_for(emulator, say(emulator, "show"))
        assert post(proxied.url, raw, headers).status_code == 202  # nor is Webex's
    finally:
        for client in [*one_address, elsewhere]:
            client.close()


def test_the_tls_server_answers_with_the_configured_certificate(emulator, proxied, tmp_path):
    certificate = self_signed_certificate(tmp_path)
    with nginx_in_front(proxied.bot_port, tmp_path, certificate=certificate) as nginx:
        answer = requests.get(f"{nginx.https_url}/healthz", timeout=10,
                              verify=str(certificate.chain))
        assert answer.status_code == 200 and answer.json()["status"] == "ok"
        assert answer.headers["Strict-Transport-Security"] == "max-age=63072000"
        assert "nginx/" not in answer.headers.get("Server", "")
        raw, headers = event_for(emulator, say(emulator, "show"))
        delivered = requests.post(f"{nginx.https_url}/webhooks/webex", data=raw, headers=headers,
                                  timeout=10, verify=str(certificate.chain))
        assert delivered.status_code == 202
        wait_until(lambda: bot_replies(emulator) == 1, "the bot's reply to show", timeout=15)


def post(url: str, raw: bytes, headers: dict) -> requests.Response:
    return requests.post(f"{url}/webhooks/webex", data=raw, headers=headers, timeout=10)


def self_signed_certificate(directory: Path) -> Certificate:
    """A certificate for bot.example.com and 127.0.0.1 (what the test connects to), and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName(SERVER_NAME), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    chain, key_file = directory / "fullchain.pem", directory / "privkey.pem"
    chain.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return Certificate(chain, key_file)
