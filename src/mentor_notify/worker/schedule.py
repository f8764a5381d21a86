"""When each organisation's daily cycle is due: at a fixed local time (00:05 by
default) in the organisation's own timezone, once per local date.

Pure: the caller brings the instant and what already ran. A worker that starts
after the day's time catches up at once (the cycle is idempotent, so a run that
another worker already did costs a re-check and sends nothing).
"""

from dataclasses import dataclass
from datetime import date, datetime, time
from uuid import UUID
from zoneinfo import ZoneInfo

DEFAULT_RUN_AT = time(0, 5)


@dataclass(frozen=True)
class ScheduledOrganisation:
    """An organisation as the scheduler sees it."""

    id: UUID
    slug: str
    timezone: str


@dataclass(frozen=True)
class DueCycle:
    """One organisation's cycle to run, for its local date."""

    organisation: ScheduledOrganisation
    local_date: date


def due_cycles(
    now: datetime,
    organisations: list[ScheduledOrganisation],
    last_run: dict[UUID, date],
    run_at: time = DEFAULT_RUN_AT,
) -> list[DueCycle]:
    """The organisations whose cycle for their current local date is due at `now`
    (timezone-aware) and has not run yet according to `last_run`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    due = []
    for org in organisations:
        local = now.astimezone(ZoneInfo(org.timezone))
        if local.time() >= run_at and last_run.get(org.id) != local.date():
            due.append(DueCycle(org, local.date()))
    return due


def parse_run_at(text: str) -> time:
    """A time of day given as HH:MM; a clear error otherwise."""
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return time(hours, minutes)
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day; give it as HH:MM, e.g. 00:05") from None
