"""Validators of what people type: ID numbers, phones, credit codes."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wzcheckin.core.identity import (
    InvalidIdentifier,
    credit_check_character,
    id_check_character,
    mask_name,
    mask_phone,
    parse_credit_code,
    parse_id_number,
    parse_phone,
)

# A published GB 11643 example whose check character is X.
ID_WITH_X = "11010519491231002X"


def test_check_character_of_the_standard_example_is_x():
    assert id_check_character(ID_WITH_X[:17]) == "X"
    assert parse_id_number(ID_WITH_X).value == ID_WITH_X


def test_lower_case_x_and_full_width_digits_are_normalised():
    assert parse_id_number("11010519491231002x").value == ID_WITH_X
    full_width = "１１０１０５１９４９１２３１００２Ｘ"
    assert parse_id_number(full_width).value == ID_WITH_X
    assert parse_id_number(" 110105 1949 1231 002X ").value == ID_WITH_X


@pytest.mark.parametrize(("raw", "code"), [
    ("", "required"),
    ("110105491231002", "id_15_digit"),
    ("1101051949123100", "id_length"),
    ("01010519491231002X", "id_format"),
    ("1101051949123100A2", "id_format"),
    ("110105194902300028", "id_birth_date"),   # 30 February
    ("110105180001010022", "id_birth_date"),   # before 1900
    ("110105194912310021", "id_check"),
    ("x" * 100, "too_long"),
])
def test_bad_id_numbers_are_refused_with_a_reason(raw, code):
    with pytest.raises(InvalidIdentifier) as error:
        parse_id_number(raw)
    assert error.value.code == code


def test_birth_dates_in_the_future_are_impossible():
    first17 = "51012220300101001"
    future = first17 + id_check_character(first17)
    with pytest.raises(InvalidIdentifier, match="id_birth_date"):
        parse_id_number(future, today=date(2021, 1, 20))


@given(st.integers(min_value=0, max_value=999), st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)))
def test_every_well_formed_id_number_round_trips(sequence, born):
    first17 = f"330302{born:%Y%m%d}{sequence:03d}"
    number = first17 + id_check_character(first17)
    parsed = parse_id_number(number.lower())
    assert parsed.value == number
    assert parsed.birth_date == born
    assert parsed.masked == "*" * 14 + number[-4:]


@given(st.text(max_size=40))
def test_id_parser_never_crashes_on_arbitrary_text(text):
    try:
        parse_id_number(text)
    except InvalidIdentifier as error:
        assert error.code


@pytest.mark.parametrize("raw", ["13812345678", "138 1234 5678", "+86 138-1234-5678", "008613812345678",
                                 "8613812345678", "１３８１２３４５６７８"])
def test_phone_numbers_are_normalised(raw):
    assert parse_phone(raw) == "13812345678"


@pytest.mark.parametrize("raw", ["", "12812345678", "1381234567", "138123456789", "0577-88996871", "abc"])
def test_bad_phone_numbers_are_refused(raw):
    with pytest.raises(InvalidIdentifier):
        parse_phone(raw)


def test_masks_show_only_what_the_spec_allows():
    assert mask_phone("13812341234") == "138****1234"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_name("李") == "李"


def test_credit_code_check_character():
    first17 = "91330304MA2H8KQ1X"
    code = first17 + credit_check_character(first17)
    assert parse_credit_code(code.lower()) == code
    wrong = first17 + ("0" if code[-1] != "0" else "1")
    with pytest.raises(InvalidIdentifier, match="credit_check"):
        parse_credit_code(wrong)


@pytest.mark.parametrize(("raw", "code"), [
    ("91330304MA2H8KQ1", "credit_length"),
    ("91330304MA2H8KQ1IO", "credit_format"),  # I and O are not in the GB 32100 alphabet
    ("9133A304MA2H8KQ1X0", "credit_format"),  # positions 3–8 are the region code digits
])
def test_bad_credit_codes(raw, code):
    with pytest.raises(InvalidIdentifier) as error:
        parse_credit_code(raw)
    assert error.value.code == code


def test_real_world_credit_code_example_validates():
    # 91350100M000100Y43 is the example printed in GB 32100-2015.
    assert parse_credit_code("91350100M000100Y43") == "91350100M000100Y43"
