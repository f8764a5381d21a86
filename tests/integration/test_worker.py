"""The worker: each organisation's cycle at 00:05 local time, once per local date;
a cycle another worker holds is left to it; pushes drained continuously; two
worker processes at once deliver everything once, answer /healthz and stop on
SIGTERM with status 0."""

import asyncio
import os
import re
import shutil
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import httpx

from mentor_notify.db import Pool, SupabaseLayout
from mentor_notify.domain import SystemClock
from mentor_notify.push.dispatcher import Dispatcher
from mentor_notify.push.senders import open_senders
from mentor_notify.worker import Worker
from mentor_notify.worker.worker import CYCLE_LOCK_CLASS
from tests.expiry_world import build_world
from tests.integration.test_dispatch_processes import (  # noqa: F401 - fixture
    MENTOR_NOTIFY,
    deliveries,
    emulator_url,
)
from tests.integration.test_expiry_sweep import TODAY
from tests.integration.test_push_delivery import Service, service  # noqa: F401 - fixture
from tests.support import add_migration, fetch_value, free_port, wait_until_answering


class MovingClock:
    """A clock the test moves by hand."""

    def __init__(self, instant: datetime) -> None:
        self.instant = instant

    def now(self) -> datetime:
        return self.instant


async def two_organisations(pool: Pool) -> tuple[UUID, UUID]:
    """The expiry world in Oslo (one mentor 7 days from expiry on TODAY), and an
    empty organisation in New York."""
    async with pool.connection() as conn:
        world = await build_world(conn, TODAY, {"soon": 7}, slug="oslo")
        abroad = uuid4()
        await conn.execute(
            "insert into public.organizations (id, slug, name, certificate_type, timezone) "
            "values (%s, 'abroad', 'Abroad', 'hlf_peer_mentor', 'America/New_York')",
            [abroad],
        )
    return world.organization_id, abroad


async def notifications(pool: Pool) -> int:
    async with pool.connection() as conn:
        count: int = await fetch_value(conn, "select count(*) from notifications")
    return count


async def test_each_organisation_runs_at_five_past_midnight_its_time_once_a_day(
    own_pool: Pool,
) -> None:
    await two_organisations(own_pool)
    # 23:04 UTC on the 22nd: 00:04 in Oslo on TODAY, 18:04 in New York on the 22nd.
    clock = MovingClock(datetime(2026, 11, 22, 23, 4, tzinfo=UTC))
    worker = Worker(own_pool, clock, None)

    first = await worker.check()
    assert [(r.slug, r.local_date.isoformat(), r.outcome) for r in first] == [
        ("abroad", "2026-11-22", "ok")  # started late in New York's day: caught up
    ]
    assert await notifications(own_pool) == 0

    clock.instant += timedelta(minutes=2)  # 00:06 in Oslo
    second = await worker.check()
    assert [(r.slug, r.local_date, r.outcome) for r in second] == [("oslo", TODAY, "ok")]
    assert second[0].notifications_created == 2  # the mentor and their coordinator
    assert await notifications(own_pool) == 2

    clock.instant += timedelta(hours=3)
    assert await worker.check() == []  # each ran for its date already
    health = await worker.health()
    assert health.database
    assert [(c.slug, c.outcome) for c in health.cycles] == [("abroad", "ok"), ("oslo", "ok")]


async def test_a_cycle_another_worker_holds_is_left_to_it_and_looked_at_again(
    own_pool: Pool,
) -> None:
    oslo, _ = await two_organisations(own_pool)
    clock = MovingClock(datetime(2026, 11, 22, 23, 6, tzinfo=UTC))
    worker = Worker(own_pool, clock, None)
    async with own_pool.connection() as other:
        await other.execute(
            "select pg_advisory_lock(%s, hashtext(%s))", [CYCLE_LOCK_CLASS, str(oslo)]
        )
        await other.commit()
        held = {r.slug: r.outcome for r in await worker.check()}
        await other.execute(
            "select pg_advisory_unlock(%s, hashtext(%s))", [CYCLE_LOCK_CLASS, str(oslo)]
        )
        await other.commit()
    assert held == {"oslo": "locked", "abroad": "ok"}
    assert await notifications(own_pool) == 0

    again = {r.slug: r.outcome for r in await worker.check()}
    assert again == {"oslo": "ok"}
    assert await notifications(own_pool) == 2


async def test_the_worker_drains_the_outbox_until_stopped(
    own_pool: Pool,
    service: Service,  # noqa: F811
) -> None:
    await two_organisations(own_pool)
    async with own_pool.connection() as conn:
        # The test's midnight instant is outside the default send window.
        await conn.execute("update organizations set push_window_start = push_window_end")
    clock = MovingClock(datetime(2026, 11, 22, 23, 6, tzinfo=UTC))
    stop = asyncio.Event()
    async with open_senders(service.settings, SystemClock()) as senders:
        dispatcher = Dispatcher.from_settings(own_pool, senders, clock, service.settings)
        worker = Worker(own_pool, clock, dispatcher, check_every=timedelta(seconds=0.1))
        running = asyncio.create_task(worker.run(stop))
        async with asyncio.timeout(30):
            while True:
                if sum(service.emulator.counts.values()) >= 2:
                    break
                await asyncio.sleep(0.05)
        assert (await worker.health()).draining
        stop.set()
        await asyncio.wait_for(running, 30)

    health = await worker.health()
    assert not health.draining
    assert health.dispatched.sent == 2
    assert sum(service.emulator.counts.values()) == 2


