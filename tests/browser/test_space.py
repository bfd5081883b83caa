"""The bot tried where people see it: the local space page in headless Chromium, cards rendered by
Microsoft's renderer, against the emulator and the bot under gunicorn."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import copy_to_docs


def rules_now(space) -> dict:
    return space.emulator.control("GET", "voicemail-rules").json()["rules"]


def test_full_admin_changes_the_rules_through_the_cards(space):
    space.open("alice")
    space.say("show")
    rules = space.card(space.next_bot_message())
    for text in ("Passcodes expire after 100 days", "At most once every 1 day", "6 to 30 digits",
                 "No digit more than 3 times in a row"):
        expect(rules).to_contain_text(text)
    copy_to_docs(space.screenshot(rules, "rules-card"), "rules-card.png")

    space.say("edit")
    form = space.card(space.next_bot_message())
    expect(space.number_input(form, "expiry_days")).to_have_value("100")
    space.number_input(form, "expiry_days").fill("60")
    space.number_input(form, "change_days").fill("3")
    space.press(form, "Review changes")

    confirmation_message = space.next_bot_message()
    confirmation = space.card(confirmation_message)
    expect(confirmation).to_contain_text("Confirm this change")
    expect(confirmation).to_contain_text("Requested by Alice Fuller")
    for text in ("Passcode expiry", "100 days", "60 days", "1 day", "3 days"):
        expect(confirmation).to_contain_text(text)
    copy_to_docs(space.screenshot(confirmation, "confirm-card"), "confirm-card.png")

    space.press(confirmation, "Confirm")
    expect(space.card(space.next_bot_message())).to_contain_text("Change applied")
    expect(confirmation_message).to_have_count(0)  # the bot deleted it: gone without a reload
    assert rules_now(space)["expirePasscode"] == {"enabled": True, "numberOfDays": 60}
    assert rules_now(space)["changePasscode"] == {"enabled": True, "numberOfDays": 3}

    space.say("show")
    again = space.card(space.next_bot_message())
    expect(again).to_contain_text("Passcodes expire after 60 days")
    expect(again).to_contain_text("At most once every 3 days")

    notify = space.page.locator(".space-entry", has_text="Voicemail policy changes")
    expect(notify).to_have_class(re.compile(r"\bunread\b"))  # news in another space, marked
    space.switch_space("Voicemail policy changes")
    notice = space.page.locator(".activity.from-bot .card-bubble",
                                has_text="Voicemail passcode rules changed")
    expect(notice).to_contain_text("Alice Fuller")
    expect(notice).to_contain_text("60 days")
    space.screenshot(notice, "notification-card")


def test_what_a_card_submit_sends_is_what_a_webex_client_sends(space):
    space.open("alice")
    space.say("edit")
    form = space.card(space.next_bot_message())
    space.number_input(form, "expiry_days").fill("45")
    space.press(form, "Review changes")
    space.card(space.next_bot_message())
    (action,) = space.emulator.state.attachment_actions.values()
    assert action["personId"] == space.emulator.id("alice")
    assert action["inputs"] == {
        "action": "review", "expiry_enabled": "true", "expiry_days": "45",
        "change_enabled": "true", "change_days": "1", "previous_enabled": "false",
        "previous_count": "10", "default_pin_enabled": "true", "new_pin": "",
        "generate_pin": "false",
        # the button's own data: what the form showed (review asks only for what was changed)
        "shown": "expiry=on:100;change-interval=on:1;block-previous=off:10;default-pin=on",
        "orgId": space.emulator.id("acme")}  # the org the form was made for


def test_read_only_admin_sees_the_rules_in_the_group_space_and_is_refused_edit(space):
    space.open("rita", "admins")
    mine = space.say("show")
    expect(mine.locator(".mention")).to_have_text("Voicemail Rules Bot")  # added as Webex does
    reply = space.next_bot_message()
    thread = space.page.locator(".thread-block", has=mine)
    expect(thread.locator(".replies .activity")).to_have_count(1)  # the answer is in the thread
    rules = space.card(reply)
    expect(rules).to_contain_text("Passcodes expire after 100 days")
    expect(rules.get_by_role("button", name="Edit", exact=True)).to_have_count(0)

    space.say("edit")
    refusal = space.next_bot_message()
    expect(refusal).to_contain_text("needs a Full Administrator")
    expect(refusal).to_contain_text("Read-only Administrator")
    expect(refusal.locator(".card-bubble")).to_have_count(0)
    space.screenshot(space.page.locator("body"), "group-space-threads")


def test_a_person_of_another_org_is_refused_without_rules_data(space):
    space.open("otto")
    # only the spaces otto is in: the 1:1 with the bot and the space shared across orgs
    assert sorted(space.space_titles()) == ["Voicemail Rules Bot", "Voicemail admins of several orgs"]
    space.say("show")
    refusal = space.next_bot_message()
    expect(refusal).to_contain_text("organization is not connected")
    expect(refusal.locator(".card-bubble")).to_have_count(0)
    text = refusal.inner_text()
    assert "100" not in text and "expire" not in text.lower()


def test_card_side_validation_then_a_server_side_refusal_naming_the_rule(space):
    space.open("alice")
    space.say("edit")
    form_message = space.next_bot_message()
    form = space.card(form_message)
    space.number_input(form, "expiry_days").fill("150")
    space.press(form, "Review changes")
    expect(form).to_contain_text("Enter a number of days from 15 to 100.")
    space.screenshot(form, "edit-card-validation")
    assert space.emulator.state.attachment_actions == {}  # nothing left the page

    space.number_input(form, "expiry_days").fill("60")
    form.locator('[id="new_pin"] input').fill("121212")
    space.press(form, "Review changes")
    again = space.card(space.next_bot_message())
    expect(form_message).to_have_count(0)  # one live form: the refused one is gone
    expect(space.page.locator(".card-bubble", has_text="Review changes")).to_have_count(1)
    expect(again).to_contain_text("Please correct the following")
    expect(again).to_contain_text("repeated pattern")
    expect(space.number_input(again, "expiry_days")).to_have_value("60")  # the values are kept
    space.screenshot(again, "edit-card-refused-pin")
    assert rules_now(space)["expirePasscode"]["numberOfDays"] == 100


def test_someone_without_a_1to1_space_starts_one_by_typing(space):
    space.open("ulla")
    assert space.space_titles() == ["Voicemail Rules Bot", "Voicemail admins"]
    expect(space.page.locator(".space-entry").first).to_contain_text("new 1:1")
    space.say("help")
    expect(space.next_bot_message()).to_contain_text("Voicemail Rules Bot")
    expect(space.page.locator(".space-entry").first).to_contain_text("1:1")
    assert space.page.url.count("space=") == 1


def test_the_panel_shows_what_the_emulator_saw(space):
    space.emulator.add_fault(method="GET", path="/v1/nothing/*", status=503)
    space.open("alice")
    space.say("show")
    space.card(space.next_bot_message())
    space.page.click("#panel-toggle")
    body = space.page.locator("#panel-body")
    posts = body.locator("tr", has_text="POST /v1/messages")
    expect(posts.filter(has_text="Alice Fuller (user)")).to_have_count(1)  # alice's "show"
    expect(posts.filter(has_text="Voicemail Rules Bot (bot)")).to_have_count(1)  # the card
    expect(body).to_contain_text("/v1/telephony/config/voicemail/rules")

    space.page.get_by_role("tab", name="Webhooks").click()
    expect(body.locator("tr", has_text="messages/created").first).to_contain_text("202")
    space.page.get_by_role("tab", name="Faults").click()
    expect(body.locator("tr", has_text="/v1/nothing/*")).to_contain_text("503")
    space.page.get_by_role("tab", name="Voicemail rules").click()
    expect(body.locator("dl.rules")).to_contain_text("100 days")
    space.screenshot(space.page.locator("body"), "space-with-panel")
