"""The Python privacy guard: identity numbers by their check digits, e-mail, phones."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mentor_notify.privacy import (
    PersonalDataError,
    ensure_no_personal_data,
    find_personal_data,
    is_national_identity_number,
)
from tests.privacy_examples import MUST_FLAG, MUST_PASS, identity_number


@pytest.mark.parametrize(("value", "kind"), MUST_FLAG)
def test_personal_data_is_recognised(value: str, kind: str) -> None:
    assert [f.kind for f in find_personal_data({"note": value})] == [kind]


@pytest.mark.parametrize("value", MUST_PASS)
def test_near_misses_pass(value: str) -> None:
    assert find_personal_data({"note": value, "list": [value], value: 1}) == []


def test_the_error_names_each_field_and_never_the_value() -> None:
    metadata = {
        "rule_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "contact": ["x", "ola@example.org"],
        "extra": {"count": 3, "who": "02016126007"},
    }

    with pytest.raises(PersonalDataError) as caught:
        ensure_no_personal_data(metadata)

    message = str(caught.value)
    assert "metadata.contact[1] holds what looks like an e-mail address" in message
    assert "metadata.extra.who holds what looks like a national identity number" in message
    assert "ola@example.org" not in message
    assert "02016126007" not in message
    assert [f.path for f in caught.value.findings] == ["metadata.contact[1]", "metadata.extra.who"]


def test_numbers_and_keys_are_checked_too() -> None:
    assert [f.path for f in find_personal_data({"n": 91234567})] == ["metadata.n"]
    assert [f.path for f in find_personal_data({"ola@example.org": True})] == [
        "metadata.ola@example.org"
    ]
    assert find_personal_data({"count": 25, "flag": True, "ratio": 0.5, "none": None}) == []


_BIRTHDAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(2039, 12, 31))


@given(
    born=_BIRTHDAYS,
    individual=st.integers(0, 999),
    d_number=st.booleans(),
    remainder=st.sampled_from([0, 1, 2, 3]),
)
def test_every_number_the_register_can_issue_is_recognised(
    born: date, individual: int, d_number: bool, remainder: int
) -> None:
    number = identity_number(born, individual, d_number=d_number, remainder_2032=remainder)
    if number is not None:
        assert is_national_identity_number(number)


@given(
    born=_BIRTHDAYS,
    individual=st.integers(0, 999),
    position=st.integers(9, 10),
    delta=st.integers(1, 9),
)
def test_a_changed_control_digit_is_never_an_identity_number(
    born: date, individual: int, position: int, delta: int
) -> None:
    # The second control digit's weight on either control digit is non-zero
    # mod 11, so no change to one of them keeps it right, under either rule.
    number = identity_number(born, individual)
    if number is None:
        return
    digits = list(number)
    digits[position] = str((int(digits[position]) + delta) % 10)
    assert not is_national_identity_number("".join(digits))


def test_impossible_dates_are_not_identity_numbers() -> None:
    feb_30 = identity_number(date(2000, 2, 28), 123)
    assert feb_30 is not None
    assert is_national_identity_number(feb_30)
    assert not is_national_identity_number("30" + feb_30[2:])
    assert not is_national_identity_number("0201612600")  # ten digits
    assert not is_national_identity_number("0201612600a")
