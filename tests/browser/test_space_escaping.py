"""A hostile name, escaped by the bot's renderer, reads as itself on the space page: in the markdown
of a message and in a card (Microsoft's renderer, markdown-it in TextBlocks and facts), with no
link, no mention, no emphasis and no stray backslash. Screenshot in test-artifacts/browser/."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import expect

from bot.views import cards
from bot.views.card_data import moment
from tests.browser.test_space_cards import post_as_bot

NAME = "Fay <@all> [open](https://evil.example/x) **B** _i_ <b>h</b> & 1. www.evil.example"


def test_an_escaped_name_reads_as_itself_in_a_message_and_a_card(space):
    emulator = space.emulator
    rendered = cards.render("notification", {
        "who": f"{NAME} (fay@evil.example) changed them", "where": "outside the bot",
        "when": moment(datetime(2026, 12, 2, 6, 0, tzinfo=UTC)),
        "changes": [{"label": NAME, "before": "1 day", "after": "5 days"}]})
    room = emulator.id("dm-alice")
    text_only = post_as_bot(emulator, {"roomId": room, "markdown": rendered.markdown})
    with_card = post_as_bot(emulator, {"roomId": room, "markdown": rendered.markdown,
                                       "attachments": [rendered.attachment()]})
    assert "mentionedGroups" not in text_only
    space.open("alice")

    message = space.message(text_only["id"])
    expect(message).to_contain_text(f"{NAME} (fay@evil.example) changed them")
    card = space.card(space.message(with_card["id"]))
    expect(card).to_contain_text(f"{NAME} (fay@evil.example) changed them outside the bot")
    expect(card.get_by_text(NAME, exact=True)).to_have_count(1)  # the fact's title
    for shown in (message, card):
        expect(shown.locator("a, em, b, img, .mention")).to_have_count(0)
        assert "\\" not in shown.inner_text() and "&lt;" not in shown.inner_text()
    space.screenshot(card, "escaped-name-card")
    space.screenshot(message, "escaped-name-message")
