"""Keep exactly one webhook per subscription the bot needs, pointing at its public URL.

``sync`` is idempotent: it creates what is missing, updates a webhook whose target or secret
changed, re-activates one that Webex disabled, and deletes extra copies. It runs from the CLI,
never at import or in a gunicorn worker.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from webexpythonsdk import WebexAPI

WEBHOOK_NAME = "Voicemail Rules Bot"
SUBSCRIPTIONS = (("messages", "created"), ("attachmentActions", "created"))


@dataclass(frozen=True)
class WebhookState:
    resource: str
    event: str
    webhook_id: str | None
    status: str  # "active", "inactive", "missing"
    target_url: str | None
    # Whether the webhook's secret (Webex returns it in GET /webhooks) is WEBEX_WEBHOOK_SECRET:
    # if not, Webex signs its deliveries with another key and the bot refuses every one with 401.
    # None when not compared (no secret given, or no webhook).
    secret_matches: bool | None = None

    @property
    def healthy(self) -> bool:
        return self.status == "active" and self.secret_matches is not False


def _ours(webhook, resource: str, event: str) -> bool:
    return webhook.resource == resource and webhook.event == event and \
        (webhook.name or "").startswith(WEBHOOK_NAME)


def same_secret(webhook, secret: str) -> bool:
    """Whether ``webhook`` signs with ``secret``, compared in constant time (never printed)."""
    theirs = getattr(webhook, "secret", None) or ""
    return hmac.compare_digest(theirs.encode(), secret.encode())


def sync(api: WebexAPI, *, target_url: str, secret: str) -> list[str]:
    """Make the bot's webhooks match ``target_url`` and ``secret``; return one line per action."""
    existing = list(api.webhooks.list())
    report = []
    for resource, event in SUBSCRIPTIONS:
        name = f"{WEBHOOK_NAME} {resource}/{event}"
        mine = [w for w in existing if _ours(w, resource, event)]
        if not mine:
            created = api.webhooks.create(name=name, targetUrl=target_url, resource=resource,
                                          event=event, secret=secret)
            report.append(f"{resource}/{event}: created {created.id}")
            continue
        keep, extras = mine[0], mine[1:]
        for extra in extras:
            api.webhooks.delete(extra.id)
            report.append(f"{resource}/{event}: deleted duplicate {extra.id}")
        if (keep.targetUrl, keep.name, keep.status) != (target_url, name, "active") or \
                not same_secret(keep, secret):
            api.webhooks.update(keep.id, name=name, targetUrl=target_url, secret=secret,
                                status="active")
            was = "re-activated" if keep.status != "active" else "updated"
            report.append(f"{resource}/{event}: {was} {keep.id}")
        else:
            report.append(f"{resource}/{event}: up to date {keep.id}")
    return report


def status(api: WebexAPI, *, secret: str | None = None) -> list[WebhookState]:
    """The state of each webhook the bot needs, as Webex reports it; with ``secret``, whether
    each one's secret is that one."""
    existing = list(api.webhooks.list())
    states = []
    for resource, event in SUBSCRIPTIONS:
        mine = [w for w in existing if _ours(w, resource, event)]
        if not mine:
            states.append(WebhookState(resource, event, None, "missing", None))
        for webhook in mine:
            matches = same_secret(webhook, secret) if secret is not None else None
            states.append(WebhookState(resource, event, webhook.id, webhook.status,
                                       webhook.targetUrl, matches))
    return states


def reactivate(api: WebexAPI, states: list[WebhookState], *, secret: str) -> list[WebhookState]:
    """Turn back on every webhook Webex disabled (it never does so itself); return those revived.

    The PUT requires ``name`` and ``targetUrl``, which are kept as they are. ``secret`` is always
    sent: what Webex does with a PUT that omits it is not documented, and a webhook left without
    the bot's secret would deliver events the bot refuses.
    """
    revived = []
    for state in states:
        if state.status == "inactive" and state.webhook_id:
            webhook = api.webhooks.get(state.webhook_id)
            api.webhooks.update(state.webhook_id, name=webhook.name, targetUrl=webhook.targetUrl,
                                secret=secret, status="active")
            revived.append(state)
    return revived
