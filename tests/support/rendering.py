"""What a person sees of a message or card: markdown rendered as the local space page renders it
(markdown-it, links found in bare text, no raw HTML), in messages and in card TextBlocks."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

from markdown_it import MarkdownIt

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": True}) \
    .enable(["strikethrough", "table", "linkify"])
# Webex finds mentions in the raw markdown, whatever markdown makes of it.
MENTION = re.compile(r"<@(?:(?:personId|personEmail):[^|>]+|all)(?:\|[^>]*)?>")


def render(markdown: str) -> str:
    return _MARKDOWN.render(markdown)


def visible(markdown: str) -> str:
    """The text a reader sees, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", render(markdown))).split())


def live_markup(markdown: str) -> list[str]:
    """Mentions, links, images, emphasis, headings, quotes, tables that ``markdown`` makes
    (code spans, strong text and lists are left out: the bot's own messages use them)."""
    found = MENTION.findall(markdown)
    found += re.findall(r"<(?:a|img|em|del|h\d|blockquote|table|pre)\b[^>]*>",
                        render(markdown))
    return found


def card_markdown(node: Any) -> Iterator[str]:
    """Every card string a client renders as markdown: TextBlock text, FactSet titles and values."""
    if isinstance(node, list):
        for item in node:
            yield from card_markdown(item)
    elif isinstance(node, dict):
        if node.get("type") == "TextBlock" and isinstance(node.get("text"), str):
            yield node["text"]
        if node.get("type") == "FactSet":
            for fact in node.get("facts", []):
                yield fact["title"]
                yield fact["value"]
        for key, value in node.items():
            if key != "facts":
                yield from card_markdown(value)
