"""The emulator's webhooks: CRUD over HTTP and the SDK, signed deliveries to a local receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from webexpythonsdk import WebexAPI

from emulator import delivery
from emulator.ids import webex_id

ENVELOPE_KEYS = {"id", "name", "resource", "event", "orgId", "createdBy", "appId", "ownedBy",
                 "status", "created", "actorId", "data"}
WEBHOOK_KEYS = {"id", "name", "targetUrl", "resource", "event", "orgId", "createdBy", "appId",
                "ownedBy", "status", "created"}


class Receiver:
    """A tiny HTTP server that records each POST and answers ``status``."""

    def __init__(self):
        self.received: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.02})  # quick stop()
        self._thread.start()

    def envelopes(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.received]

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver(emulator):
    server = Receiver()
    yield server
    delivery.wait_idle(emulator.state, 15)
    server.stop()


def call(emulator, method: str, path: str, token: str = "bot-token", **kwargs):
    return requests.request(method, f"{emulator.base_url}{path}", timeout=10,
                            headers={"Authorization": f"Bearer {token}"}, **kwargs)


def create(emulator, token: str = "bot-token", **fields) -> dict:
    body = {"name": "hook", "targetUrl": "https://bot.example.com/hook", "resource": "messages",
            "event": "created"} | fields
    response = call(emulator, "POST", "webhooks", token, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def message(emulator, room: str, author: str, *, mentioned: tuple[str, ...] = (),
            publish: bool = True) -> dict:
    """A message as messages.py stores it, published as messages/created."""
    room_id = emulator.id(room)
    person = emulator.state.people[emulator.id(author)]
    msg = {"id": webex_id("MESSAGE"), "roomId": room_id,
           "roomType": emulator.state.rooms[room_id]["type"], "text": "hello",
           "personId": person["id"], "personEmail": person["emails"][0],
           "created": "2024-01-15T09:30:00.000Z"}
    if mentioned:
        msg["mentionedPeople"] = [emulator.id(key) for key in mentioned]
    if publish:
        data = {k: v for k, v in msg.items() if k != "text"}
        delivery.publish(emulator.state, resource="messages", event="created", data=data,
                         actor_id=person["id"], message=msg)
    return msg


def settle(emulator):
    assert delivery.wait_idle(emulator.state, 15)


# --- CRUD -------------------------------------------------------------------------------------

def test_create_answers_the_webhook_as_webex_does(emulator):
    hook = create(emulator, filter=f"roomId={emulator.id('admins')}", secret="s3cret")
    assert set(hook) == WEBHOOK_KEYS | {"filter", "secret"}
    assert hook["status"] == "active" and hook["ownedBy"] == "creator"
    assert hook["createdBy"] == emulator.id("bot") and hook["orgId"] == emulator.id("acme")
    assert hook["secret"] == "s3cret"
    assert call(emulator, "GET", f"webhooks/{hook['id']}").json() == hook
    assert "filter" not in create(emulator)  # absent when not given


@pytest.mark.parametrize("change, named", [
    ({"name": None}, "name"),
    ({"targetUrl": None}, "targetUrl"),
    ({"resource": None}, "resource"),
    ({"event": None}, "event"),
    ({"resource": "mesages"}, "mesages"),
    ({"event": "posted"}, "posted"),
    ({"targetUrl": "ftp://example.com/x"}, "targetUrl"),
    ({"filter": "roomId"}, "filter"),
    ({"filter": "colour=blue"}, "colour"),
    ({"ownedBy": "everyone"}, "ownedBy"),
])
def test_create_refuses_invalid_webhooks_with_a_clear_message(emulator, change, named):
    body = {"name": "hook", "targetUrl": "https://bot.example.com/hook", "resource": "messages",
            "event": "created"} | change
    body = {k: v for k, v in body.items() if v is not None}
    response = call(emulator, "POST", "webhooks", json=body)
    assert response.status_code == 400
    assert named in response.json()["errors"][0]["description"]
    assert emulator.state.webhooks == {}


def test_people_only_see_their_own_webhooks(emulator):
    mine = create(emulator)
    theirs = create(emulator, "alice-token")
    listed = call(emulator, "GET", "webhooks").json()["items"]
    assert [w["id"] for w in listed] == [mine["id"]]
    for method, kwargs in (("GET", {}), ("DELETE", {}),
                           ("PUT", {"json": {"name": "x", "targetUrl": "https://x.example/"}})):
        assert call(emulator, method, f"webhooks/{theirs['id']}", **kwargs).status_code == 404
    assert theirs["id"] in emulator.state.webhooks


def test_list_pages_with_link(emulator):
    for n in range(3):
        create(emulator, name=f"hook {n}")
    first = call(emulator, "GET", "webhooks", params={"max": 2})
    assert len(first.json()["items"]) == 2
    second = requests.get(first.links["next"]["url"], timeout=10,
                          headers={"Authorization": "Bearer bot-token"})
    assert [w["name"] for w in second.json()["items"]] == ["hook 2"]


def test_update_and_delete(emulator):
    hook = create(emulator, secret="old")
    response = call(emulator, "PUT", f"webhooks/{hook['id']}",
                    json={"name": "renamed", "targetUrl": "https://new.example.com/h",
                          "secret": "new"})
    assert response.status_code == 200
    assert response.json() == hook | {"name": "renamed",
                                           "targetUrl": "https://new.example.com/h",
                                           "secret": "new"}
    missing = call(emulator, "PUT", f"webhooks/{hook['id']}", json={"name": "only a name"})
    assert missing.status_code == 400 and "targetUrl" in missing.json()["errors"][0]["description"]
    moved = call(emulator, "PUT", f"webhooks/{hook['id']}",
                 json={"name": "x", "targetUrl": "https://x.example/", "resource": "rooms"})
    assert moved.status_code == 400 and "resource" in moved.json()["errors"][0]["description"]
    assert call(emulator, "DELETE", f"webhooks/{hook['id']}").status_code == 204
    assert call(emulator, "GET", f"webhooks/{hook['id']}").status_code == 404


def test_webhooks_through_the_webex_python_sdk(emulator):
    api = WebexAPI(access_token="bot-token", base_url=emulator.base_url)
    created = api.webhooks.create(name="sdk hook", targetUrl="https://bot.example.com/h",
                                  resource="attachmentActions", event="created", secret="abc")
    assert created.status == "active" and created.secret == "abc"
    assert [w.id for w in api.webhooks.list()] == [created.id]
    updated = api.webhooks.update(created.id, name="sdk hook 2",
                                  targetUrl="https://bot.example.com/h2", status="active")
    assert updated.name == "sdk hook 2" and updated.targetUrl.endswith("/h2")
    assert api.webhooks.get(created.id).name == "sdk hook 2"
    api.webhooks.delete(created.id)
    assert list(api.webhooks.list()) == []


# --- delivery ---------------------------------------------------------------------------------

def test_signed_delivery_reaches_the_receiver(emulator, receiver):
    hook = create(emulator, targetUrl=receiver.url, secret="shh-its-a-secret")
    sent = message(emulator, "dm-alice", "alice")
    settle(emulator)
    assert len(receiver.received) == 1
    request = receiver.received[0]
    expected = hmac.new(b"shh-its-a-secret", request["body"], hashlib.sha1).hexdigest()
    assert request["headers"]["X-Spark-Signature"] == expected
    assert request["headers"]["Content-Type"] == "application/json"
    envelope = json.loads(request["body"])
    assert set(envelope) == ENVELOPE_KEYS  # no targetUrl, no secret, no filter when unset
    assert envelope["id"] == hook["id"] and envelope["status"] == "active"
    assert envelope["actorId"] == emulator.id("alice")
    assert envelope["orgId"] == emulator.id("acme") and envelope["createdBy"] == emulator.id("bot")
    assert envelope["data"]["id"] == sent["id"] and "text" not in envelope["data"]
    record = emulator.state.deliveries[-1]
    assert record["webhookId"] == hook["id"] and record["dataId"] == sent["id"]
    assert record["status"] == 200 and record["ok"] and record["targetUrl"] == receiver.url


def test_unsigned_without_a_secret_and_filter_echoed(emulator, receiver):
    create(emulator, targetUrl=receiver.url, filter="roomType=direct")
    message(emulator, "dm-alice", "alice")
    settle(emulator)
    assert "X-Spark-Signature" not in receiver.received[0]["headers"]
    assert receiver.envelopes()[0]["filter"] == "roomType=direct"


@pytest.mark.parametrize("filter_for, delivered", [
    (lambda e: f"roomId={e.id('dm-alice')}", {"dm-alice"}),
    (lambda e: "roomType=group", {"admins-mention", "admins-alice"}),
    (lambda e: f"personId={e.id('rita')}", {"admins-mention"}),
    (lambda e: "personEmail=RITA%40acme.example", {"admins-mention"}),
    (lambda e: "mentionedPeople=me", {"admins-mention"}),
    (lambda e: f"roomType=group&personId={e.id('alice')}", {"admins-alice"}),
])
def test_filters(emulator, receiver, filter_for, delivered):
    """Alice (a person, member of every acme room) filters what her webhook hears."""
    create(emulator, "alice-token", targetUrl=receiver.url, filter=filter_for(emulator))
    sent = {"dm-alice": message(emulator, "dm-alice", "alice"),
            "dm-rita": message(emulator, "dm-rita", "rita"),  # alice is not a member: never
            "admins-mention": message(emulator, "admins", "rita", mentioned=("alice",)),
            "admins-alice": message(emulator, "admins", "alice")}
    settle(emulator)
    got = {e["data"]["id"] for e in receiver.envelopes()}
    assert got == {sent[key]["id"] for key in delivered}


def test_a_bot_hears_group_messages_only_when_mentioned(emulator, receiver):
    create(emulator, targetUrl=receiver.url)
    plain = message(emulator, "admins", "alice")
    mentioned = message(emulator, "admins", "alice", mentioned=("bot",))
    other_mention = message(emulator, "admins", "alice", mentioned=("rita",))
    direct = message(emulator, "dm-nina", "nina")
    own = message(emulator, "dm-alice", "bot")  # the bot's own reply: delivered, bot ignores it
    settle(emulator)
    got = [e["data"]["id"] for e in receiver.envelopes()]
    assert sorted(got) == sorted([mentioned["id"], direct["id"], own["id"]])
    assert plain["id"] not in got and other_mention["id"] not in got


def test_a_bot_hears_its_own_group_messages_unmentioned(emulator, receiver):
    create(emulator, targetUrl=receiver.url)
    own = message(emulator, "admins", "bot")
    message(emulator, "admins", "otherbot")  # another bot, not mentioned: not heard
    settle(emulator)
    envelopes = receiver.envelopes()
    assert [e["data"]["id"] for e in envelopes] == [own["id"]]
    assert envelopes[0]["actorId"] == envelopes[0]["createdBy"] == emulator.id("bot")


def test_nobody_hears_rooms_they_are_not_in(emulator, receiver):
    create(emulator, "otherbot-token", targetUrl=receiver.url)  # echo bot: only in "admins"
    message(emulator, "notify", "alice", mentioned=("otherbot",))
    message(emulator, "dm-alice", "alice")
    in_admins = message(emulator, "admins", "alice", mentioned=("otherbot",))
    settle(emulator)
    assert [e["data"]["id"] for e in receiver.envelopes()] == [in_admins["id"]]


def test_card_submits_go_only_to_the_cards_author(emulator, receiver):
    for token in ("bot-token", "otherbot-token", "alice-token"):
        create(emulator, token, targetUrl=receiver.url, resource="attachmentActions")
    card = message(emulator, "admins", "bot", publish=False)
    action = {"id": webex_id("ATTACHMENT_ACTION"), "type": "submit", "messageId": card["id"],
              "personId": emulator.id("alice"), "roomId": card["roomId"],
              "created": "2024-01-15T09:31:00.000Z"}
    delivery.publish(emulator.state, resource="attachmentActions", event="created", data=action,
                     actor_id=emulator.id("alice"), message=card)
    settle(emulator)
    envelopes = receiver.envelopes()
    assert [e["createdBy"] for e in envelopes] == [emulator.id("bot")]
    assert envelopes[0]["data"] == action and envelopes[0]["resource"] == "attachmentActions"


def test_event_all_hears_every_event_with_its_own_resource_and_event(emulator, receiver):
    create(emulator, targetUrl=receiver.url, event="all")
    create(emulator, targetUrl=receiver.url, event="created", name="created only")
    sent = message(emulator, "dm-alice", "alice")
    delivery.publish(emulator.state, resource="messages", event="deleted",
                     data={k: v for k, v in sent.items() if k != "text"},
                     actor_id=emulator.id("alice"), message=sent)
    settle(emulator)
    seen = sorted((e["name"], e["event"]) for e in receiver.envelopes())
    assert seen == [("created only", "created"), ("hook", "created"), ("hook", "deleted")]


def test_webhook_is_disabled_after_repeated_failures_and_revived_by_put(emulator, receiver,
                                                                       monkeypatch):
    monkeypatch.setitem(emulator.state.seed, "webhookDisableAfterFailures", 3)
    hook = create(emulator, targetUrl=receiver.url)
    receiver.status = 500
    for _ in range(3):
        message(emulator, "dm-alice", "alice")
        settle(emulator)
    assert call(emulator, "GET", f"webhooks/{hook['id']}").json()["status"] == "inactive"
    assert [d["status"] for d in emulator.state.deliveries] == [500, 500, 500]
    assert not any(d["ok"] for d in emulator.state.deliveries)

    receiver.status = 200
    message(emulator, "dm-alice", "alice")
    settle(emulator)
    assert len(receiver.received) == 3  # inactive: nothing more is sent

    revived = call(emulator, "PUT", f"webhooks/{hook['id']}",
                   json={"name": hook["name"], "targetUrl": receiver.url, "status": "active"})
    assert revived.json()["status"] == "active"
    assert hook["id"] not in emulator.state.webhook_failures
    message(emulator, "dm-alice", "alice")
    settle(emulator)
    assert len(receiver.received) == 4 and emulator.state.deliveries[-1]["status"] == 200


def test_unreachable_target_counts_as_a_failure(emulator, monkeypatch):
    monkeypatch.setitem(emulator.state.seed, "webhookDisableAfterFailures", 2)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    hook = create(emulator, targetUrl=f"http://127.0.0.1:{closed_port}/hook")
    for _ in range(2):
        message(emulator, "dm-alice", "alice")
        settle(emulator)
    records = emulator.state.deliveries
    assert all(r["status"] is None and "ConnectionError" in r["error"] for r in records)
    assert emulator.state.webhooks[hook["id"]]["status"] == "inactive"


def test_put_without_status_leaves_an_inactive_webhook_inactive(emulator):
    hook = create(emulator)
    emulator.control("PUT", f"webhooks/{hook['id']}/status", json={"status": "inactive"})
    kept = call(emulator, "PUT", f"webhooks/{hook['id']}",
                json={"name": "n", "targetUrl": hook["targetUrl"]})
    assert kept.json()["status"] == "inactive"
    refused = call(emulator, "PUT", f"webhooks/{hook['id']}",
                   json={"name": "n", "targetUrl": hook["targetUrl"], "status": "inactive"})
    assert refused.status_code == 400


def test_control_api_waits_for_pending_deliveries(emulator, receiver):
    create(emulator, targetUrl=receiver.url)
    message(emulator, "dm-alice", "alice")
    answer = emulator.control("POST", "deliveries/wait", params={"timeout": 10}).json()
    assert answer == {"idle": True} and len(receiver.received) == 1


def test_posting_a_message_through_the_api_is_delivered(emulator, receiver):
    """End to end through messages.py (once it exists): POST /v1/messages reaches the bot."""
    create(emulator, targetUrl=receiver.url, secret="k")
    sent = call(emulator, "POST", "messages", "alice-token",
                json={"roomId": emulator.id("dm-alice"), "text": "show"})
    if sent.status_code in (404, 405):
        pytest.skip("POST /v1/messages is not implemented yet")
    assert sent.status_code == 200, sent.text
    settle(emulator)
    [envelope] = receiver.envelopes()
    assert envelope["data"]["id"] == sent.json()["id"]
    assert envelope["actorId"] == emulator.id("alice")
