"""Every card template: renders with its example data, schema 1.3, at most 5 actions, routable."""

from __future__ import annotations

import json

import pytest

from bot.views import cards
from tests.support.paths import card_examples

EXAMPLES = card_examples()


def walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def test_every_template_has_an_example_and_a_fallback():
    assert set(cards.template_names()) == set(EXAMPLES)
    for name in cards.template_names():
        assert (cards.CARDS_DIR / f"{name}.md").exists()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_template_renders_to_a_webex_card(name):
    rendered = cards.render(name, EXAMPLES[name])
    content = rendered.content
    assert content["type"] == "AdaptiveCard" and content["version"] == "1.3"
    assert len(content.get("actions", [])) <= cards.MAX_ACTIONS
    text = json.dumps(content)
    assert "${" not in text and "$data" not in text and "$when" not in text
    for element in walk(content):
        if element.get("type") == "Action.Submit":
            assert element["data"]["action"], f"{name}: a submit without an action key"
    assert rendered.markdown and "{{" not in rendered.markdown
    assert len(rendered.markdown.encode()) <= 7439


def test_repetition_and_conditions():
    template = {"body": [{"$data": "${rows}", "text": "${label}: ${n}", "n2": "${n}"},
                         {"$when": "${show}", "text": "kept"}, {"$when": "${!show}", "text": "gone"}]}
    expanded = cards.expand(template, {"rows": [{"label": "a", "n": 1}, {"label": "b", "n": 2}],
                                       "show": True}, {})
    assert expanded == {"body": [{"text": "a: 1", "n2": 1}, {"text": "b: 2", "n2": 2},
                                 {"text": "kept"}]}


def test_a_missing_value_is_an_error_not_a_blank():
    with pytest.raises(cards.TemplateError):
        cards.expand({"text": "${nope}"}, {}, {})
