"""The local space page itself: a reply out of sight is pointed out, "Reset to seed" asks first and
says what it does not reset, the Faults tab's counters agree with the call log, and the panel is
usable at phone width. Screenshots in test-artifacts/browser/."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import expect

from tests.browser.test_space_cards import post_as_bot
from tests.browser.test_space_cards_layout import PHONE, page_fits_the_screen


def post_as(emulator, token: str, body: dict) -> dict:
    response = requests.post(f"{emulator.base_url}messages", json=body, timeout=10,
                             headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    return response.json()


def in_view(space, message) -> bool:
    return space.page.evaluate("""(id) => {
        const view = document.getElementById('messages').getBoundingClientRect();
        const box = document.querySelector(`.activity[data-message-id="${id}"]`).getBoundingClientRect();
        return box.top >= view.top && box.bottom <= view.bottom;
    }""", message.get_attribute("data-message-id"))


def test_a_reply_to_an_older_card_in_a_long_space_is_pointed_out(space):
    """Rita presses a button on an older card whose thread is long: the bot's answer lands at the
    thread's end, out of sight; the page says so, and takes her there."""
    emulator = space.emulator
    space.open("rita", "admins")
    command = space.say("show")
    space.card(space.next_bot_message())
    thread_id = command.get_attribute("data-message-id")
    room = emulator.id("admins")
    for n in range(24):  # a long thread under the card (no @mention: the bot is not told)
        post_as(emulator, "alice-token", {"roomId": room, "parentId": thread_id,
                                          "text": f"Alice, in the thread: note {n + 1}"})
    for n in range(8):  # and the space went on below it
        post_as(emulator, "alice-token", {"roomId": room, "text": f"Alice, later: {n + 1}"})
    space.open("rita", "admins")  # a fresh look at the long space: nothing new yet
    pointer = space.page.locator("#new-reply")
    expect(space.page.locator(".activity", has_text="Alice, later: 8")).to_be_in_viewport()
    expect(pointer).to_be_hidden()

    card = space.card(space.page.locator(".activity.from-bot"))
    space.page.evaluate("document.querySelector('#messages .card-bubble').scrollIntoView()")
    space.press(card, "History")
    reply = space.next_bot_message()
    expect(pointer).to_be_visible()
    expect(pointer).to_have_text(re.compile("New reply below"))
    assert not in_view(space, reply)
    space.screenshot(space.page.locator("body"), "new-reply-pointed-out")
    pointer.click()
    expect(pointer).to_be_hidden()
    expect(reply).to_have_class(re.compile(r"\bpointed-at\b"))
    assert in_view(space, reply)


def test_a_reply_above_the_reader_is_pointed_out_too(space):
    emulator = space.emulator
    old = post_as_bot(emulator, {"roomId": emulator.id("dm-alice"), "text": "An old card's place"})
    for n in range(30):
        post_as_bot(emulator, {"roomId": emulator.id("dm-alice"), "text": f"Later {n + 1}"})
    space.open("alice")
    expect(space.page.locator(".activity", has_text="Later 30")).to_be_visible()
    post_as_bot(emulator, {"roomId": emulator.id("dm-alice"), "parentId": old["id"],
                           "text": "An answer in the old thread"})
    pointer = space.page.locator("#new-reply")
    expect(pointer).to_have_text(re.compile("New reply above"))
    pointer.click()
    expect(space.page.locator(".activity", has_text="An answer in the old thread")).to_be_in_viewport()


def test_reset_to_seed_asks_first_and_says_what_it_keeps(space):
    space.open("alice")
    mine = space.say("whoami")
    space.next_bot_message()
    space.page.click("#panel-toggle")
    space.page.click("#reset")
    question = space.page.locator("#reset-confirm")
    expect(question).to_be_visible()
    for words in ("not", "change history", "subscriptions", "webhooks stay"):
        expect(question).to_contain_text(words)
    space.screenshot(space.page.locator("#panel"), "reset-asks-first")
    space.page.click("#reset-no")
    expect(question).to_be_hidden()
    expect(mine).to_be_visible()  # nothing was reset
    assert space.emulator.state.messages

    space.page.click("#reset")
    space.page.click("#reset-yes")
    expect(space.page.locator(".activity")).to_have_count(0)
    expect(question).to_be_hidden()


def call_nothing(emulator) -> int:
    return requests.get(f"{emulator.base_url}nothing/here", timeout=10,
                        headers={"Authorization": "Bearer alice-token"}).status_code


def test_the_faults_tab_counts_agree_with_the_call_log(space):
    space.open("alice")
    space.page.click("#panel-toggle")
    page = space.page
    page.get_by_role("tab", name="Faults").click()
    form = page.locator("#fault-form")
    form.get_by_label("Path glob").fill("/v1/nothing/*")
    form.get_by_label("Status").fill("abc")
    form.get_by_role("button", name="Inject").click()
    expect(page.locator("#fault-error")).to_contain_text("status must be a whole number")
    # expected: Chromium logs the 400 answer as a console error, which the fixture would report
    space.console[:] = [line for line in space.console if "400 (BAD REQUEST)" not in line]
    assert space.emulator.state.faults == []  # a wrong fault is refused, not made harmless

    form.get_by_label("Status").fill("503")
    form.get_by_label("How many calls (empty: until cleared)").fill("2")
    form.get_by_role("button", name="Inject").click()
    expect(page.locator("#fault-error")).to_be_hidden()
    (fault,) = space.emulator.state.faults
    row = page.locator(f'tr[data-fault="{fault["id"]}"]')
    expect(row).to_contain_text("2 of 2 left")

    assert call_nothing(space.emulator) == 503
    expect(row).to_contain_text("1 of 2 left")
    expect(row.locator("td").last).to_have_text("1")
    assert [call_nothing(space.emulator) for _ in range(2)] == [503, 404]
    expect(row).to_contain_text("used up (2)")  # still listed once used up
    expect(row.locator("td").last).to_have_text("2")
    space.screenshot(page.locator("#panel"), "faults-tab")

    page.get_by_role("tab", name="API calls").click()
    faulted = page.locator("#panel-body tr", has_text=f"fault {fault['id']}")
    expect(faulted).to_have_count(2)  # as many as the fault's hits


def test_the_page_is_usable_at_phone_width(space):
    space.page.set_viewport_size(PHONE)
    space.open("rita", "admins")
    space.say("show")
    space.card(space.next_bot_message())
    page_fits_the_screen(space)
    space.screenshot(space.page.locator("body"), "group-space-380")
    space.page.click("#panel-toggle")
    panel = space.page.locator("#panel")
    expect(panel).to_be_in_viewport(ratio=0.99)
    page_fits_the_screen(space)
    space.screenshot(space.page.locator("body"), "panel-380")
    space.page.click("#panel-close")
    expect(panel).to_be_hidden()
    space.page.locator(".space-entry", has_text="Voicemail Rules Bot").click()
    expect(space.page.locator("#space-title")).to_have_text("Voicemail Rules Bot")
