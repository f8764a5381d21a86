"""Reading retention periods for `maintenance prune --older-than`."""

from datetime import timedelta

import pytest

from mentor_notify.maintenance import MINIMUM_RETENTION, RetentionError, parse_retention


@pytest.mark.parametrize(
    ("text", "days"),
    [("1y", 365), ("2y", 730), ("18mo", 540), ("13w", 91), ("400d", 400), (" 90d ", 90)],
)
def test_periods_in_every_unit(text: str, days: int) -> None:
    assert parse_retention(text) == timedelta(days=days)


@pytest.mark.parametrize("text", ["", "y", "1", "1m", "1 year", "-1y", "1.5y", "1Y"])
def test_unreadable_periods_say_how_to_write_one(text: str) -> None:
    with pytest.raises(RetentionError, match="write a whole number and a unit"):
        parse_retention(text)


def test_a_period_shorter_than_a_live_expiry_cycle_is_refused() -> None:
    with pytest.raises(RetentionError, match="at least 90 days"):
        parse_retention("89d")
    assert parse_retention(f"{MINIMUM_RETENTION.days}d") == MINIMUM_RETENTION
