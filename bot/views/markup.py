"""Text from outside shown as text: escaping for Webex markdown and Adaptive Card TextBlocks.

Every value that did not come from the bot itself (display names, Control Hub actor names, what a
user typed, descriptions Webex sends) is escaped before it goes into a message or a card, so it can
never become a mention (``<@all>``), a link, emphasis or HTML. The renderer in ``cards`` escapes
every interpolated value unless it is ``Markup``: the bot's own fixed markup opts in, not the other
way round.

The escaping is CommonMark's own: a backslash before ASCII punctuation shows that character, and
``&lt;``/``&gt;``/``&amp;`` show ``<``, ``>``, ``&``. So a client that renders markdown (Webex
messages; TextBlocks, which render a markdown subset) shows exactly the original text. ``<`` is
always an entity, because Webex finds mentions in the raw markdown, where ``\\<@all>`` would still
be one. Line breaks and other control characters become spaces, and the ends are trimmed (four
leading spaces would make a code block): a value is one line of text.
"""

from __future__ import annotations

import re
from typing import Any

# Anywhere in the text: emphasis, code, strikethrough, links and images, tables, escapes.
_ALWAYS = frozenset("\\`*_~[]|")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
# At the start of the value (which may start a line of the message): headings, lists, quotes,
# thematic breaks, setext underlines, ordered list numbers.
_LINE_START = re.compile(r"^(\s*)([#+\-=]|\d+(?=[.)]))")
# Inside a word: the dot of a domain and the colon of a scheme, so a bare URL, domain or email is
# not linkified (markdown-it keeps escaped characters out of linkify; Webex autolinks alike).
_LINKY = re.compile(r"(?<=\S)([.:])(?=\S)")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")


class Markup(str):
    """Markdown the bot wrote itself: the renderer passes it as it is.

    ``Markup("... `{word}` ...").format(word=value)`` escapes each value that is not ``Markup``.
    """

    __slots__ = ()

    def format(self, *args: Any, **kwargs: Any) -> Markup:
        return Markup(str.format(self, *(escape(a) for a in args),
                                 **{k: escape(v) for k, v in kwargs.items()}))

    def __add__(self, other: str) -> Markup:
        return Markup(str.__add__(self, escape(other)))

    def join(self, parts: Any) -> Markup:
        return Markup(str.join(self, (escape(p) for p in parts)))


def escape(value: Any) -> Markup:
    """``value`` as text for Webex markdown and TextBlocks; ``Markup`` is returned unchanged."""
    if isinstance(value, Markup):
        return value
    text = _CONTROLS.sub(" ", "" if value is None else str(value)).strip()
    out = []
    for char in text:
        if char in _ALWAYS:
            out.append("\\" + char)
        else:
            out.append(_ENTITIES.get(char, char))
    escaped = "".join(out)
    escaped = _LINKY.sub(r"\\\1", escaped)
    escaped = _LINE_START.sub(lambda m: m.group(1) + _escape_start(m.group(2)), escaped, count=1)
    return Markup(escaped)


def _escape_start(token: str) -> str:
    """``#`` → ``\\#``; ``12`` (before ``.`` or ``)``) → ``12\\`` so the list marker is escaped."""
    return "\\" + token if not token.isdigit() else token + "\\"


# What may not appear in a mention's label: what would close it or start another mention
# (``<``, ``>``, ``|``), markdown punctuation, a link's scheme and path (``:``, ``/``), line breaks.
_MENTION_UNSAFE = re.compile(r"[<>|\\\[\]*_~`:/\x00-\x1f\x7f\x85\u2028\u2029]+")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_=+/-]")


def mention(person_id: str, display_name: str) -> Markup:
    """A Webex mention of one person, ``<@personId:ID|Name>``: Webex notifies them and shows the
    label as their name, as text. Characters of the name that could end the mention, start
    another (``<@all>``) or read as markdown are left out of the label; a name with nothing left
    is a mention with no label (Webex shows the person's own name)."""
    label = " ".join(_MENTION_UNSAFE.sub(" ", display_name or "").split())[:100]
    safe_id = _ID_UNSAFE.sub("", person_id)
    return Markup(f"<@personId:{safe_id}|{label}>" if label else f"<@personId:{safe_id}>")
