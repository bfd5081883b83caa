"""Every card template the bot can send, rendered by the page with Microsoft's renderer at Webex's
schema version: no renderer warnings, and a screenshot of each in test-artifacts/browser/cards/."""

from __future__ import annotations

import requests
from playwright.sync_api import expect

from bot.views import cards
from tests.support.paths import card_examples

EXAMPLES = card_examples()


def post_as_bot(emulator, body: dict) -> dict:
    response = requests.post(f"{emulator.base_url}messages", json=body, timeout=10,
                             headers={"Authorization": "Bearer bot-token"})
    response.raise_for_status()
    return response.json()


def first_text(content: dict) -> str:
    return next(e["text"] for e in content["body"] if e.get("type") == "TextBlock")


def test_every_card_template_renders_without_warnings(space):
    emulator = space.emulator
    sent = {}
    for name in cards.template_names():
        rendered = cards.render(name, EXAMPLES[name])
        sent[name] = (post_as_bot(emulator, {"roomId": emulator.id("dm-alice"),
                                             "markdown": rendered.markdown,
                                             "attachments": [rendered.attachment()]}),
                      rendered.content)
    space.open("alice")
    (space.artifacts / "cards").mkdir(exist_ok=True)
    for name, (message, content) in sent.items():
        card = space.card(space.message(message["id"]))
        expect(card).to_contain_text(first_text(content))
        space.screenshot(card, f"cards/{name}")
    assert space.card_warnings() == []


def test_the_warning_collector_catches_what_webex_would_not_show(space):
    """A control for the test above: a 1.5 element in a 1.3 card is reported, not ignored."""
    message = post_as_bot(space.emulator, {
        "roomId": space.emulator.id("dm-alice"), "markdown": "a table",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": {
            "type": "AdaptiveCard", "version": "1.3",
            "body": [{"type": "TextBlock", "text": "Tables are 1.5", "style": "heading"},
                     {"type": "Table", "columns": [{"width": 1}], "rows": []}]}}]})
    space.open("alice")
    expect(space.message(message["id"])).to_be_visible()
    warnings = space.card_warnings()
    assert warnings and all(w["messageId"] == message["id"] for w in warnings)
    assert any("Table" in w["text"] for w in warnings), warnings
    space.page.evaluate("window.cardWarnings.length = 0")  # expected: the fixture wants none left
