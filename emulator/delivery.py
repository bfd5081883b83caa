"""Webhook delivery: signed envelopes POSTed to every matching webhook from a background pool.

``publish`` picks the webhooks that would see an event in Webex (resource/event, filter, and what
the webhook's owner may see), builds each envelope once, and hands the POSTs to a small thread
pool so the API call that caused the event answers at once, as Webex's does. Every attempt is
recorded in ``state.deliveries``; failures (connection error, timeout, non-2xx) are counted per
webhook, and too many within the window turn the webhook ``inactive`` until a
``PUT /v1/webhooks/{id}`` with ``status: "active"`` revives it.

Seed keys (all optional): ``webhookDisableAfterFailures`` (100), ``webhookFailureWindowSeconds``
(300), ``webhookDeliveryTimeoutSeconds`` (10).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

import requests

from .ids import now_iso
from .state import State

log = logging.getLogger(__name__)

DISABLE_AFTER_FAILURES = 100
FAILURE_WINDOW_SECONDS = 300.0
TIMEOUT_SECONDS = 10.0
KEEP_DELIVERIES = 2000

_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="webhook-delivery")
_sessions = threading.local()
_idle = threading.Condition()
_pending: Counter = Counter()  # id(state) -> deliveries queued or in flight


def publish(state: State, *, resource: str, event: str, data: dict, actor_id: str,
            message: dict | None = None) -> None:
    """Deliver ``resource``/``event`` with ``data`` to every webhook that should see it.

    ``data`` is sent as the envelope's ``data`` unchanged. ``message`` is the full message the
    event is about (the message itself for ``messages``, the card's message for
    ``attachmentActions``): it decides who may see the event (mentions, the card's author).
    Returns at once; delivery happens in the background.
    """
    with state.lock:
        jobs = [_job(state, webhook, resource, event, data, actor_id)
                for webhook in state.webhooks.values()
                if webhook["status"] == "active"
                and _subscribed(webhook, resource, event)
                and filter_matches(webhook.get("filter", ""), data, message, webhook["createdBy"])
                and may_see(state, webhook["createdBy"], resource, data, message)]
    for job in jobs:
        with _idle:
            _pending[id(state)] += 1
        _pool.submit(_deliver, state, job)


def wait_idle(state: State, timeout: float = 10.0) -> bool:
    """Block until every delivery published for ``state`` has finished; False on timeout."""
    with _idle:
        return _idle.wait_for(lambda: _pending[id(state)] == 0, timeout)


def sign(secret: str, body: bytes) -> str:
    """``X-Spark-Signature``: hex HMAC-SHA1 of the exact body bytes, keyed with the secret."""
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def envelope(webhook: dict, data: dict, actor_id: str, resource: str, event: str) -> dict:
    """What Webex POSTs: the webhook's own fields (no targetUrl, no secret), actorId and data.

    ``resource``/``event`` are the event's own, which differ from the webhook's for ``all``.
    """
    body = {"id": webhook["id"], "name": webhook["name"], "resource": resource, "event": event}
    if webhook.get("filter"):
        body["filter"] = webhook["filter"]
    body.update({
        "orgId": webhook["orgId"], "createdBy": webhook["createdBy"], "appId": webhook["appId"],
        "ownedBy": webhook["ownedBy"], "status": "active", "created": webhook["created"],
        "actorId": actor_id, "data": data,
    })
    return body


def _subscribed(webhook: dict, resource: str, event: str) -> bool:
    return webhook["resource"] in ("all", resource) and webhook["event"] in ("all", event)


def _mentioned(data: dict, message: dict | None) -> list[str]:
    source = message if message is not None else data
    return list(source.get("mentionedPeople") or [])


def filter_matches(filter_text: str, data: dict, message: dict | None, owner_id: str) -> bool:
    """Whether ``data`` passes a webhook filter such as ``roomId=X&mentionedPeople=me``."""
    for clause in filter(None, (filter_text or "").split("&")):
        key, _, raw = clause.partition("=")
        value = unquote(raw)
        if key == "mentionedPeople":
            wanted = owner_id if value == "me" else value
            if wanted not in _mentioned(data, message):
                return False
        elif key == "hasFiles":
            files = data.get("files") or (message or {}).get("files")
            if (value.lower() == "true") != bool(files):
                return False
        elif key.endswith("Email"):
            if str(data.get(key, "")).lower() != value.lower():
                return False
        else:
            actual = data.get(key)
            if isinstance(actual, bool):
                actual = "true" if actual else "false"
            if actual is None or str(actual) != value:
                return False
    return True


def may_see(state: State, owner_id: str, resource: str, data: dict,
            message: dict | None) -> bool:
    """Whether the webhook's owner would be told about this event in Webex.

    Messages: members of the room only; a bot hears group-room messages only when mentioned
    (always in direct rooms), and hears its own messages too. Card submits go to the card's
    author only. Memberships: room members and the person the membership is about.
    """
    owner = state.people.get(owner_id)
    if owner is None:
        return False
    if resource == "messages":
        room = state.rooms.get(data.get("roomId", ""))
        if room is None or not state.is_member(room["id"], owner_id):
            return False
        if owner["type"] == "bot" and room["type"] == "group":
            # Its own posts reach it in every room (bots rely on ignoring them to avoid loops).
            return owner_id in _mentioned(data, message) or data.get("personId") == owner_id
        return True
    if resource == "attachmentActions":
        if message is not None:
            return message.get("personId") == owner_id
        return state.is_member(data.get("roomId", ""), owner_id)
    if resource == "memberships":
        return data.get("personId") == owner_id or state.is_member(data.get("roomId", ""), owner_id)
    if resource == "rooms":
        return state.is_member(data.get("id", ""), owner_id)
    return owner_id == data.get("personId")


def _job(state: State, webhook: dict, resource: str, event: str, data: dict,
         actor_id: str) -> dict:
    body = json.dumps(envelope(webhook, data, actor_id, resource, event)).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Webex emulator webhooks"}
    if webhook.get("secret"):
        headers["X-Spark-Signature"] = sign(webhook["secret"], body)
    return {"webhookId": webhook["id"], "targetUrl": webhook["targetUrl"], "resource": resource,
            "event": event, "dataId": data.get("id"), "body": body, "headers": headers}


def _session() -> requests.Session:
    """One session per worker thread; proxies from the environment are ignored (local only)."""
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
        session.trust_env = False
    return session


def _deliver(state: State, job: dict) -> None:
    try:
        with state.lock:
            webhook = state.webhooks.get(job["webhookId"])
            if webhook is None or webhook["status"] != "active":
                return  # deleted or disabled while queued: Webex stops delivering too
        _attempt(state, job)
    except Exception:  # noqa: BLE001 - a delivery bug must never kill the pool
        log.exception("webhook delivery crashed")
    finally:
        with _idle:
            _pending[id(state)] -= 1
            _idle.notify_all()


def _attempt(state: State, job: dict) -> None:
    started = time.monotonic()
    status, error = None, None
    try:
        response = _session().post(job["targetUrl"], data=job["body"], headers=job["headers"],
                                   timeout=_setting(state, "webhookDeliveryTimeoutSeconds",
                                                    TIMEOUT_SECONDS))
        status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
    record = {"webhookId": job["webhookId"], "resource": job["resource"], "event": job["event"],
              "dataId": job["dataId"], "targetUrl": job["targetUrl"], "status": status,
              "error": error, "ok": error is None,
              "ms": round((time.monotonic() - started) * 1000, 1), "time": now_iso()}
    with state.lock:
        state.deliveries.append(record)
        del state.deliveries[:-KEEP_DELIVERIES]
        if error is not None:
            _count_failure(state, job["webhookId"])


def _count_failure(state: State, webhook_id: str) -> None:
    """Remember the failure; disable the webhook when too many fall within the window."""
    now = time.monotonic()
    window = _setting(state, "webhookFailureWindowSeconds", FAILURE_WINDOW_SECONDS)
    failures = [t for t in state.webhook_failures.get(webhook_id, []) if now - t < window]
    failures.append(now)
    state.webhook_failures[webhook_id] = failures
    webhook = state.webhooks.get(webhook_id)
    limit = int(_setting(state, "webhookDisableAfterFailures", DISABLE_AFTER_FAILURES))
    if webhook is not None and webhook["status"] == "active" and len(failures) >= limit:
        webhook["status"] = "inactive"
        log.info("webhook %s disabled after %d failed deliveries", webhook_id, len(failures))


def _setting(state: State, key: str, default: float) -> float:
    return float(state.seed.get(key, default))
