"""The change flow's branches, driven with in-memory fakes of its collaborators (no HTTP, no
database): propose, confirm, cancel and the watcher's settling of unanswered PUTs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError

from bot.chat import change_flow
from bot.chat.context import UserError
from bot.domain import pin_policy
from bot.domain.authorization import Requester
from bot.domain.rules import RulesChange, VoicemailRules
from bot.domain.vocabulary import ChangeStatus
from bot.webex.errors import WebexCallError
from tests.support.change_fakes import ALICE, ORG, World

EXPIRY_60 = RulesChange(values={"expiry": 60})
NO_ANSWER = WebexCallError(None, "timed out")
FIONA = Requester("fiona", "Fiona Grant", "fiona@example.com", ORG, "person",
                  frozenset({"Full Administrator"}))


@pytest.fixture
def world() -> World:
    return World()


def propose(world: World, change: RulesChange = EXPIRY_60, **options) -> str:
    rules = VoicemailRules.from_api(world.admin.read_rules())
    change_flow.propose(world.deps, world.conversation(), change, rules=rules, **options)
    (change_id,) = world.pending.rows
    return change_id


def confirm(world: World, change_id: str, requester: Requester = ALICE) -> None:
    change_flow.confirm(world.deps, world.conversation(requester), change_id)


def expiry(world: World) -> int:
    return world.admin.rules["expirePasscode"]["numberOfDays"]


# -- propose ---------------------------------------------------------------------------------------

def test_a_proposal_is_stored_and_shown_on_a_confirmation_card(world):
    change_id = propose(world)
    assert world.pending.status(change_id) == ChangeStatus.PENDING
    assert "Confirm this change" in world.messenger.last()
    assert world.pending.get(change_id).card_message_id == "message-1"  # to delete it later


def test_nothing_to_change_stores_nothing(world):
    change_flow.propose(world.deps, world.conversation(), RulesChange(values={"expiry": 100}),
                        rules=VoicemailRules.from_api(world.admin.rules))
    assert world.pending.rows == {}
    assert "Nothing to change" in world.messenger.last()


def test_no_pin_possible_under_the_org_rules_is_said_and_stores_nothing(world, monkeypatch):
    def impossible(_rules):
        raise ValueError("No PIN can meet these PIN rules.")

    monkeypatch.setattr(pin_policy, "generate", impossible)
    with pytest.raises(UserError) as refused:
        propose(world, RulesChange(default_pin_enabled=True), generate_pin=True)
    assert refused.value.title == "No PIN generated"
    assert world.pending.rows == {}


# -- confirm ---------------------------------------------------------------------------------------

def test_confirm_applies_records_and_tells(world):
    change_id = propose(world)
    confirm(world, change_id)
    assert expiry(world) == 60 and world.pending.status(change_id) == ChangeStatus.APPLIED
    assert [entry["change_id"] for entry in world.audit.entries] == [change_id]
    assert world.snapshots.known[ORG]["expirePasscode"]["numberOfDays"] == 60
    assert world.messenger.deleted == ["message-1"]  # the confirmation card
    assert world.notifier.told and "Change applied" in world.messenger.last()
    assert world.directory.fresh_lookups == [ALICE.person_id]  # the role, re-checked uncached


def test_a_database_gone_after_the_put_still_tells_everyone_it_was_applied(world):
    """Retiring the confirmation card re-reads its id; the database failing right then (after
    the request was closed) must not lose the result nor the notifications."""
    change_id = propose(world)
    readable = world.pending.get

    def get(wanted: str):
        row = readable(wanted)
        if row is not None and row.status == ChangeStatus.APPLIED:
            raise OperationalError("SELECT", {}, Exception("database is locked"))
        return row

    world.pending.get = get
    confirm(world, change_id)
    assert world.pending.status(change_id) == ChangeStatus.APPLIED
    assert world.notifier.told and "Change applied" in world.messenger.last()
    assert world.messenger.deleted == ["message-1"]  # the id it had: the card still goes


def test_only_the_requester_may_confirm(world):
    change_id = propose(world)
    with pytest.raises(UserError) as refused:
        confirm(world, change_id, requester=FIONA)
    assert refused.value.title == "Not your change"
    assert world.pending.status(change_id) == ChangeStatus.PENDING and world.admin.patches == []


def test_a_second_confirm_is_told_quietly_and_applies_nothing(world):
    change_id = propose(world)
    confirm(world, change_id)
    confirm(world, change_id)
    assert "This change was already applied." in world.messenger.last()
    assert len(world.admin.patches) == 1


def test_a_role_revoked_since_the_request_cancels_it(world):
    change_id = propose(world)
    world.directory.people[ALICE.person_id] = Requester(
        ALICE.person_id, ALICE.display_name, ALICE.email, ORG, "person", frozenset())
    with pytest.raises(UserError) as refused:
        confirm(world, change_id)
    assert refused.value.title == "Not allowed any more"
    assert world.pending.status(change_id) == ChangeStatus.CANCELLED
    assert world.admin.patches == [] and world.messenger.deleted == ["message-1"]


def test_rules_changed_meanwhile_supersede_the_request(world):
    change_id = propose(world)
    world.admin.apply({"expirePasscode": {"enabled": True, "numberOfDays": 80}})  # Control Hub
    with pytest.raises(UserError) as refused:
        confirm(world, change_id)
    assert refused.value.title == "The rules changed meanwhile"
    assert world.pending.status(change_id) == ChangeStatus.SUPERSEDED
    assert world.admin.patches == [] and expiry(world) == 80
    assert "80 days" in world.messenger.last()  # the rules as they are now


def test_a_pin_that_can_no_longer_be_read_applies_nothing(world):
    change_id = propose(world, RulesChange(new_pin="908172"))
    world.pending.unreadable_pins.add(change_id)  # sealed with a key since rotated out
    with pytest.raises(UserError, match="can no longer be read"):
        confirm(world, change_id)
    assert world.pending.status(change_id) == ChangeStatus.FAILED and world.admin.patches == []


def test_webex_refusing_the_put_closes_the_request(world):
    change_id = propose(world)
    world.admin.puts.append((WebexCallError(400, "Invalid value", "track-1"), False))
    confirm(world, change_id)
    assert world.pending.status(change_id) == ChangeStatus.FAILED and expiry(world) == 100
    assert "Webex refused the change" in world.messenger.last()
    assert "track-1" in world.messenger.last()


def test_an_unanswered_put_that_landed_counts_as_applied(world):
    change_id = propose(world)
    world.admin.puts.append((NO_ANSWER, True))
    confirm(world, change_id)
    assert world.pending.status(change_id) == ChangeStatus.APPLIED
    assert "Change applied" in world.messenger.last() and len(world.audit.entries) == 1


def test_an_unanswered_put_that_did_not_land_may_be_confirmed_again(world):
    change_id = propose(world)
    world.admin.puts.append((NO_ANSWER, False))
    confirm(world, change_id)
    assert world.pending.status(change_id) == ChangeStatus.PENDING and expiry(world) == 100
    assert "the change was not applied" in world.messenger.last()
    confirm(world, change_id)  # Confirm again
    assert world.pending.status(change_id) == ChangeStatus.APPLIED and expiry(world) == 60


def test_an_unanswered_put_with_unreadable_rules_stays_unknown(world):
    change_id = propose(world)
    world.admin.puts.append((NO_ANSWER, False))
    world.admin.reads.extend([None, WebexCallError(503, "Service Unavailable")])  # recheck, read-back
    confirm(world, change_id)
    assert world.pending.status(change_id) == ChangeStatus.UNKNOWN
    assert "The change may have been applied" in world.messenger.last()
    assert world.audit.entries == []


def test_rules_that_already_read_as_asked_send_nothing(world):
    change_id = propose(world)
    world.admin.apply({"expirePasscode": {"enabled": True, "numberOfDays": 60}})
    confirm(world, change_id)
    assert world.pending.status(change_id) == ChangeStatus.ALREADY and world.admin.patches == []
    assert "Already applied" in world.messenger.last() and world.audit.entries == []


# -- cancel ----------------------------------------------------------------------------------------

def test_cancel_closes_the_request_and_its_card(world):
    change_id = propose(world)
    change_flow.cancel(world.deps, world.conversation(), change_id)
    assert world.pending.status(change_id) == ChangeStatus.CANCELLED
    assert world.messenger.deleted == ["message-1"] and "Cancelled" in world.messenger.last()
    change_flow.cancel(world.deps, world.conversation(), change_id)  # a second press: quietly
    assert "This change was cancelled." in world.messenger.last()


def test_an_unknown_request_id_is_refused(world):
    with pytest.raises(UserError, match="can't find that change request"):
        change_flow.cancel(world.deps, world.conversation(), "no-such-change")


# -- settle_unknown (the change watcher) -----------------------------------------------------------

def unknown_change(world: World) -> str:
    change_id = propose(world)
    world.admin.puts.append((NO_ANSWER, False))
    world.admin.reads.extend([None, NO_ANSWER])
    confirm(world, change_id)
    assert world.pending.status(change_id) == ChangeStatus.UNKNOWN
    return change_id


def test_settling_finds_an_unknown_change_applied_after_all(world):
    change_id = unknown_change(world)
    world.admin.apply({"expirePasscode": {"enabled": True, "numberOfDays": 60}})  # it had landed
    assert change_flow.settle_unknown(world.deps) == [f"change {change_id}: applied"]
    assert world.pending.status(change_id) == ChangeStatus.APPLIED
    assert [entry["actor_id"] for entry in world.audit.entries] == [ALICE.person_id]


def test_settling_finds_an_unknown_change_not_applied(world):
    change_id = unknown_change(world)
    assert change_flow.settle_unknown(world.deps) == [f"change {change_id}: not applied"]
    assert world.pending.status(change_id) == ChangeStatus.PENDING  # Confirm again, in time
    assert "You can press Confirm again" in world.messenger.last()


def test_settling_an_expired_unknown_change_closes_it(world):
    change_id = unknown_change(world)
    world.pending.age(change_id, by=timedelta(minutes=11))
    assert change_flow.settle_unknown(world.deps) == [f"change {change_id}: not applied"]
    assert world.pending.status(change_id) == ChangeStatus.EXPIRED
    assert "Ask again with `set expiry 60`" in world.messenger.last()  # what asks for it again


def test_settling_leaves_the_change_unknown_while_the_rules_cannot_be_read(world):
    change_id = unknown_change(world)
    world.admin.reads.append(NO_ANSWER)
    with pytest.raises(WebexCallError):
        change_flow.settle_unknown(world.deps)
    assert world.pending.status(change_id) == ChangeStatus.UNKNOWN


def unknown_pin_change(world: World) -> str:
    change_id = propose(world, RulesChange(new_pin="908172"))
    world.admin.puts.append((NO_ANSWER, False))
    world.admin.reads.extend([None, NO_ANSWER])
    confirm(world, change_id)
    assert world.pending.status(change_id) == ChangeStatus.UNKNOWN
    return change_id


def test_an_unknown_new_pin_waits_for_confirm_again_while_the_request_lasts(world):
    change_id = unknown_pin_change(world)
    assert change_flow.settle_unknown(world.deps) == []  # reading the rules cannot tell
    assert world.pending.status(change_id) == ChangeStatus.UNKNOWN
    assert world.pending.pin(change_id) == "908172"  # Confirm again applies it


def test_an_expired_unknown_new_pin_is_closed_as_undetermined_and_its_pin_erased(world):
    change_id = unknown_pin_change(world)
    world.pending.age(change_id, by=timedelta(minutes=11))
    assert change_flow.settle_unknown(world.deps) == [f"change {change_id}: undetermined"]
    assert world.pending.status(change_id) == ChangeStatus.UNDETERMINED
    assert world.pending.pin(change_id) is None
    told = world.messenger.last()
    assert "can't tell whether your new default PIN was set" in told and "`edit`" in told
    assert "908172" not in told
    assert change_flow.settle_unknown(world.deps) == []  # closed once
