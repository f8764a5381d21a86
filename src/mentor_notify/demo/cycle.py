"""The demo's daily cycle: run it against the push emulator, show who received
what, then run it again and show that nothing new went out.

The emulator comes from `mentor_notify_testing` (the `testing` extra, which
`scripts/demo` installs); `mentor-notify demo` imports this module only when run.
"""

from datetime import date
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import class_row
from pydantic import BaseModel, ConfigDict

from mentor_notify.composition import open_runtime
from mentor_notify.config import Settings
from mentor_notify.daily import CycleProgress, DailyCycle, DailyResult
from mentor_notify.db import translating
from mentor_notify.db.pool import Pool
from mentor_notify.db.sql_files import load_sql
from mentor_notify.demo.summary import OrganisationSummary
from mentor_notify.domain import AsOf
from mentor_notify_testing.emulator import Emulator, EmulatorServer

_RECEIVED_SQL = load_sql("mentor_notify.demo", "received")


class Received(BaseModel):
    """One notification in someone's inbox and what became of its push (none of its
    own when it was `folded` into another notice's push, a digest)."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    organisation: str
    recipient: str
    role: str
    about: str
    message_key: str
    pushes_sent: int
    pushes_waiting: int
    pushes_not_sent: int
    folded: bool


class DemoRun(BaseModel):
    """One cycle of the demo: what it did, what it added to inboxes, and what the
    push emulator was handed."""

    model_config = ConfigDict(frozen=True)

    cycle: DailyResult
    received: list[Received]
    delivered_fcm: int
    delivered_apns: int
    duplicate_deliveries: int


class DemoCycles(BaseModel):
    """The demo's two runs of the cycle for one date."""

    model_config = ConfigDict(frozen=True)

    day: date
    first: DemoRun
    second: DemoRun


class DemoReport(BaseModel):
    """Everything the demo shows."""

    model_config = ConfigDict(frozen=True)

    organisations: list[OrganisationSummary]
    cycles: DemoCycles


async def received(conn: AsyncConnection[Any]) -> list[Received]:
    """Every notification with its recipient and push outcome (demo-sized data only)."""
    with translating():
        async with conn.cursor(row_factory=class_row(Received)) as cur:
            await cur.execute(_RECEIVED_SQL)
            return await cur.fetchall()


async def run_demo_cycles(
    url: str,
    settings: Settings,
    day: date,
    progress: CycleProgress | None = None,
) -> DemoCycles:
    """Run the daily cycle for `day` twice on the database at `url`, against an
    in-process push emulator.

    The cycle decides as of `day`; delivery runs on the real clock, so provider
    tokens are fresh and send windows open and close at the real hour (a push
    outside its recipient's window is shown waiting)."""
    emulator = Emulator()
    server = EmulatorServer(emulator)
    port = await server.start()
    try:
        async with open_runtime(
            url, settings, "demo", emulator=f"http://127.0.0.1:{port}"
        ) as runtime:
            cycle = runtime.daily_cycle(runtime.dispatcher(), progress)
            first = await _one_run(runtime.pool, cycle, AsOf.on(day), emulator)
            second = await _one_run(runtime.pool, cycle, AsOf.on(day), emulator)
    finally:
        await server.close()
    return DemoCycles(day=day, first=first, second=second)


async def _one_run(pool: Pool, cycle: DailyCycle, as_of: AsOf, emulator: Emulator) -> DemoRun:
    async with pool.connection() as conn:
        before = {r.id for r in await received(conn)}
    emulator.reset()
    result = await cycle.run(as_of)
    async with pool.connection() as conn:
        added = [r for r in await received(conn) if r.id not in before]
    return DemoRun(
        cycle=result,
        received=added,
        delivered_fcm=emulator.counts["fcm"],
        delivered_apns=emulator.counts["apns"],
        duplicate_deliveries=emulator.duplicates(),
    )
