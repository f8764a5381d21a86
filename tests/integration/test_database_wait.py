"""`DatabaseWait` on a real, unmigrated database: the reason is `migrations pending`
with the command to run, said when the wait starts and then once a minute (not at
every attempt), and the wait ends once the migrations are applied."""

import asyncio

from structlog.testing import capture_logs

from mentor_notify.db import SupabaseLayout
from mentor_notify.db.probe import DatabaseProbe
from mentor_notify.service import DatabaseWait
from tests.conftest import CreateDatabase
from tests.support import run_migrations


class SteppingClock:
    """A monotonic clock that moves 25 s at each reading and sets `stop` at the
    `last` reading, so the wait makes a known number of attempts."""

    def __init__(self, stop: asyncio.Event, last: int) -> None:
        self.readings = 0
        self._stop = stop
        self._last = last

    def __call__(self) -> float:
        self.readings += 1
        if self.readings >= self._last:
            self._stop.set()
        return 25.0 * self.readings


async def test_pending_migrations_are_the_reason_said_once_a_minute_until_migrated(
    create_database: CreateDatabase, supabase_layout: SupabaseLayout
) -> None:
    url = await create_database()
    probe = DatabaseProbe(url, supabase_layout, answer_within=10)
    stop = asyncio.Event()
    # Readings: the start, then one per attempt; the 8th stops it after 7 attempts
    # made 25 s apart (a backoff of a few milliseconds keeps the test short).
    wait = DatabaseWait(probe, "test", max_backoff=0.01, monotonic=SteppingClock(stop, 8))
    try:
        with capture_logs() as logged:
            gave_up = await wait.until_ready(stop)
        pending = wait.latest
        await run_migrations(url, supabase_layout)
        with capture_logs() as after:
            ready = await wait.until_ready(asyncio.Event())
    finally:
        await probe.close()

    said = [
        e
        for e in logged
        if e["event"] in ("waiting for the database", "still waiting for the database")
    ]
    assert gave_up is False
    assert pending.database is True
    assert pending.reason is not None
    assert pending.reason.startswith("migrations pending: ")
    assert pending.reason.endswith("; run `mentor-notify db migrate`")
    # At 25 s, 100 s and 175 s: the first attempt, then whenever a minute has passed.
    assert [entry["event"] for entry in said] == [
        "waiting for the database",
        "still waiting for the database",
        "still waiting for the database",
    ]
    assert all(entry["reason"] == pending.reason for entry in said)
    assert ready is True
    assert wait.latest.ready
    assert not [entry for entry in after if "waiting" in entry["event"]]
