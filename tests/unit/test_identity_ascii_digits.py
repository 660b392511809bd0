"""Issue 12, item 7: after normalisation only ASCII digits (and X) are accepted in ID numbers,
phone numbers and credit codes; full-width digits are still folded to ASCII."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wzcheckin.core.identity import (
    InvalidIdentifier,
    fold_foreign_digits,
    parse_credit_code,
    parse_id_number,
    parse_phone,
)

ID = "11010519491231002X"
PHONE = "13812345678"
CREDIT = "91330304MA2H8KQ1X3"
# Digits of other scripts that NFKC leaves alone: Devanagari, Thai, Arabic-Indic, Bengali.
SCRIPTS = {"devanagari": 0x0966, "thai": 0x0E50, "arabic_indic": 0x0660, "bengali": 0x09E6}


def in_script(text: str, zero: int) -> str:
    return "".join(chr(zero + int(char)) if char.isascii() and char.isdigit() else char for char in text)


@pytest.mark.parametrize("script", SCRIPTS)
def test_an_id_number_in_another_scripts_digits_is_refused(script):
    with pytest.raises(InvalidIdentifier) as refused:
        parse_id_number(in_script(ID, SCRIPTS[script]))
    assert refused.value.code == "digits_not_ascii"


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_phone_number_in_another_scripts_digits_is_refused(script):
    with pytest.raises(InvalidIdentifier, match="digits_not_ascii"):
        parse_phone(in_script(PHONE, SCRIPTS[script]))
    with pytest.raises(InvalidIdentifier, match="digits_not_ascii"):
        parse_phone("+86 " + in_script(PHONE, SCRIPTS[script]))


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_credit_code_in_another_scripts_digits_is_refused_not_a_crash(script):
    assert parse_credit_code(CREDIT) == CREDIT
    with pytest.raises(InvalidIdentifier, match="digits_not_ascii"):
        parse_credit_code(in_script(CREDIT, SCRIPTS[script]))


def test_one_foreign_digit_among_ascii_ones_is_refused():
    with pytest.raises(InvalidIdentifier, match="digits_not_ascii"):
        parse_id_number("3303" + chr(0x0966 + 2) + ID[5:])


def test_full_width_digits_are_still_folded_to_ascii():
    assert parse_id_number(in_script(ID, 0xFF10).replace("X", "Ｘ")).value == ID
    assert parse_phone(in_script(PHONE, 0xFF10)) == PHONE


def test_stored_values_fold_to_their_ascii_form():
    assert fold_foreign_digits(in_script(ID, SCRIPTS["thai"])) == ID
    assert fold_foreign_digits(in_script(PHONE, SCRIPTS["arabic_indic"])) == PHONE
    assert fold_foreign_digits(ID) == ID


ANY_DIGIT = st.characters(categories=["Nd"])


@given(st.lists(st.one_of(ANY_DIGIT, st.sampled_from("Xx +-")), min_size=11, max_size=20).map("".join))
def test_whatever_the_parsers_accept_is_ascii(text):
    for parse in (parse_id_number, parse_phone, parse_credit_code):
        try:
            value = parse(text)
        except InvalidIdentifier:
            continue
        value = getattr(value, "value", value)
        assert value.isascii(), (parse.__name__, text)
        assert all(unicodedata.decimal(char, None) is None or char in "0123456789" for char in value)
