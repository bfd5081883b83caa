"""The browser's part of an Integration's authorization, done with ``requests``: the emulator's
consent page (Webex's ``/v1/authorize``) opened as a seeded person, answered, and the redirect's
target (the bot's ``/oauth/callback``) returned for the caller to open."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests


def with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update({k: v for k, v in changes.items() if v is not None})
    for key in [k for k, v in changes.items() if v is None]:
        query.pop(key, None)
    return urlunsplit(parts._replace(query=urlencode(query)))


def consent(emulator, url: str, person: str = "alice", decision: str = "allow") -> str:
    """Open the consent page as ``person`` and answer it; the redirect's target (the callback)."""
    page = requests.get(with_query(url, personId=emulator.id(person)), timeout=10)
    assert page.status_code == 200, page.text
    request_id = re.search(r'name="requestId" value="([^"]+)"', page.text).group(1)
    answer = requests.post(f"{emulator.base_url}authorize", allow_redirects=False, timeout=10,
                           data={"requestId": request_id, "personId": emulator.id(person),
                                 "decision": decision})
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]
