"""Text commands: the @mention stripped, the first word matched exactly, never by substring.

``parse`` turns message text into a ``Command`` (name and arguments) or an ``Unknown`` that names
the closest real command, so a typo gets a helpful answer instead of silence. An ``Unknown`` keeps
the word only when it may be repeated in the space (letters and dashes: never digits, such as a
PIN typed by mistake), and suggests a command only for such a word.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass

from bot.domain.forms import plausible_word

ALIASES = {"rules": "show"}
COMMAND_WORDS = ("help", "show", "rules", "edit", "set", "history", "undo", "whoami", "subscribe",
                 "unsubscribe", "notify", "connect", "disconnect")


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unknown:
    word: str | None  # None: not a word to repeat back (digits, symbols, too long)
    suggestion: str | None


def message_text(message: dict, bot_id: str, bot_name: str) -> str:
    """The text an admin typed, without the bot's @mention.

    The ``html`` form marks mentions exactly (``<spark-mention data-object-id=...>``), so it is
    preferred; plain ``text`` only carries the display name, which is stripped from the front.
    """
    if message.get("html"):
        without_mention = re.sub(
            r"<spark-mention[^>]*data-object-id=\"" + re.escape(bot_id) + r"\"[^>]*>.*?</spark-mention>",
            " ", message["html"], flags=re.IGNORECASE | re.DOTALL)
        text = html.unescape(re.sub(r"<[^>]+>", " ", without_mention))
    else:
        text = message.get("text") or ""
        for name in (bot_name, bot_name.split(" ")[0]):
            if name and text.lower().startswith(name.lower()):
                text = text[len(name):]
                break
    return " ".join(text.split())


def parse(text: str) -> Command | Unknown:
    words = text.strip().split()
    if not words:
        return Command("help")
    word = words[0].lower().lstrip("/")
    if word in COMMAND_WORDS:
        return Command(ALIASES.get(word, word), tuple(w.lower() for w in words[1:]))
    if not plausible_word(word):
        return Unknown(None, None)
    close = difflib.get_close_matches(word, COMMAND_WORDS, n=1, cutoff=0.5)
    return Unknown(word, ALIASES.get(close[0], close[0]) if close else None)
