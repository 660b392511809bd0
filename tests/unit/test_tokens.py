"""Signed codes: sign, verify, and every way a code can be wrong."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from wzcheckin.codes import tokens
from wzcheckin.codes.tokens import TokenError, TokenKind

NOW = datetime(2021, 2, 5, 1, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()
KEYS = {7: KEY.public_key()}
SUBJECT = "0123456789abcdef"


def make(kind=TokenKind.PASS, expires=NOW + timedelta(minutes=5), key=KEY, key_id=7, subject=SUBJECT):
    return tokens.sign(key, key_id, kind, subject, expires, issued_at=expires - timedelta(minutes=5))


def test_a_signed_token_verifies_and_carries_its_claims():
    token = make()
    assert len(token) == tokens.TOKEN_LENGTH
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")  # QR alphanumeric mode
    claims = tokens.verify(token, KEYS, NOW)
    assert claims.kind is TokenKind.PASS
    assert claims.subject == SUBJECT
    assert claims.key_id == 7


def test_tokens_carry_no_identifying_numbers():
    raw = tokens._decode(make())
    assert b"3303" not in raw and b"138" not in raw
    assert bytes.fromhex(SUBJECT) in raw


def test_expired_at_the_exact_expiry_instant():
    token = make(expires=NOW)
    with pytest.raises(TokenError) as error:
        tokens.verify(token, KEYS, NOW)
    assert error.value.reason == "expired"
    assert tokens.verify(token, KEYS, NOW - timedelta(seconds=1)).subject == SUBJECT


def test_a_token_signed_by_another_key_is_invalid():
    forged = make(key=OTHER_KEY)
    with pytest.raises(TokenError, match="invalid_token"):
        tokens.verify(forged, KEYS, NOW)


def test_unknown_key_id_is_reported_as_such():
    with pytest.raises(TokenError, match="unknown_key"):
        tokens.verify(make(key_id=8), KEYS, NOW)


def test_every_altered_character_is_detected():
    token = make()
    for position in range(0, len(token), 7):
        replacement = "A" if token[position] != "A" else "B"
        altered = token[:position] + replacement + token[position + 1:]
        with pytest.raises(TokenError):
            tokens.verify(altered, KEYS, NOW)


def test_changing_the_kind_breaks_the_signature():
    raw = bytearray(tokens._decode(make(kind=TokenKind.RESERVATION)))
    raw[1] = int(TokenKind.PASS)
    tampered = base64.b32encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(TokenError, match="invalid_token"):
        tokens.verify(tampered, KEYS, NOW)


@pytest.mark.parametrize("bad", ["", "   ", "A" * 138, "a" * 5000, "1" * 138, make()[:-1], make() + "A",
                                 "ÄÖÜ" * 44, None, 12345])
def test_malformed_input_is_invalid_not_a_crash(bad):
    with pytest.raises(TokenError, match="invalid_token"):
        tokens.verify(bad, KEYS, NOW)


def test_lower_case_input_is_accepted_as_scanners_may_send_it():
    assert tokens.verify(make().lower(), KEYS, NOW).subject == SUBJECT


@given(st.text(max_size=300))
def test_verify_never_crashes(text):
    with pytest.raises(TokenError):
        tokens.verify(text, KEYS, NOW)


def test_unknown_version_is_refused():
    raw = bytearray(tokens._decode(make()))
    raw[0] = 1  # the earlier layout, without an issue time
    with pytest.raises(TokenError, match="invalid_token"):
        tokens.verify(base64.b32encode(bytes(raw)).decode().rstrip("="), KEYS, NOW)


def test_a_token_carries_when_it_was_issued():
    claims = tokens.verify(make(expires=NOW + timedelta(minutes=5)), KEYS, NOW)
    assert claims.issued_at == NOW
    assert claims.expires_at == NOW + timedelta(minutes=5)


def test_a_token_that_expires_before_it_is_issued_is_never_made():
    with pytest.raises(ValueError):
        tokens.sign(KEY, 7, TokenKind.PASS, SUBJECT, NOW, issued_at=NOW)
