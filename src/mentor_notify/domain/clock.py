"""Two kinds of time, kept apart.

* The **real clock** (`Clock`) is what the outside world runs on: provider and
  OAuth tokens, leases, backoff, `Retry-After`, send windows, `sent_at`,
  `created_at`, logs. Only ever the system clock in production; tests of
  wall-time behaviour read the same clock and take their expectations from it.
* The **business moment** (`AsOf`) a job decides for: which expiry tier a
  certificate is in, who is inactive, which milestone is due. An operator or a
  test may set it to any date (`--today`, `--date`, `--now`); it never signs a
  token, stamps a row or opens a send window.

A job run as of a past or future date therefore still delivers: it decides for
that date and talks to APNs, FCM and the other workers in real time. How far
from the real today an operator may set it is `check_business_date`'s rule.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Protocol, Self, TypeVar
from zoneinfo import ZoneInfo

# The instant a pinned business date is read at: midday UTC is the same
# calendar date in every time zone from UTC-11 to UTC+11 (every organisation's
# so far), so the scenario engine, which decides by instants, agrees with the
# expiry sweep, which decides by the pinned date.
PINNED_DAY_TIME = time(12, 0, tzinfo=UTC)

# How far, either way, the business moment an operator or a caller sets may lie
# from the real today. Catch-up runs and rehearsals stay well inside it (the
# longest warning window is 90 days), while a typo such as 9999-12-31 or 2062
# for 2026 falls outside: decided for such a date, a run would call every
# certificate lapsed (or none due) and tell real people so. The command line
# can override it (--allow-far-date); the API cannot.
BUSINESS_DATE_MAX_YEARS = 5

_Moment = TypeVar("_Moment", bound=date)


class Clock(Protocol):
    """The real clock; never `datetime.now()` directly, so tests can read the same one."""

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """The real clock (UTC)."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """A clock stopped at one instant, for unit tests of pure, wall-time logic."""

    def __init__(self, instant: datetime) -> None:
        """Stop the clock at `instant`, which must be timezone-aware."""
        if instant.tzinfo is None:
            raise ValueError("a FixedClock needs a timezone-aware instant")
        self._instant = instant

    def now(self) -> datetime:
        """The instant the clock is stopped at."""
        return self._instant


@dataclass(frozen=True)
class AsOf:
    """The business moment a job decides for.

    `instant` is what the scenario engine measures inactivity, cooldowns and
    welcome-backs from. `day`, when set, is the local date every organisation
    decides for (an operator's `--today`); otherwise each organisation's date is
    `instant` read in its own time zone.
    """

    instant: datetime
    day: date | None = None

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError("an as-of instant must be timezone-aware (give a UTC offset)")

    @classmethod
    def at(cls, instant: datetime) -> Self:
        """Decide as of `instant` (each organisation's date is its local one then)."""
        return cls(instant)

    @classmethod
    def on(cls, day: date) -> Self:
        """Decide for the local date `day` in every organisation, read at midday UTC."""
        return cls(datetime.combine(day, PINNED_DAY_TIME), day)

    @classmethod
    def current(cls, clock: Clock) -> Self:
        """Decide as of the real clock's present moment (what a scheduled run does)."""
        return cls(clock.now())

    def local_date(self, timezone: str) -> date:
        """The date an organisation in `timezone` (an IANA name) decides for."""
        if self.day is not None:
            return self.day
        return self.instant.astimezone(ZoneInfo(timezone)).date()


def local_today(clock: Clock, timezone: str) -> date:
    """The calendar date it is now in `timezone` (an IANA name such as Europe/Oslo).

    Certificates expire by the organisation's local calendar, so "today" is
    the local date, not the UTC one: at 00:30 in Oslo it is already the next
    day there while UTC still shows the previous one.
    """
    return AsOf.current(clock).local_date(timezone)


class FarBusinessDate(ValueError):
    """A business date further than `BUSINESS_DATE_MAX_YEARS` from the real today."""


def business_date_bounds(clock: Clock) -> tuple[date, date]:
    """The earliest and latest business dates `check_business_date` accepts now.

    Counted from the real clock's UTC date, in whole years (29 February
    counts as 28 February in a year without it).
    """
    today = clock.now().astimezone(UTC).date()
    return _years_after(today, -BUSINESS_DATE_MAX_YEARS), _years_after(
        today, BUSINESS_DATE_MAX_YEARS
    )


def check_business_date(moment: _Moment, clock: Clock) -> _Moment:
    """Return `moment` (a date, or a timezone-aware instant) if it lies within
    `BUSINESS_DATE_MAX_YEARS` of the real clock's today; else raise `FarBusinessDate`.

    An instant counts by its UTC date. Pure: the real clock is passed in.
    """
    earliest, latest = business_date_bounds(clock)
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("an as-of instant must be timezone-aware (give a UTC offset)")
        # Compared as instants: converting e.g. 9999-12-31T23:00-05:00 to UTC
        # first would overflow.
        inside = (
            datetime.combine(earliest, time.min, UTC)
            <= moment
            <= datetime.combine(latest, time.max, UTC)
        )
    else:
        inside = earliest <= moment <= latest
    if not inside:
        raise FarBusinessDate(
            f"{moment.isoformat()} is more than {BUSINESS_DATE_MAX_YEARS} years from today "
            f"({clock.now().astimezone(UTC).date().isoformat()}); give a date between "
            f"{earliest.isoformat()} and {latest.isoformat()}"
        )
    return moment


def _years_after(day: date, years: int) -> date:
    year = min(max(day.year + years, date.min.year), date.max.year)
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February in a year without it
        return day.replace(year=year, day=28)
