"""The demo's daily cycle: run it against the push emulator, show who received
what, then run it again and show that nothing new went out.

The emulator comes from `mentor_notify_testing` (the `testing` extra, which
`scripts/demo` installs); `mentor-notify demo` imports this module only when run.
"""

import contextlib
from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import class_row
from pydantic import BaseModel, ConfigDict

from mentor_notify.composition import Runtime, open_runtime
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


class DemoCycle:
    """The daily cycle on the demo database, delivering to an in-process push emulator;
    `run` it once per showing."""

    def __init__(self, runtime: Runtime, emulator: Emulator) -> None:
        """Run on `runtime`'s pool, counting what `emulator` is handed."""
        self._runtime = runtime
        self._emulator = emulator

    async def run(self, day: date, progress: CycleProgress | None = None) -> DemoRun:
        """Run the cycle for `day` once: what it did, added and delivered.

        The cycle decides as of `day`; delivery runs on the real clock, so provider
        tokens are fresh and send windows open and close at the real hour (a push
        outside its recipient's window is shown waiting)."""
        cycle = self._runtime.daily_cycle(self._runtime.dispatcher(), progress)
        return await _one_run(self._runtime.pool, cycle, AsOf.on(day), self._emulator)


@contextlib.asynccontextmanager
async def demo_cycle(url: str, settings: Settings) -> AsyncIterator[DemoCycle]:
    """The demo's cycle on the database at `url`, with its push emulator running."""
    emulator = Emulator()
    server = EmulatorServer(emulator)
    port = await server.start()
    try:
        async with open_runtime(
            url, settings, "demo", emulator=f"http://127.0.0.1:{port}"
        ) as runtime:
            yield DemoCycle(runtime, emulator)
    finally:
        await server.close()


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
