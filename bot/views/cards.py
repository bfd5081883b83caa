"""Cards are data: Adaptive Card templates in ``cards/`` (templating syntax, schema 1.3).

``render(name, data)`` expands ``cards/<name>.json`` with ``data`` and renders the matching text
fallback ``cards/<name>.md`` (Jinja2), so every card goes out with words for clients that cannot
show cards. Handlers never build card JSON themselves.

The templating subset implemented here is the one the templates use, as Microsoft's language defines
it: ``${path.to.value}`` in strings (a string that is only one expression keeps the value's type),
``$data`` on an array element to repeat it for each item of a list (``$index`` available), and
``$when`` to keep an element only when its expression is true.

Safe by default: every value put into markdown, the text fallback or a card's TextBlock text and
FactSet title/value (which clients render as markdown), is escaped as text (``markup.escape``),
unless it is ``Markup``, the bot's own markdown. Values elsewhere (ids in action data, input
values, colours) go in as they are: no client reads markdown there.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.views.markup import Markup, escape

CARDS_DIR = Path(__file__).resolve().parents[2] / "cards"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
_EXPRESSION = re.compile(r"\$\{([^}]+)\}")
_WHOLE = re.compile(r"^\$\{([^}]+)\}$")
MAX_ACTIONS = 5


class TemplateError(Exception):
    """A template refers to a value that was not given, or is malformed."""


@dataclass(frozen=True)
class RenderedCard:
    content: dict[str, Any]
    markdown: Markup  # values already escaped by the template

    def attachment(self) -> dict[str, Any]:
        return {"contentType": CONTENT_TYPE, "content": self.content}

    def headed_for(self, name: str) -> RenderedCard:
        """The card with a first line saying whom it answers, "For <name>", the name as text: in a
        group space Webex shows the card, not the text whose mention names them."""
        heading = {"type": "TextBlock", "text": f"For {escape(name)}", "isSubtle": True,
                   "size": "Small", "wrap": True}
        return RenderedCard({**self.content, "body": [heading, *self.content.get("body", [])]},
                            self.markdown)

    def made_for(self, org_id: str) -> RenderedCard:
        """The card with ``org_id`` in every button's data: the org whose request it answers.
        A press is judged by the card as the bot posted it (read back from Webex, never the
        client's data), so a person of another org pressing it is told so (``org_made_for``)."""
        return RenderedCard(_with_org(copy.deepcopy(self.content), org_id), self.markdown)


ORG_KEY = "orgId"  # in a button's data: the org the card was made for


def _with_org(node: Any, org_id: str) -> Any:
    for data in submit_data(node):
        data[ORG_KEY] = org_id
    return node


def submit_data(node: Any) -> Iterator[dict[str, Any]]:
    """The data of every submit button in a card (or in a message's attachments), nested ones too."""
    if isinstance(node, dict):
        if node.get("type") == "Action.Submit" and isinstance(node.get("data"), dict):
            yield node["data"]
        for value in node.values():
            yield from submit_data(value)
    elif isinstance(node, list):
        for value in node:
            yield from submit_data(value)


def org_made_for(message: dict[str, Any]) -> str | None:
    """The org a card message of the bot was made for; None for a card made before cards said
    it, or one made for nobody's request (a notification)."""
    cards = [attachment.get("content") for attachment in message.get("attachments") or []]
    return next((str(data[ORG_KEY]) for data in submit_data(cards) if data.get(ORG_KEY)), None)


def render(name: str, data: dict[str, Any]) -> RenderedCard:
    content = expand(_template(name), data, data)
    return RenderedCard(content=content, markdown=Markup(_fallback(name).render(**data).strip()))


@cache
def _template(name: str) -> dict[str, Any]:
    return json.loads((CARDS_DIR / f"{name}.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _jinja() -> Environment:
    # ``finalize`` sees every ``{{ value }}``: values are text unless Markup (HTML autoescape is
    # not the escaping markdown needs).
    return Environment(loader=FileSystemLoader(CARDS_DIR), undefined=StrictUndefined,
                       autoescape=False, keep_trailing_newline=False, trim_blocks=True,
                       lstrip_blocks=True, finalize=_as_markdown)


def _as_markdown(value: Any) -> str:
    return str(escape(_as_text(value)))


def _fallback(name: str):
    return _jinja().get_template(f"{name}.md")


def template_names() -> list[str]:
    return sorted(path.stem for path in CARDS_DIR.glob("*.json"))


def expand(node: Any, scope: Any, root: dict[str, Any], *, markdown: bool = False,
           markdown_keys: frozenset[str] = frozenset()) -> Any:
    """Expand one template node against ``scope`` (the current ``$data``) and ``root``.

    ``markdown``: ``node`` is a string clients render as markdown (its values are escaped);
    ``markdown_keys``: the keys of ``node`` (a dict) or of its elements (a list) that are.
    """
    if isinstance(node, str):
        return _expand_string(node, scope, root, markdown=markdown)
    if isinstance(node, list):
        expanded = []
        for item in node:
            expanded.extend(_expand_element(item, scope, root, markdown_keys))
        return expanded
    if isinstance(node, dict):
        keys = markdown_keys | _MARKDOWN_KEYS.get(str(node.get("type")), frozenset())
        return {key: expand(value, scope, root, markdown=key in keys,
                            markdown_keys=_FACT_KEYS if key == "facts" else frozenset())
                for key, value in node.items() if key not in ("$data", "$when")}
    return copy.deepcopy(node)


# Where Adaptive Card clients render markdown: TextBlock text, and FactSet facts (their titles and
# values are TextBlocks in the renderers).
_MARKDOWN_KEYS = {"TextBlock": frozenset({"text"})}
_FACT_KEYS = frozenset({"title", "value"})


def _expand_element(item: Any, scope: Any, root: dict[str, Any],
                    markdown_keys: frozenset[str] = frozenset()) -> list[Any]:
    """An array element may repeat (``$data`` list) and may be dropped (``$when``)."""
    if not isinstance(item, dict):
        return [expand(item, scope, root)]
    scopes = [scope]
    if "$data" in item:
        value = _resolve_value(item["$data"], scope, root)
        scopes = [dict(v, **{"$index": i}) if isinstance(v, dict) else v
                  for i, v in enumerate(value)] if isinstance(value, list) else [value]
    kept = []
    for each in scopes:
        if "$when" in item and not _resolve_value(item["$when"], each, root):
            continue
        kept.append(expand(item, each, root, markdown_keys=markdown_keys))
    return kept


def _resolve_value(raw: Any, scope: Any, root: dict[str, Any]) -> Any:
    if isinstance(raw, str):
        match = _WHOLE.match(raw.strip())
        if match:
            return _lookup(match.group(1), scope, root)
    return raw


def _expand_string(text: str, scope: Any, root: dict[str, Any], *, markdown: bool = False) -> Any:
    if markdown:  # always text: each value escaped unless it is the bot's own Markup
        return _EXPRESSION.sub(
            lambda m: str(escape(_as_text(_lookup(m.group(1), scope, root)))), text)
    whole = _WHOLE.match(text)
    if whole:
        return _lookup(whole.group(1), scope, root)
    return _EXPRESSION.sub(lambda m: _as_text(_lookup(m.group(1), scope, root)), text)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value  # a Markup stays Markup
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _lookup(expression: str, scope: Any, root: dict[str, Any]) -> Any:
    expression = expression.strip()
    negate = expression.startswith("!")
    path = expression.lstrip("!").strip()
    if path.startswith("$root."):
        value: Any = root
        parts = path[len("$root."):].split(".")
    else:
        value, parts = scope, path.split(".")
    for part in parts:
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise TemplateError(f"no value for ${{{expression}}}")
    return (not value) if negate else value