async def _wait_for(check: Any) -> None:
    async with asyncio.timeout(90):
        while True:
            if await check():
                break
            await asyncio.sleep(0.2)


def worker_process(
    database_url: str, emulator: str, health_port: int, env: dict[str, str] | None = None
) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [
            str(MENTOR_NOTIFY),
            "--database-url",
            database_url,
            "worker",
            "--run-at",
            "00:00",  # due at once, whatever the hour the test runs
            "--check-every",
            "0.5",
            "--health-port",
            str(health_port),
            "--emulator",
            emulator,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"MENTOR_NOTIFY_LOG_FORMAT": "json"} | (env or {}),
    )


def copy_layout_with_extra_migration(layout: SupabaseLayout, root: Path) -> SupabaseLayout:
    """The project's supabase/ folder under `root`, with one more (harmless) migration
    than a database migrated from the project has."""
    copied = SupabaseLayout(root / "supabase")
    shutil.copytree(layout.root, copied.root)
    add_migration(copied, "29991231000000_later.sql", "select 1;\n", "select 1;\n")
    return copied


async def health_of(port: int) -> dict[str, Any] | None:
    try:
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.TransportError:
        return None
    document: dict[str, Any] = answer.json()
    return document


async def test_two_worker_processes_deliver_everything_once_and_stop_on_sigterm(
    own_pool: Pool,
    own_database_url: str,
    emulator_url: str,  # noqa: F811
) -> None:
    today = datetime.now(ZoneInfo("Europe/Oslo")).date()
    async with own_pool.connection() as conn:
        await build_world(conn, today, {"soon": 7, "later": 30})
        await conn.execute("update organizations set push_window_start = push_window_end")
    ports = [free_port(), free_port()]
    processes = [worker_process(own_database_url, emulator_url, port) for port in ports]
    try:

        async def delivered_and_healthy() -> bool:
            healths = [await health_of(port) for port in ports]
            return sum(deliveries(emulator_url)["counts"].values()) >= 3 and all(
                h is not None and h["cycles"] for h in healths
            )

        await _wait_for(delivered_and_healthy)
        healths = [await health_of(port) for port in ports]
        async with httpx.AsyncClient() as client:
            scrapes = [
                (await client.get(f"http://127.0.0.1:{port}/metrics", timeout=5)).text
                for port in ports
            ]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        errors = [p.communicate(timeout=60)[1] for p in processes]

    assert [p.returncode for p in processes] == [0, 0], errors
    assert all(h is not None and h["status"] == "ok" and h["database"] for h in healths)
    seen = deliveries(emulator_url)
    # Two mentors and their coordinator (one digest of both notices), once each.
    assert sum(seen["counts"].values()) == 3
    assert seen["duplicates"] == 0
    assert await notifications(own_pool) == 4
    assert all("Traceback" not in e for e in errors)
    assert all('"worker stopped"' in e for e in errors)
    # Each worker exports what it did and what the database holds: the three pushes
    # sent between them, none twice, and the organisation's cycle just done.
    sent = [
        float(v)
        for text in scrapes
        for v in re.findall(
            r'^mentor_notify_push_send_attempts_total\{answer="2xx",kind="person",'
            r'outcome="sent",provider="\w+"\} (\S+)$',
            text,
            re.MULTILINE,
        )
    ]
    assert sum(sent) == 3
    assert all("mentor_notify_push_duplicate_sends_total 0.0" in text for text in scrapes)
    cycles = [
        float(v)
        for v in re.findall(
            r"^mentor_notify_cycle_last_success_timestamp_seconds\{[^}]*\} (\S+)$",
            scrapes[0],
            re.MULTILINE,
        )
    ]
    assert cycles
    assert all(v > 0 for v in cycles)


def test_a_worker_on_an_unmigrated_database_is_alive_but_not_ready(
    own_database_url: str,
    supabase_layout: SupabaseLayout,
    tmp_path: Path,
    emulator_url: str,  # noqa: F811
) -> None:
    # The code knows one migration more than the database has: its schema is behind.
    layout = copy_layout_with_extra_migration(supabase_layout, tmp_path)
    port = free_port()
    process = worker_process(
        own_database_url, emulator_url, port, {"MENTOR_NOTIFY_SUPABASE_DIR": str(layout.root)}
    )
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/livez", process)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)

    assert ready.status_code == health.status_code == 503
    body = ready.json()
    assert body["status"] == "degraded"
    assert body["database"] is True
    assert body["migrations_pending"] == ["29991231000000"]
    assert "migrations pending" in body["reason"]
