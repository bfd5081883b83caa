"""Signature verification as pure functions, with property-based cases."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from bot.webhook.signature import is_valid, sign


def test_matches_webex_definition():
    body = b'{"id":"x"}'
    assert sign("secret", body) == hmac.new(b"secret", body, hashlib.sha1).hexdigest()


@given(secret=st.text(min_size=1), body=st.binary())
def test_own_signature_is_valid(secret, body):
    assert is_valid(secret, body, sign(secret, body))


@given(secret=st.text(min_size=1), body=st.binary(), other=st.binary())
def test_signature_of_another_body_is_invalid(secret, body, other):
    if other != body:
        assert not is_valid(secret, other, sign(secret, body))


@given(secret=st.text(min_size=1), body=st.binary(), cut=st.integers(min_value=0, max_value=39))
def test_truncated_signature_is_invalid(secret, body, cut):
    assert not is_valid(secret, body, sign(secret, body)[:cut])


@given(secret=st.text(min_size=1), body=st.binary(), signature=st.text(min_size=1))
def test_non_ascii_signature_is_invalid_not_an_error(secret, body, signature):
    assert not is_valid(secret, body, signature + "\u00e9")
