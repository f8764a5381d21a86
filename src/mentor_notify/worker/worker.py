"""The long-running worker: the daily cycle at 00:05 in each organisation's
timezone, and the push outbox drained continuously.

Several workers may run at once: a session advisory lock per organisation keeps
two from running the same organisation's cycle at the same moment (the other
tries again on its next check and then finds nothing new to do, the writes
being idempotent), and the outbox is claimed with SKIP LOCKED under leases.
Stopping (SIGTERM) lets the cycle in progress and the push requests in flight
finish; pushes claimed and not yet sent are given back to the queue at once.
"""

import asyncio
import contextlib
from datetime import date, datetime, time, timedelta
from typing import Literal
from uuid import UUID

import structlog
from pydantic import BaseModel, ConfigDict

from mentor_notify.composition import daily_cycle
from mentor_notify.db import Pool, database_answers, translating
from mentor_notify.db.probe import DatabaseProbe, Readiness
from mentor_notify.db.sql_files import load_sql
from mentor_notify.domain import AsOf, Clock
from mentor_notify.push.dispatcher import Dispatcher, DispatchResult
from mentor_notify.reregistration import Reregistration
from mentor_notify.worker.schedule import (
    DEFAULT_RUN_AT,
    DueCycle,
    ScheduledOrganisation,
    due_cycles,
)

log = structlog.get_logger(__name__)

_ORGANISATIONS = load_sql("mentor_notify.worker", "organisations")

# First key of the per-organisation advisory lock held while a worker runs that
# organisation's cycle (the expiry sweep uses 0x4D4E0001 inside its transactions).
CYCLE_LOCK_CLASS = 0x4D4E0002
_TRY_LOCK = load_sql("mentor_notify.worker", "try_cycle_lock")
_UNLOCK = load_sql("mentor_notify.worker", "cycle_unlock")


class CycleRun(BaseModel):
    """One organisation's cycle as this worker ran it (or found it locked)."""

    model_config = ConfigDict(frozen=True)

    organization_id: UUID
    slug: str
    local_date: date
    outcome: Literal["ok", "failed", "locked"]  # locked: another worker holds it
    notifications_created: int = 0
    finished_at: datetime


class WorkerHealth(BaseModel):
    """What GET /healthz of the worker answers."""

    model_config = ConfigDict(frozen=True)

    status: str
    database: bool
    migrations_pending: list[str] | None = None
    reason: str | None = None
    started_at: datetime
    last_check_at: datetime | None
    draining: bool
    dispatched: DispatchResult
    cycles: list[CycleRun]


