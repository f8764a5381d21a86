"""How far from the real today a business date may lie: a pure rule on an injected clock."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from mentor_notify.domain import (
    BUSINESS_DATE_MAX_YEARS,
    FarBusinessDate,
    FixedClock,
    SystemClock,
    business_date_bounds,
    check_business_date,
)

# An injected clock: the rule is pure, so any instant will do.
CLOCK = FixedClock(datetime(2026, 11, 29, 10, 0, tzinfo=UTC))


def test_the_bounds_are_the_same_day_some_years_either_way() -> None:
    assert BUSINESS_DATE_MAX_YEARS == 5
    assert business_date_bounds(CLOCK) == (date(2021, 11, 29), date(2031, 11, 29))


def test_a_leap_day_counts_as_the_28th_in_years_without_one() -> None:
    leap = FixedClock(datetime(2028, 2, 29, 12, 0, tzinfo=UTC))

    assert business_date_bounds(leap) == (date(2023, 2, 28), date(2033, 2, 28))


@pytest.mark.parametrize(
    "day", [date(2021, 11, 29), date(2026, 11, 29), date(2031, 11, 29), date(2027, 1, 1)]
)
def test_dates_inside_the_bounds_pass_unchanged(day: date) -> None:
    assert check_business_date(day, CLOCK) is day


@pytest.mark.parametrize(
    "day", [date(2021, 11, 28), date(2031, 11, 30), date(9999, 12, 31), date(1, 1, 1)]
)
def test_dates_outside_the_bounds_are_refused_saying_which_are_allowed(day: date) -> None:
    with pytest.raises(FarBusinessDate) as raised:
        check_business_date(day, CLOCK)

    assert str(raised.value) == (
        f"{day.isoformat()} is more than 5 years from today (2026-11-29); "
        "give a date between 2021-11-29 and 2031-11-29"
    )


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        (datetime(2031, 11, 29, 23, 59, tzinfo=UTC), True),
        # 2031-11-29 in UTC, though already the 30th in Oslo
        (datetime(2031, 11, 30, 0, 30, tzinfo=timezone(timedelta(hours=1))), True),
        (datetime(2031, 11, 30, 0, 0, tzinfo=UTC), False),
        (datetime(2021, 11, 28, 23, 0, tzinfo=timezone(timedelta(hours=-2))), True),
        (datetime(2021, 11, 28, 23, 59, tzinfo=UTC), False),
        # Read as instants: converting these to UTC first would overflow.
        (datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))), False),
        (datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=5))), False),
    ],
)
def test_an_instant_counts_by_its_utc_date(instant: datetime, inside: bool) -> None:
    if inside:
        assert check_business_date(instant, CLOCK) is instant
    else:
        with pytest.raises(FarBusinessDate):
            check_business_date(instant, CLOCK)


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_business_date(datetime(2026, 11, 29, 10, 0), CLOCK)


def test_on_the_real_clock_today_passes_and_far_dates_do_not() -> None:
    today = SystemClock().now().date()

    assert check_business_date(today, SystemClock()) == today
    with pytest.raises(FarBusinessDate):
        check_business_date(
            today + timedelta(days=366 * BUSINESS_DATE_MAX_YEARS + 2), SystemClock()
        )
