"""The local space page as a person uses it: pick who you are and the space, type, press card
buttons, fill card inputs; read messages and cards the way they are shown."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.support.emulator_server import EmulatorServer

REPLY_TIMEOUT_MS = 15_000


class SpacePage:
    def __init__(self, page: Page, emulator: EmulatorServer, artifacts: Path) -> None:
        self.page = page
        self.emulator = emulator
        self.artifacts = artifacts
        self.console: list[str] = []
        self.seen: set[str] = set()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))

    def _console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.console.append(f"console {message.type}: {message.text}")

    # --- where and who -----------------------------------------------------------------------

    def open(self, person: str, space: str | None = None) -> SpacePage:
        """Open the page as ``person`` (seed key) in ``space`` (seed key; default the bot 1:1)."""
        query = f"?as={person}" + (f"&space={space}" if space else "")
        self.page.goto(f"{self.emulator.url}/{query}")
        self.page.wait_for_selector("body[data-ready=true]")
        self.page.wait_for_selector("#messages[data-ready=true]")
        self.seen = set(self._bot_message_ids())
        return self

    def switch_space(self, title: str) -> None:
        self.page.locator(".space-entry", has_text=title).click()
        expect(self.page.locator("#space-title")).to_have_text(title)
        self.page.wait_for_selector("#messages[data-ready=true]")

    def space_titles(self) -> list[str]:
        return self.page.locator(".space-entry .space-name").all_inner_texts()

    # --- talking -----------------------------------------------------------------------------

    def say(self, text: str) -> Locator:
        """Type ``text`` in the composer and send it; returns the message as shown."""
        mine = self.page.locator(".activity.from-me")
        count = mine.count()
        self.page.fill("#composer-text", text)
        self.page.keyboard.press("Enter")
        expect(mine).to_have_count(count + 1)
        return mine.nth(count)

    def next_bot_message(self, timeout_ms: int = REPLY_TIMEOUT_MS) -> Locator:
        """The next message from the bot that appears in the open space (without reloading)."""
        handle = self.page.wait_for_function(
            """(seen) => [...document.querySelectorAll('.activity.from-bot')]
                          .map((e) => e.dataset.messageId).find((id) => !seen.includes(id))""",
            arg=sorted(self.seen), timeout=timeout_ms)
        message_id = handle.json_value()
        self.seen.add(message_id)
        return self.message(message_id)

    def message(self, message_id: str) -> Locator:
        return self.page.locator(f'.activity[data-message-id="{message_id}"]')

    def _bot_message_ids(self) -> list[str]:
        return self.page.eval_on_selector_all(".activity.from-bot",
                                              "(all) => all.map((e) => e.dataset.messageId)")

    # --- cards -------------------------------------------------------------------------------

    @staticmethod
    def card(message: Locator) -> Locator:
        card = message.locator(".card-bubble")
        expect(card).to_be_visible()
        return card

    @staticmethod
    def press(card: Locator, title: str) -> None:
        card.get_by_role("button", name=title, exact=True).click()

    @staticmethod
    def number_input(card: Locator, input_id: str) -> Locator:
        return card.locator(f'[id="{input_id}"] input')

    def screenshot(self, locator: Locator, name: str) -> Path:
        path = self.artifacts / f"{name}.png"
        self.page.mouse.move(0, 0)  # no hover effect in the picture
        locator.screenshot(path=str(path), animations="disabled")
        return path

    # --- what went wrong ----------------------------------------------------------------------

    def card_warnings(self) -> list[dict]:
        return self.page.evaluate("window.cardWarnings")

    def problems(self) -> list[str]:
        """Renderer warnings and console errors or warnings seen so far (should be none)."""
        if self.page.is_closed():
            return list(self.console)
        return [f"card {w['messageId']}: {w['text']}" for w in self.card_warnings()] + self.console
