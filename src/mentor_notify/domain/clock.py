"""The injected clock, and "today" in an organisation's own calendar."""

from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Where business logic gets the current instant; never `datetime.now()` directly."""

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """The real clock (UTC)."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """A clock stopped at one instant, for tests, dry runs and `--today`."""

    def __init__(self, instant: datetime) -> None:
        """Stop the clock at `instant`, which must be timezone-aware."""
        if instant.tzinfo is None:
            raise ValueError("a FixedClock needs a timezone-aware instant")
        self._instant = instant

    def now(self) -> datetime:
        """The instant the clock is stopped at."""
        return self._instant


def local_today(clock: Clock, timezone: str) -> date:
    """The calendar date it is now in `timezone` (an IANA name such as Europe/Oslo).

    Certificates expire by the organisation's local calendar, so "today" is
    the local date, not the UTC one: at 00:30 in Oslo it is already the next
    day there while UTC still shows the previous one.
    """
    return clock.now().astimezone(ZoneInfo(timezone)).date()
