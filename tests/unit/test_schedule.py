"""When each organisation's daily cycle is due: 00:05 in its own timezone, once per
local date, catching up when the worker starts later in the day."""

from datetime import UTC, date, datetime, time
from uuid import UUID, uuid4

import pytest

from mentor_notify.worker import due_cycles, parse_run_at
from mentor_notify.worker.schedule import ScheduledOrganisation

OSLO = ScheduledOrganisation(uuid4(), "hlf", "Europe/Oslo")
NEW_YORK = ScheduledOrganisation(uuid4(), "abroad", "America/New_York")


def slugs_due(now: datetime, last_run: dict[UUID, date] | None = None) -> list[tuple[str, date]]:
    return [
        (d.organisation.slug, d.local_date)
        for d in due_cycles(now, [OSLO, NEW_YORK], last_run or {})
    ]


def test_due_at_five_past_midnight_local_not_before() -> None:
    # 23:04 UTC on the 22nd is 00:04 on the 23rd in Oslo (UTC+1 in November).
    assert ("hlf", date(2026, 11, 23)) not in slugs_due(datetime(2026, 11, 22, 23, 4, tzinfo=UTC))
    assert ("hlf", date(2026, 11, 23)) in slugs_due(datetime(2026, 11, 22, 23, 5, tzinfo=UTC))


def test_each_organisation_on_its_own_calendar() -> None:
    # When Oslo's 23rd begins, New York is still on the 22nd (18:05 there).
    now = datetime(2026, 11, 22, 23, 5, tzinfo=UTC)
    assert slugs_due(now) == [("hlf", date(2026, 11, 23)), ("abroad", date(2026, 11, 22))]
    ran = {OSLO.id: date(2026, 11, 23), NEW_YORK.id: date(2026, 11, 22)}
    assert slugs_due(now, ran) == []
    # New York's 23rd starts at 05:05 UTC.
    assert slugs_due(datetime(2026, 11, 23, 5, 4, tzinfo=UTC), ran) == []
    assert slugs_due(datetime(2026, 11, 23, 5, 5, tzinfo=UTC), ran) == [
        ("abroad", date(2026, 11, 23))
    ]


def test_summer_time_moves_the_utc_hour() -> None:
    # In July Oslo is UTC+2: 00:05 local is 22:05 UTC the day before.
    assert slugs_due(datetime(2026, 7, 1, 22, 5, tzinfo=UTC))[0] == ("hlf", date(2026, 7, 2))


def test_a_later_run_time_and_a_naive_instant() -> None:
    noon = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 11:00 in Oslo
    assert due_cycles(noon, [OSLO], {}, time(12, 0)) == []
    assert len(due_cycles(noon, [OSLO], {}, time(11, 0))) == 1
    with pytest.raises(ValueError, match="timezone-aware"):
        due_cycles(datetime(2026, 11, 23, 10, 0), [OSLO], {})


def test_run_at_is_read_as_hours_and_minutes() -> None:
    assert parse_run_at("00:05") == time(0, 5)
    assert parse_run_at("23:59") == time(23, 59)
    for bad in ("24:00", "5", "noon", "00:05:00"):
        with pytest.raises(ValueError, match="HH:MM"):
            parse_run_at(bad)
