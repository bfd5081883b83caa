"""Card data built in the view layer: what each card shows, and what stays escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from bot.domain.authorization import Permission, Requester
from bot.domain.rules import FieldChange, RulesChange, VoicemailRules, build_patch, diff
from bot.domain.vocabulary import SettingName
from bot.views import cards
from bot.views.card_data import (
    confirm_card,
    edit_form,
    error_card,
    help_card,
    notification_card,
    policy_rows,
    rules_card,
    rules_diff,
    whoami_card,
)
from bot.views.markup import Markup
from tests.support.paths import REPO
from tests.support.rendering import live_markup

RULES = VoicemailRules.from_api(
    json.loads((REPO / "emulator" / "seed.json").read_text())["voicemailRules"])


def test_an_error_card_offers_confirm_again_only_for_a_change():
    plain = error_card(title="Webex refused the request", message="No.", tracking_id="T1")
    assert (plain["canRetry"], plain["hasTrackingId"], plain["trackingId"]) == (False, True, "T1")
    retry = error_card(title="Webex is not answering", message="Try again.", retry_change_id="c1")
    assert (retry["canRetry"], retry["retryAction"], retry["changeId"]) == (True, "confirm", "c1")
    assert cards.render("error", retry).attachment()["content"]["actions"][0]["data"] == {
        "action": "confirm", "changeId": "c1"}


def test_help_lists_only_what_the_requester_may_do():
    viewer = help_card(may=lambda permission: permission != Permission.CHANGE)
    usages = [line["usage"] for line in viewer["commands"]]
    assert "show" in usages and "edit" not in usages and not viewer["canChange"]
    assert all(isinstance(usage, Markup) for usage in usages)  # the bot's own `code`


def test_whoami_keeps_a_name_from_outside_as_text():
    person = Requester("p1", "<@all> *Eve*", "eve@example.com", "org", "person", frozenset())
    card = whoami_card(person, in_org=True, may=lambda permission: permission == Permission.ANYONE)
    assert not isinstance(card["name"], Markup)  # escaped by the renderer
    assert isinstance(card["may"], Markup)
    assert "<@all>" not in str(cards.render("whoami", card).attachment())


def test_a_notification_shows_a_new_pin_only_as_set_and_not_shown():
    patch = build_patch(RULES, RulesChange(new_pin="908172"))
    card = notification_card(who="Alice", where="here", when=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
                             changes=diff(RULES, patch))
    assert card["changes"] == [{"label": "Default PIN", "before": "current PIN",
                                "after": "new PIN (not shown)"}]
    assert card["when"]["utc"] == "2026-01-02 03:04 UTC"


def test_every_surface_names_a_setting_the_same_way():
    """The rules card, the form, the diff (confirmation, result, notification, history) and the
    outside-change notice use the one name of each setting."""
    names = {name.value for name in SettingName}
    assert [row["label"] for row in policy_rows(RULES)] == [
        SettingName.EXPIRY, SettingName.CHANGE_INTERVAL, SettingName.BLOCK_PREVIOUS,
        SettingName.DEFAULT_PIN_ENABLED]
    form_titles = {e.get("title") for e in cards.render("edit", edit_form(RULES)).content["body"]}
    assert names - {SettingName.DEFAULT_PIN} <= form_titles
    everything = build_patch(RULES, RulesChange(values={"expiry": 60, "change-interval": 3,
                                                        "block-previous": 4},
                                                default_pin_enabled=False))
    assert {c.label for c in diff(RULES, everything)} <= names
    after = RULES.model_copy(update={"expire": RULES.expire.model_copy(update={"days": 90})})
    assert [(c.label, c.before, c.after) for c in rules_diff(RULES, after)] == [
        ("Passcode expiry", "100 days", "90 days")]


def test_reusing_passcodes_reads_plainly():
    off = {row["label"]: row["value"] for row in policy_rows(RULES)}
    assert off["Previous passcodes that cannot be reused"] == "Off: earlier passcodes may be reused"


def test_whoami_names_the_organization():
    person = Requester("p1", "Alice", "a@example.com", "org", "person", frozenset())
    card = whoami_card(person, in_org=True, may=lambda _p: True, org_name="Acme <Telephony>")
    assert card["org"] == "Acme <Telephony> (the organization this bot manages)"
    assert "Acme &lt;Telephony&gt;" in cards.render("whoami", card).markdown


def test_a_moment_is_local_in_the_card_and_utc_marked_in_the_text():
    """The card carries Adaptive Cards' DATE/TIME functions (the client shows the reader's own
    time), unescaped; the text fallback says the time in UTC, marked."""
    paris = timezone(timedelta(hours=1))
    card = notification_card(who="Alice", where="here", when=datetime(2026, 1, 2, 4, 4, tzinfo=paris),
                             changes=[FieldChange("Passcode expiry", "100 days", "60 days")])
    rendered = cards.render("notification", card)
    text = rendered.content["body"][1]["text"]
    assert "{{DATE(2026-01-02T03:04:00Z, SHORT)}} {{TIME(2026-01-02T03:04:00Z)}}" in text
    assert "at 2026-01-02 03\\:04 UTC." in rendered.markdown  # CommonMark shows 03:04
    assert "DATE" not in rendered.markdown


def test_the_expiry_of_a_confirmation_is_a_time_of_day():
    card = confirm_card(requester="Alice", change_id="c1",
                        expires_at=datetime(2026, 1, 2, 3, 14, 59, tzinfo=UTC), changes=[])
    assert card["expiresAt"] == {"local": "{{TIME(2026-01-02T03:14:59Z)}}", "utc": "03:14 UTC"}


def test_a_card_headed_for_a_person_shows_their_name_as_text():
    card = cards.render("error", error_card(title="No", message="Nothing was changed."))
    headed = card.headed_for("Rita <@all> **Reed** [x](https://evil.example)")
    heading = headed.content["body"][0]
    assert heading["type"] == "TextBlock" and heading["text"].startswith("For Rita")
    assert live_markup(heading["text"]) == []
    assert headed.content["body"][1:] == card.content["body"]  # the card itself unchanged


def test_a_card_made_for_an_org_names_it_in_every_button_and_nowhere_else():
    card = cards.render("rules", rules_card(RULES, can_change=True,
                                            read_at=datetime(2026, 1, 2, tzinfo=UTC)))
    made = card.made_for("org-a")
    buttons = [action["data"] for action in made.content["actions"]]
    assert len(buttons) == 3 and all(data["orgId"] == "org-a" for data in buttons)
    assert made.content["body"] == card.content["body"] and made.markdown == card.markdown
    assert cards.org_made_for({"attachments": [made.attachment()]}) == "org-a"
    assert "orgId" not in json.dumps(card.content)  # the rendered card itself is left as it was
    assert cards.org_made_for({"attachments": [card.attachment()]}) is None  # made before cards said
