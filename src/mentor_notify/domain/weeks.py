"""Weeks, for what may happen at most once a week (the re-registration push)."""

from datetime import UTC, date, datetime, timedelta


def week_start(moment: datetime) -> date:
    """The Monday of the UTC week `moment` falls in (ISO weeks start on Monday)."""
    if moment.tzinfo is None:
        raise ValueError("a moment must be timezone-aware (give a UTC offset)")
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())
