from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.identifiers import (
    CREDIT_CHARS,
    InvalidIdentifier,
    credit_check_char,
    id_check_char,
    normalise_phone,
    validate_credit_code,
    validate_id_number,
)

EXAMPLES = settings(max_examples=100, deadline=None)


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    region = draw(st.integers(110000, 659999))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)))
    sequence = draw(st.integers(0, 999))
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + id_check_char(first17)


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    first17 = "".join(draw(st.lists(st.sampled_from(CREDIT_CHARS), min_size=17, max_size=17)))
    return first17 + credit_check_char(first17)


def _error(validate: Callable[[str], str], value: str) -> str:
    with pytest.raises(InvalidIdentifier) as caught:
        validate(value)
    return caught.value.code


@EXAMPLES
@given(id_numbers())
def test_every_well_formed_id_number_validates(id_number: str):
    assert validate_id_number(id_number) == id_number


@EXAMPLES
@given(id_numbers(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_one_mistyped_character_in_an_id_number_is_caught(id_number: str, at: int, typed: str):
    if id_number[at] == typed:
        return
    mistyped = id_number[:at] + typed + id_number[at + 1 :]
    assert _error(validate_id_number, mistyped) in {"id_check", "id_format", "id_birth_date"}


@EXAMPLES
@given(id_numbers())
def test_id_numbers_typed_with_full_width_digits_and_spaces_are_understood(id_number: str):
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in id_number)
    spaced = f" {full_width[:6]} {full_width[6:14]}\u3000{full_width[14:].lower()} "
    assert validate_id_number(spaced) == id_number


@EXAMPLES
@given(credit_codes())
def test_every_well_formed_credit_code_validates(code: str):
    assert validate_credit_code(code) == code


@EXAMPLES
@given(credit_codes(), st.integers(0, 17), st.sampled_from(CREDIT_CHARS + "IOSVZ"))
def test_one_mistyped_character_in_a_credit_code_is_caught(code: str, at: int, typed: str):
    if code[at] == typed:
        return
    mistyped = code[:at] + typed + code[at + 1 :]
    assert _error(validate_credit_code, mistyped) in {"credit_check", "credit_format"}


def test_real_format_examples_validate():
    assert validate_id_number("11010519491231002X") == "11010519491231002X"
    assert validate_id_number("11010519491231002x") == "11010519491231002X"
    assert validate_credit_code("91350100M000100Y43") == "91350100M000100Y43"
    assert validate_credit_code("９１３５０１００ｍ０００１００ｙ４３") == "91350100M000100Y43"


def test_each_id_number_problem_has_its_own_code():
    assert _error(validate_id_number, "1101051949123100") == "id_length"
    assert _error(validate_id_number, "11010519491231002A") == "id_format"
    assert _error(validate_id_number, "1101051949123100X2") == "id_format"
    assert _error(validate_id_number, "110105194902310021") == "id_birth_date"  # 31 February
    assert _error(validate_id_number, "110105189912310021") == "id_birth_date"  # before 1900
    assert _error(validate_id_number, "110105194912310021") == "id_check"


def test_a_birth_date_after_today_is_refused_when_today_is_known():
    born_tomorrow = "11010520261128001"
    id_number = born_tomorrow + id_check_char(born_tomorrow)
    assert validate_id_number(id_number) == id_number
    with pytest.raises(InvalidIdentifier) as caught:
        validate_id_number(id_number, today=date(2026, 11, 27))
    assert caught.value.code == "id_birth_date"


def test_an_id_number_of_the_wrong_length_says_how_long_it_was():
    with pytest.raises(InvalidIdentifier) as caught:
        validate_id_number("11010519491231")
    assert caught.value.params == {"length": 14}


def test_each_credit_code_problem_has_its_own_code():
    assert _error(validate_credit_code, "91350100M000100Y4") == "credit_length"
    assert _error(validate_credit_code, "91350100M000100YO3") == "credit_format"
    assert _error(validate_credit_code, "91350100M000100Y44") == "credit_check"


def test_phones_lose_country_prefixes_spaces_and_dashes():
    assert normalise_phone("+86 138-1234-5678") == "13812345678"
    assert normalise_phone("0086 13812345678") == "13812345678"
    assert normalise_phone("１３８ １２３４ ５６７８") == "13812345678"
