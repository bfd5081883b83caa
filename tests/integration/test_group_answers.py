"""In a group space every answer names the person it is for, with a real Webex mention (the
emulator records it in ``mentionedPeople``, as Webex does); a refusal of a press on someone else's
card says it is about that press. 1:1 spaces need no mention."""

from __future__ import annotations

import pytest

from tests.support.bot_server import Persona, card_of, card_text, start_bot
from tests.support.rendering import MENTION, card_markdown, live_markup, visible


@pytest.fixture
def bot(emulator, tmp_path):
    server = start_bot(emulator, tmp_path)
    yield server
    server.stop()


def proposal(alice: Persona) -> tuple[dict, str]:
    alice.say("set change-interval 5")
    confirmation = alice.wait_reply()
    return confirmation, card_of(confirmation)["actions"][0]["data"]["changeId"]


def test_an_answer_in_a_group_space_mentions_the_requester(emulator, bot):
    alice = Persona(emulator, "alice", "admins")
    alice.say("show")
    reply = alice.wait_reply()
    alice_id = emulator.id("alice")
    assert reply["markdown"].startswith(f"<@personId:{alice_id}|Alice Fuller>: ")
    assert reply["mentionedPeople"] == [alice_id]
    assert "Passcodes expire after 100 days" in card_text(reply)
    assert card_of(reply)["body"][0]["text"] == "For Alice Fuller"  # on the card Webex shows too


def test_an_answer_in_a_direct_space_mentions_nobody(emulator, bot):
    alice = Persona(emulator, "alice", "dm-alice")
    alice.say("show")
    reply = alice.wait_reply()
    assert "mentionedPeople" not in reply and not MENTION.findall(reply["markdown"])


def test_a_role_refusal_of_a_press_on_someone_elses_card_names_the_presser(emulator, bot):
    alice = Persona(emulator, "alice", "admins")
    confirmation, change_id = proposal(alice)
    rita = Persona(emulator, "rita", "admins")
    rita.seen = set(alice.seen)
    rita.submit(confirmation, action="confirm", changeId=change_id)
    refusal = rita.wait_reply()
    assert refusal["mentionedPeople"] == [emulator.id("rita")]  # not Alice
    assert refusal["text"].startswith(  # the plain text Webex derives, the mention as a name
        "Rita Reed: Your button press changed nothing. This needs a Full Administrator.")
    assert refusal["parentId"] == confirmation["parentId"]  # in the thread of Alice's command


def test_another_admins_press_is_refused_as_theirs(emulator, bot):
    emulator.state.add_membership(emulator.id("admins"), emulator.id("fiona"))
    alice = Persona(emulator, "alice", "admins")
    confirmation, change_id = proposal(alice)
    fiona = Persona(emulator, "fiona", "admins")
    fiona.seen = set(alice.seen)
    fiona.submit(confirmation, action="confirm", changeId=change_id)
    refusal = fiona.wait_reply()
    assert refusal["mentionedPeople"] == [emulator.id("fiona")]
    texts = [visible(t) for t in _card_texts(refusal)]
    assert texts[0] == "For Fiona Field"  # the card is what Webex shows: it says whom it answers
    assert ("Only Alice Fuller can confirm or cancel Alice Fuller's change; your press changed "
            "nothing.") in " ".join(texts)


def _card_texts(message: dict) -> list[str]:
    return list(card_markdown(card_of(message)))


HOSTILE = "Rita <@all> [open](https://evil.example/x) **B** | x>"


def test_a_hostile_name_in_a_mention_pings_nobody_else(emulator, bot):
    rita_id = emulator.id("rita")
    renamed = emulator.control("PUT", f"people/{rita_id}", json={"displayName": HOSTILE})
    assert renamed.status_code == 200
    rita = Persona(emulator, "rita", "admins")
    rita.say("whoami")
    reply = rita.wait_reply()
    assert reply["mentionedPeople"] == [rita_id]
    assert "mentionedGroups" not in reply
    assert live_markup(reply["markdown"]) == [f"<@personId:{rita_id}|Rita @all open "
                                              "(https evil.example x) B x>"]
