"""The daily cycle: sweep, scenarios and delivery in one run, safe to repeat, a failed
step reported without stopping the others; and `mentor-notify daily`."""

import json
import os
import subprocess
from datetime import timedelta

import pytest

from mentor_notify.composition import daily_cycle
from mentor_notify.daily import DailyResult
from mentor_notify.db import Pool
from mentor_notify.domain import AsOf, SystemClock
from mentor_notify.push.dispatcher import Dispatcher
from mentor_notify.push.outbox import Outbox
from mentor_notify.push.senders import open_senders
from tests.expiry_world import build_world
from tests.integration.test_dispatch_processes import (  # noqa: F401 - fixture
    MENTOR_NOTIFY,
    deliveries,
    emulator_url,
)
from tests.integration.test_expiry_sweep import CLOCK, TIER_OFFSETS, TODAY
from tests.integration.test_push_delivery import Service, service  # noqa: F401 - fixture


class Recorder:
    """Remembers what the cycle reported, as a progress display would see it."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, str, int | None]] = []
        self.advanced: list[tuple[str, str]] = []

    def step(self, name: str, state: str, total: int | None = None) -> None:
        self.steps.append((name, state, total))

    def advance(self, name: str, what: str) -> None:
        self.advanced.append((name, what))


async def cycle(
    pool: Pool,
    service: Service,  # noqa: F811
    organisations: list[str] | None = None,
) -> DailyResult:
    progress = Recorder()
    async with open_senders(service.settings, SystemClock()) as senders:
        dispatcher = Dispatcher(Outbox(pool, "daily"), senders, CLOCK)
        result = await daily_cycle(pool, CLOCK, dispatcher, progress=progress).run(
            AsOf.on(TODAY), organisations
        )
    started = [(s, total) for s, state, total in progress.steps if state == "running"]
    assert [s for s, _ in started] == ["expiry", "scenarios", "dispatch"]
    # The sweep's bar knows its organisations and moves once per organisation.
    swept = [what for step, what in progress.advanced if step == "expiry"]
    assert started[0][1] == len(swept)
    if result.expiry is not None:
        assert swept == [o.slug for o in result.expiry.organisations]
    return result


async def test_one_cycle_notifies_and_delivers_and_a_second_adds_nothing(
    own_pool: Pool,
    service: Service,  # noqa: F811
) -> None:
    async with own_pool.connection() as conn:
        await build_world(conn, TODAY, TIER_OFFSETS)

    first = await cycle(own_pool, service)
    second = await cycle(own_pool, service)

    assert first.ok
    assert first.expiry is not None
    assert first.dispatch is not None
    created = first.expiry.total("notifications_created")
    assert created > 0
    assert first.expiry.total("mentors_suppressed") == 1  # the lapsed mentor
    # Every notice went out: in its own push or folded into its recipient's one
    # push of the day (a digest); one device per recipient.
    assert first.dispatch.sent + first.dispatch.folded == created
    assert first.dispatch.folded > 0
    assert sum(service.emulator.counts.values()) == first.dispatch.sent
    # The per-organisation tallies of the summary add up to the totals.
    by_org = first.dispatch.by_organisation
    assert set(by_org) == {o.organization_id for o in first.expiry.organisations}
    assert sum(t.sent for t in by_org.values()) == first.dispatch.sent
    assert sum(t.failed for t in by_org.values()) == first.dispatch.failed + first.dispatch.dead
    assert second.ok
    assert second.expiry is not None
    assert second.dispatch is not None
    assert (second.expiry.total("notifications_created"), second.dispatch.claimed) == (0, 0)


async def test_a_failed_step_is_reported_and_the_others_still_run(
    own_pool: Pool,
    service: Service,  # noqa: F811
) -> None:
    async with own_pool.connection() as conn:
        await build_world(conn, TODAY, {"soon": 7})
        # Break the scenario engine for real: the activities it reads are gone.
        await conn.execute("alter table activities rename to activities_away")

    result = await cycle(own_pool, service)

    assert result.failed_steps == ["scenarios"]
    assert not result.ok
    assert result.scenarios is None
    assert result.dispatch is not None
    assert result.dispatch.sent == 2  # the expiry notices still went out


# A business date a week before and a month after the real one: the command decides
# for that date, and still signs provider tokens, leases and stamps in real time.
DAYS_FROM_TODAY = (-7, 30)


@pytest.mark.parametrize("days_from_today", DAYS_FROM_TODAY, ids=["week-ago", "month-ahead"])
async def test_the_daily_command_delivers_everything_whatever_date_it_decides_for(
    own_pool: Pool,
    own_database_url: str,
    emulator_url: str,  # noqa: F811
    days_from_today: int,
) -> None:
    before = SystemClock().now()
    day = before.date() + timedelta(days=days_from_today)
    async with own_pool.connection() as conn:
        await build_world(conn, day, {"soon": 7, "later": 30})
        # Send windows follow the real hour; open them so any hour delivers.
        await conn.execute("update organizations set push_window_start = push_window_end")

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(MENTOR_NOTIFY),
                "--database-url",
                own_database_url,
                "daily",
                "--today",
                day.isoformat(),
                "--emulator",
                emulator_url,
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=os.environ | {"MENTOR_NOTIFY_LOG_FORMAT": "json"},
        )

    first, second = run(), run()
    after = SystemClock().now()

    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["ok"] is True
    assert [o["today"] for o in report["expiry"]["organisations"]] == [day.isoformat()]
    # Two mentors and their coordinator, one device each: three pushes (the
    # coordinator's a digest of two notices), all delivered, over both services
    # (APNs refuses a provider token not issued in the last hour).
    assert report["dispatch"]["sent"] == 3
    assert report["dispatch"]["folded"] == 1
    assert (report["dispatch"]["failed"], report["dispatch"]["retrying"]) == (0, 0)
    counts = deliveries(emulator_url)["counts"]
    assert counts["fcm"] > 0
    assert counts["apns"] > 0
    assert sum(counts.values()) == 3
    assert json.loads(second.stdout)["dispatch"]["claimed"] == 0
    async with own_pool.connection() as conn:
        stamps = await (
            await conn.execute(
                "select min(n.created_at) as created_from, max(n.created_at) as created_to, "
                "min(x.sent_at) as sent_from, max(x.sent_at) as sent_to "
                "from notifications n join push_notices p on p.notification_id = n.id "
                "join push_deliveries x on x.notice_id = p.id"
            )
        ).fetchone()
    assert stamps is not None
    # Rows are stamped in real time, not on the business date.
    assert before <= stamps["created_from"] <= stamps["created_to"] <= after
    assert before <= stamps["sent_from"] <= stamps["sent_to"] <= after
