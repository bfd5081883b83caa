"""The cards as a reader sees them, at desktop width and at phone width (380 px): Confirm is the
positive action and Cancel the default one, nothing is cut, the help card keeps each command on one
line, the Before/After columns have room, a rule switched off may have an empty number, and times
are in the reader's own time zone. Screenshots in test-artifacts/browser/ (``*-380`` at phone
width)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.test_space import rules_now

PHONE = {"width": 380, "height": 800}
WIDTHS = {"desktop": None, "380": PHONE}
TIME_STAMP = re.compile(r"\{\{TIME\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)\)\}\}")


def at_width(space, width: str):
    if WIDTHS[width]:
        space.page.set_viewport_size(WIDTHS[width])
    return width


def page_fits_the_screen(space) -> None:
    """No horizontal scroll of the page, and every card inside the screen."""
    sizes = space.page.evaluate("""() => ({
        scroll: document.scrollingElement.scrollWidth, screen: window.innerWidth,
        cards: [...document.querySelectorAll('.card-bubble')]
          .map((c) => c.getBoundingClientRect().right)})""")
    assert sizes["scroll"] <= sizes["screen"], sizes
    assert all(right <= sizes["screen"] for right in sizes["cards"]), sizes


def cut_texts(card) -> list[str]:
    """Texts in ``card`` whose content is wider than their box (cut or hidden), or that end outside
    the card."""
    return card.evaluate("""(card) => {
        const edge = card.getBoundingClientRect().right + 0.5;
        return [...card.querySelectorAll('.ac-textBlock, label, .ac-pushButton')]
          .filter((e) => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > edge)
          .map((e) => e.textContent.trim());
    }""")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_form_and_the_confirmation_read_whole_at_every_width(space, width):
    suffix = "" if width == "desktop" else f"-{width}"
    space.open("alice")
    at_width(space, width)
    space.say("edit")
    form = space.card(space.next_bot_message())
    assert cut_texts(form) == []
    toggle_label = form.locator('[id="previous_enabled"] label')
    expect(toggle_label).to_have_text("Previous passcodes that cannot be reused")
    space.screenshot(form, f"edit-card{suffix}")
    space.number_input(form, "expiry_days").fill("60")
    space.press(form, "Review changes")

    confirmation = space.card(space.next_bot_message())
    confirm = confirmation.get_by_role("button", name="Confirm", exact=True)
    cancel = confirmation.get_by_role("button", name="Cancel", exact=True)
    expect(confirm).to_have_class(re.compile(r"\bstyle-positive\b"))
    expect(cancel).to_have_class(re.compile(r"\bstyle-default\b"))
    assert cut_texts(confirmation) == []
    columns = confirmation.evaluate("""(card) => [...card.querySelectorAll('.ac-columnSet')]
        .map((set) => [...set.querySelectorAll(':scope > .ac-container')]
          .map((c) => ({left: Math.round(c.getBoundingClientRect().left),
                        width: c.getBoundingClientRect().width})))
        .filter((row) => row.length === 3)""")
    header, *rows = columns
    card_width = confirmation.bounding_box()["width"]
    assert rows, columns
    for row in rows:  # each column starts where its header does, and Before/After have room
        assert [c["left"] for c in row] == [c["left"] for c in header], columns
        assert all(c["width"] >= 0.25 * card_width for c in row[1:]), (card_width, columns)
    space.screenshot(confirmation, f"confirm-card{suffix}")
    page_fits_the_screen(space)
    space.screenshot(space.page.locator("body"), f"space-after-confirm{suffix}")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_help_card_keeps_every_command_on_one_line(space, width):
    suffix = "" if width == "desktop" else f"-{width}"
    space.open("alice")
    at_width(space, width)
    space.say("help")
    card = space.card(space.next_bot_message())
    expect(card).to_contain_text("set change-interval <1-7|off>")
    lines = card.evaluate("""(card) => [...card.querySelectorAll('.ac-container .ac-textBlock')]
        .filter((e) => getComputedStyle(e).fontWeight >= 600)
        .map((e) => ({text: e.textContent, lines: Math.round(e.getBoundingClientRect().height
                       / parseFloat(getComputedStyle(e).lineHeight))}))""")
    assert len(lines) >= 12, lines
    assert [line for line in lines if line["lines"] != 1] == [], lines
    page_fits_the_screen(space)
    space.screenshot(card, f"help-card{suffix}")


def test_a_number_may_be_left_empty_when_its_rule_is_switched_off(space):
    space.open("alice")
    space.say("edit")
    form = space.card(space.next_bot_message())
    form.locator('[id="expiry_enabled"] input').uncheck()
    space.number_input(form, "expiry_days").fill("")
    space.press(form, "Review changes")
    confirmation = space.card(space.next_bot_message())  # the card did not refuse it
    expect(confirmation).to_contain_text("Confirm this change")
    expect(confirmation).to_contain_text("Passcode expiry")
    (action,) = space.emulator.state.attachment_actions.values()
    assert (action["inputs"]["expiry_enabled"], action["inputs"]["expiry_days"]) == ("false", "")
    space.press(confirmation, "Confirm")
    expect(space.card(space.next_bot_message())).to_contain_text("Change applied")
    assert rules_now(space)["expirePasscode"] == {"enabled": False, "numberOfDays": 100}


def test_times_are_in_the_readers_time_zone_in_cards_and_in_utc_in_text(space):
    """The page's renderer formats Adaptive Cards' DATE/TIME functions in the browser's zone
    (``READER_TIME_ZONE``, UTC+05:30), as Webex clients do; the text fallback says UTC."""
    space.open("alice")
    space.say("show")
    shown = space.next_bot_message()
    card = space.card(shown)
    message = space.emulator.state.messages[shown.get_attribute("data-message-id")]
    read_at_text = next(block["text"] for block in message["attachments"][0]["content"]["body"]
                        if str(block.get("text", "")).startswith("Read at"))
    utc = datetime.fromisoformat(TIME_STAMP.search(read_at_text).group(1))
    local = utc + timedelta(hours=5, minutes=30)
    footer = card.locator(".ac-textBlock", has_text="Read at")
    expect(footer).to_contain_text(re.compile(rf"\b0?{local.hour}:{local.minute:02d}\b"))
    expect(footer).to_contain_text(f"{local.day} {local:%b} {local.year}")
    expect(footer).not_to_contain_text("{{")
    assert f"Read at {utc:%Y-%m-%d %H}\\:{utc:%M} UTC." in message["markdown"]
    space.screenshot(card, "rules-card-kolkata")
