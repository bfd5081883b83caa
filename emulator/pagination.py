"""List answers with ``max`` and ``Link: <...>; rel="next"`` as Webex pages them."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import jsonify, request

from .errors import bad_request


def page_size(default: int = 100, limit: int = 1000) -> int:
    raw = request.args.get("max", str(default))
    try:
        size = int(raw)
    except ValueError as exc:
        raise bad_request(f"Invalid max value: {raw!r}") from exc
    if not 1 <= size <= limit:
        raise bad_request(f"max must be between 1 and {limit}.")
    return size


def paginated(items: list[dict], *, default_max: int = 100, limit: int = 1000):
    """Answer ``{"items": [...]}`` for one page; a ``cursor`` query parameter selects the page."""
    size = page_size(default_max, limit)
    try:
        start = int(request.args.get("cursor", "0"))
    except ValueError as exc:
        raise bad_request("Invalid cursor.") from exc
    page = items[start:start + size]
    response = jsonify({"items": page})
    if start + size < len(items):
        query = request.args.to_dict()
        query["cursor"] = str(start + size)
        query["max"] = str(size)
        url = f"{request.base_url}?{urlencode(query)}"
        response.headers["Link"] = f'<{url}>; rel="next"'
    return response
