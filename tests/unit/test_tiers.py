"""Tier classification: the ticket's boundaries, and properties over all dates."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mentor_notify.domain import FixedClock, Tier, classify_tier, local_today, validate_thresholds

TODAY = date(2026, 11, 23)
OSLO = ZoneInfo("Europe/Oslo")
URGENCY = {None: 0, Tier.WARNING_90D: 1, Tier.WARNING_60D: 2, Tier.WARNING_30D: 3}
URGENCY |= {Tier.WARNING_7D: 4, Tier.EXPIRED: 5}
threshold_sets = st.sets(st.sampled_from([90, 60, 30, 7]), min_size=1).map(tuple)


@pytest.mark.parametrize(
    ("days_left", "tier"),
    [
        (61, None),
        (60, Tier.WARNING_60D),
        (31, Tier.WARNING_60D),
        (30, Tier.WARNING_30D),
        (8, Tier.WARNING_30D),
        (7, Tier.WARNING_7D),
        (1, Tier.WARNING_7D),
        (0, Tier.WARNING_7D),  # valid through its expiry date
        (-1, Tier.EXPIRED),
        (-400, Tier.EXPIRED),
    ],
)
def test_ticket_boundaries_with_the_default_thresholds(days_left: int, tier: Tier | None) -> None:
    assert classify_tier(TODAY + timedelta(days=days_left), TODAY) is tier


def test_a_ninety_day_threshold_opens_an_earlier_window() -> None:
    assert classify_tier(TODAY + timedelta(days=90), TODAY, (90, 30)) is Tier.WARNING_90D
    assert classify_tier(TODAY + timedelta(days=29), TODAY, (90, 30)) is Tier.WARNING_30D
    assert classify_tier(TODAY + timedelta(days=7), TODAY, (90, 30)) is Tier.WARNING_30D


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [((), "at least one"), ((45,), "not 45"), ((30, 30), "listed once")],
)
def test_bad_thresholds_are_refused_with_a_reason(
    thresholds: tuple[int, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        validate_thresholds(thresholds)


def test_tier_days_round_trip() -> None:
    assert [Tier.from_days(t.days) for t in Tier] == list(Tier)
    with pytest.raises(ValueError, match="not a tier"):
        Tier.from_days(45)


@given(st.integers(-1000, 1000), threshold_sets)
def test_exactly_one_tier_and_it_is_the_window_the_date_is_in(
    days_left: int, thresholds: tuple[int, ...]
) -> None:
    tier = classify_tier(TODAY + timedelta(days=days_left), TODAY, thresholds)
    windows = [t for t in thresholds if days_left <= t]
    if days_left < 0:
        assert tier is Tier.EXPIRED
    elif windows:
        assert tier is Tier.from_days(min(windows))
    else:
        assert tier is None


@given(st.dates(date(2020, 1, 1), date(2040, 1, 1)), st.integers(0, 200), threshold_sets)
def test_a_tier_never_gets_less_urgent_as_days_pass(
    expiry: date, start: int, thresholds: tuple[int, ...]
) -> None:
    days = [expiry - timedelta(days=start - step) for step in range(start + 3)]
    ranks = [URGENCY[classify_tier(expiry, day, thresholds)] for day in days]
    assert ranks == sorted(ranks)


@given(
    st.dates(date(2024, 1, 1), date(2034, 12, 31)),
    st.floats(0, 1, exclude_max=True),
    st.floats(0, 1, exclude_max=True),
    st.integers(-100, 100),
)
def test_dst_changes_nothing_any_hour_of_a_local_day_gives_the_same_tier(
    day: date, first: float, second: float, days_left: int
) -> None:
    # A local day is 23, 24 or 25 hours long; any instant inside it is "today".
    start = datetime(day.year, day.month, day.day, tzinfo=OSLO).astimezone(UTC)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=OSLO).astimezone(UTC)
    expiry = day + timedelta(days=days_left)
    length = (end - start) // timedelta(microseconds=1)
    # Floored to a microsecond before the day ends: a fraction just below 1 times
    # the day's length can round up to the next midnight in floating point.
    instants = [
        start + timedelta(microseconds=min(int(length * f), length - 1)) for f in (first, second)
    ]
    tiers = {classify_tier(expiry, local_today(FixedClock(i), "Europe/Oslo")) for i in instants}
    assert len(tiers) == 1
    assert tiers == {classify_tier(expiry, day)}


@pytest.mark.parametrize(
    ("instant", "local"),
    [
        (datetime(2026, 3, 28, 23, 30, tzinfo=UTC), date(2026, 3, 29)),  # spring forward night
        (datetime(2026, 10, 24, 22, 30, tzinfo=UTC), date(2026, 10, 25)),  # fall back night
        (datetime(2026, 10, 25, 22, 59, tzinfo=UTC), date(2026, 10, 25)),  # 23:59 CET
        (datetime(2026, 10, 25, 23, 0, tzinfo=UTC), date(2026, 10, 26)),
    ],
)
def test_local_today_follows_oslo_not_utc(instant: datetime, local: date) -> None:
    assert local_today(FixedClock(instant), "Europe/Oslo") == local


def test_fixed_clock_refuses_naive_instants() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2026, 11, 23, 12, 0))