class Worker:
    """Schedules the daily cycle per organisation and drains the outbox."""

    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        dispatcher: Dispatcher | None,
        *,
        run_at: time = DEFAULT_RUN_AT,
        check_every: timedelta = timedelta(seconds=30),
        retry_failed_after: timedelta = timedelta(minutes=10),
        probe: DatabaseProbe | None = None,
        reregistration: Reregistration | None = None,
    ) -> None:
        """Run each organisation's cycle at `run_at` local time, looking every
        `check_every`; a failed cycle is tried again after `retry_failed_after`.
        Without a `dispatcher` (no push service configured) pushes stay queued;
        with a `reregistration`, each cycle sends the silent re-registration push
        to the organisation's stale devices (when the organisation turned it on)."""
        self._pool = pool
        self._clock = clock
        self._dispatcher = dispatcher
        self._run_at = run_at
        self._check_every = check_every
        self._retry_failed_after = retry_failed_after
        self._probe = probe
        self._reregistration = reregistration
        self._last_run: dict[UUID, date] = {}
        self._retry_at: dict[UUID, datetime] = {}
        self._latest: dict[UUID, CycleRun] = {}
        self._started_at = clock.now()
        self._last_check_at: datetime | None = None
        self._dispatched = DispatchResult()
        self._draining = False

    async def check(self, stop: asyncio.Event | None = None) -> list[CycleRun]:
        """Run every cycle that is due now (stopping early when `stop` is set)."""
        now = self._clock.now()
        organisations = await self._organisations()
        due = [
            d
            for d in due_cycles(now, organisations, self._last_run, self._run_at)
            if self._retry_at.get(d.organisation.id, now) <= now
        ]
        runs = []
        for cycle in due:
            if stop is not None and stop.is_set():
                break
            run = await self._run_locked(cycle)
            runs.append(run)
            self._latest[cycle.organisation.id] = run
            if run.outcome == "ok":
                self._last_run[cycle.organisation.id] = cycle.local_date
                self._retry_at.pop(cycle.organisation.id, None)
            elif run.outcome == "failed":
                self._retry_at[cycle.organisation.id] = now + self._retry_failed_after
        self._last_check_at = now
        return runs

    async def run(self, stop: asyncio.Event) -> None:
        """Schedule and drain until `stop` is set; work in progress is finished."""
        log.info("worker started", run_at=self._run_at.strftime("%H:%M"))
        await asyncio.gather(self._schedule(stop), self._drain(stop))
        log.info("worker stopped", **self._dispatched.model_dump(exclude={"by_organisation"}))

    async def health(self) -> WorkerHealth:
        """Whether the worker's database answers and is migrated (with the reason when
        not), and what the worker has done."""
        if self._probe is not None:
            readiness = await self._probe.check()
        else:
            answers = await database_answers(self._pool)
            readiness = Readiness(
                answers, reason=None if answers else "the database does not answer"
            )
        return WorkerHealth(
            status="ok" if readiness.ready else "degraded",
            database=readiness.database,
            migrations_pending=readiness.migrations_pending,
            reason=readiness.reason,
            started_at=self._started_at,
            last_check_at=self._last_check_at,
            draining=self._draining,
            dispatched=self._dispatched,
            cycles=sorted(self._latest.values(), key=lambda r: r.slug),
        )

    async def _schedule(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.check(stop)
            except Exception as exc:  # the database may be back on the next check
                log.error(
                    "scheduling check failed",
                    error=type(exc).__name__,
                    reason=str(exc).strip().split("\n", 1)[0],
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._check_every.total_seconds())

    async def _drain(self, stop: asyncio.Event) -> None:
        if self._dispatcher is None:
            return
        self._draining = True
        while not stop.is_set():
            try:
                self._dispatched = self._dispatched.merged(await self._dispatcher.run_until(stop))
            except Exception as exc:  # keep draining once the database is back
                log.error("dispatch failed", error=type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._check_every.total_seconds())
        self._draining = False

    async def _organisations(self) -> list[ScheduledOrganisation]:
        with translating():
            async with self._pool.connection() as conn:
                rows = await (await conn.execute(_ORGANISATIONS)).fetchall()
        return [ScheduledOrganisation(r["id"], r["slug"], r["timezone"]) for r in rows]

    async def _run_locked(self, cycle: DueCycle) -> CycleRun:
        org = cycle.organisation
        params = {"class": CYCLE_LOCK_CLASS, "key": str(org.id)}
        with structlog.contextvars.bound_contextvars(organization_id=str(org.id)):
            async with self._pool.connection() as conn:
                row = await (await conn.execute(_TRY_LOCK, params)).fetchone()
                await conn.commit()
                if not (row and row["locked"]):
                    log.info("cycle running in another worker; will look again")
                    return self._record(cycle, "locked")
                try:
                    # No dispatcher: this worker's drain delivers what the cycle queues.
                    # As of now, for the local date the schedule found due (the
                    # same date even if midnight passes while the cycle waits).
                    as_of = AsOf(self._clock.now(), cycle.local_date)
                    cycle_of = daily_cycle(
                        self._pool, self._clock, None, reregistration=self._reregistration
                    )
                    result = await cycle_of.run(as_of, organisations=[str(org.id)])
                finally:
                    await conn.execute(_UNLOCK, params)
                    await conn.commit()
        created = (result.expiry.total("notifications_created") if result.expiry else 0) + (
            result.scenarios.total("notifications_created") if result.scenarios else 0
        )
        log.info(
            "daily cycle done",
            local_date=cycle.local_date.isoformat(),
            ok=result.ok,
            notifications=created,
        )
        return self._record(cycle, "ok" if result.ok else "failed", created)

    def _record(
        self, cycle: DueCycle, outcome: Literal["ok", "failed", "locked"], created: int = 0
    ) -> CycleRun:
        return CycleRun(
            organization_id=cycle.organisation.id,
            slug=cycle.organisation.slug,
            local_date=cycle.local_date,
            outcome=outcome,
            notifications_created=created,
            finished_at=self._clock.now(),
        )
