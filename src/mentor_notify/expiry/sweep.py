"""The daily expiry sweep: every certificate of every organisation, set-based.

Per organisation slice, set-based SQL (the files in `sql/`) picks the
certificates due a notice today, with the tier the database decides for each
(the due rule, once), and resolves who hears about each (the coordinators, or
the chapter admins standing in for a missing one) into the working set the
orchestrator writes from (stage.sql). The slice is then written by
`CertificateExpiryOrchestrator.write_staged`: the one write path, which builds
every notice (keys, message key, data, deep link, push payload) in SQL and
writes notices, log rows, tier marks and pushes in a handful of statements,
whatever the slice's size; no record comes to Python. Then a short transaction
updates directory visibility. An organisation's certificates are split into
`partitions` disjoint slices (by a hash of the certificate id), swept side by
side on separate connections, each slice in one transaction: the inserts are
CPU-bound in the server, and this uses its cores. Organisations are swept side
by side too, never more than `partitions` transactions at once.

Exactly once, whatever runs when:

* a transaction-scoped advisory lock per organisation slice serialises sweeps
  of the same slice, so eight copies started together queue up, and each one
  after the first finds nothing left to do (statements after the lock see what
  the previous holder committed);
* every row written has a deterministic idempotency key under a unique index
  (`ON CONFLICT DO NOTHING`), so even without the lock nothing doubles;
* a slice's notices, pushes and "tiers sent" marks are written in one
  transaction, so a run killed half-way leaves each slice either done or
  untouched, and the next run completes what is missing.

If the slice's write fails (a bad row its statements cannot write), its due
records are read back and handed to the orchestrator a batch at a time, which
retries a failing batch record by record, each in its own savepoint, so one
bad record is reported and the rest are still notified.
"""

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

import structlog
from psycopg import AsyncConnection
from psycopg.rows import DictRow

from mentor_notify.db import DatabaseError, Pool, translating
from mentor_notify.db.sql_files import load_sql
from mentor_notify.domain import AsOf, Clock, validate_thresholds
from mentor_notify.expiry.models import (
    FailedRecord,
    MentorRecord,
    MissingCoordinator,
    OrchestrationResult,
    OrganisationSweep,
    PlannedNotice,
    SweepResult,
)
from mentor_notify.expiry.repositories import postgres_orchestrator
from mentor_notify.organisations import covered_organisations

log = structlog.get_logger(__name__)

# First key of the two-part advisory lock taken per organisation; the second
# is a hash of the organisation id. Picked to be unlikely to clash with locks
# other software on the same database takes.
EXPIRY_LOCK_CLASS = 0x4D4E0001

# Ticket 001 (risk 3): renewal histories longer than this are reported.
RENEWAL_HISTORY_WARNING = 500


_CANDIDATES = load_sql("mentor_notify.expiry", "candidates")
_RECIPIENTS = load_sql("mentor_notify.expiry", "recipients")
_TIER_COUNTS = load_sql("mentor_notify.expiry", "tier_counts")
_MISSING = load_sql("mentor_notify.expiry", "missing_coordinators")
_LARGE = load_sql("mentor_notify.expiry", "large_histories")
_PLANNED = load_sql("mentor_notify.expiry", "planned")
_DUE_RECORDS = load_sql("mentor_notify.expiry", "due_records")
_DIRECTORY = load_sql("mentor_notify.expiry", "directory")
_LOCK = load_sql("mentor_notify.expiry", "lock_slice")
_STAGE = load_sql("mentor_notify.expiry", "stage")
_ANALYZE_DUE = load_sql("mentor_notify.expiry", "analyze_due")
_ANALYZE_RECIPIENTS = load_sql("mentor_notify.expiry", "analyze_recipients")
_ANALYZE_WRITTEN = load_sql("mentor_notify.expiry", "analyze_written")

# Slices an organisation is swept in, side by side: one per server core of the
# machine the benchmarks ran on. Every copy of the job must use the same
# number, or their slices (and locks) would not line up.
DEFAULT_PARTITIONS = 2

# Notices written by one run past which the run refreshes the statistics of the
# tables it grew (analyze_written.sql): a first run over a real organisation
# (260,000 notices at a million certificates), not an ordinary night's (about
# 11,000 there: 1 % of what the tables hold, which autovacuum's own analyse
# catches up with; analysing for it took a quarter of that night's sweep).
ANALYZE_AFTER = 50_000

# Due certificates handed to the orchestrator at once when a slice's write has
# failed: large enough that the round trips are few, small enough that a batch
# retried record by record stays short.
DEFAULT_BATCH_SIZE = 500

ProgressCallback = Callable[[OrganisationSweep], None]


@dataclass(frozen=True)
class _Organisation:
    id: UUID
    slug: str
    timezone: str
    thresholds: tuple[int, ...]


@dataclass
class _Delivery:
    """Counts of one organisation slice's transaction."""

    due_by_tier: dict[str, int]
    missing: list[MissingCoordinator]
    large: list[UUID]
    planned: list[PlannedNotice]
    notifications: int = 0
    log_entries: int = 0
    pushes: int = 0
    marked: int = 0

    def sort(self) -> None:
        """Stable order for reports, whatever order the slices finished in."""
        self.missing.sort(key=lambda m: (m.mentor_id, m.certification_id))
        self.large.sort()
        self.planned.sort(
            key=lambda p: (p.tier.value, p.certification_id, p.audience.value, p.recipient_id)
        )

    def add(self, other: "_Delivery") -> None:
        for tier, n in other.due_by_tier.items():
            self.due_by_tier[tier] = self.due_by_tier.get(tier, 0) + n
        self.missing += other.missing
        self.large += other.large
        self.planned += other.planned
        self.notifications += other.notifications
        self.log_entries += other.log_entries
        self.pushes += other.pushes
        self.marked += other.marked


class ExpirySweep:
    """Runs the expiry job over all (or some) organisations."""

    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        *,
        renewal_history_warning: int = RENEWAL_HISTORY_WARNING,
        on_progress: ProgressCallback | None = None,
        partitions: int = DEFAULT_PARTITIONS,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        """Use `pool` for connections and the real `clock` to stamp what is written
        (notices, pushes due, directory changes); the date decided for is `run`'s.

        `on_progress` is called with each organisation's result as it finishes.
        `partitions` slices are swept at once, so the pool should allow that
        many connections. If a slice cannot be written in one go, its due
        certificates go to the orchestrator `batch_size` at a time.
        """
        if partitions < 1:
            raise ValueError("partitions must be at least 1")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._batch_size = batch_size
        self._partitions = partitions
        self._pool = pool
        self._clock = clock
        self._history_warning = renewal_history_warning
        self._on_progress = on_progress

    async def organisations(self, only: Sequence[str] | None = None) -> list[tuple[UUID, str]]:
        """(id, slug) of the organisations a run with `only` would cover; raises
        `UnknownOrganisation` (or `NoOrganisationVisible`) as `run` does."""
        return [(o.id, o.slug) for o in await self._organisations(only)]

    async def run(
        self,
        *,
        today: date | None = None,
        as_of: AsOf | None = None,
        organisations: Sequence[str] | None = None,
        dry_run: bool = False,
        run_id: UUID | None = None,
    ) -> SweepResult:
        """Sweep every organisation (or those whose id or slug is in `organisations`).

        The business date decided for is `today` in every organisation (catch-up
        runs and tests), else `as_of`'s date for each, else each organisation's
        local date on the real clock. Rows are stamped in real time either way.
        With `dry_run` every statement runs and is rolled back: the result (with
        `planned` notices) says what would be written. `run_id` (by default a new
        one) is on every log entry of the run. Raises `UnknownOrganisation` for an
        id or slug that matches no organisation, and `NoOrganisationVisible` when
        it could see no organisation at all.
        """
        run_id = run_id or uuid4()
        started_at = self._clock.now()
        if today is not None:
            as_of = AsOf.on(today)
        as_of = as_of or AsOf.current(self._clock)
        with structlog.contextvars.bound_contextvars(run_id=str(run_id), job="expiry_sweep"):
            # Raises for an unknown organisation, or when none is visible at all.
            orgs = await self._organisations(organisations)
            log.info("expiry sweep started", organisations=len(orgs), dry_run=dry_run)
            # Organisations side by side, at most `partitions` transactions at
            # once (_slots): a small organisation's slices and directory step
            # fill the connections while a large one's slice still writes.
            slots = asyncio.Semaphore(self._partitions)

            async def sweep_one(org: _Organisation) -> OrganisationSweep:
                result = await self._sweep_organisation(org, as_of, dry_run, slots)
                if self._on_progress is not None:
                    self._on_progress(result)
                return result

            results = list(await asyncio.gather(*(sweep_one(org) for org in orgs)))
            sweep = SweepResult(
                run_id=run_id, started_at=started_at, dry_run=dry_run, organisations=results
            )
            if not dry_run and sweep.total("notifications_created") >= ANALYZE_AFTER:
                await self._analyze_written()
            log.info(
                "expiry sweep finished",
                ok=sweep.ok,
                notifications=sweep.total("notifications_created"),
                pushes=sweep.total("pushes_queued"),
            )
        return sweep

    async def _analyze_written(self) -> None:
        """Refresh the statistics of the tables this run grew; a failure is logged,
        not raised: the notices are written, and autovacuum will catch up."""
        try:
            with translating():
                async with self._pool.connection() as conn:
                    await conn.execute(_ANALYZE_WRITTEN)
        except DatabaseError as exc:
            log.warning("statistics not refreshed after the sweep", reason=str(exc))

    async def _organisations(self, only: Sequence[str] | None) -> list[_Organisation]:
        async with self._pool.connection() as conn:
            covered = await covered_organisations(conn, only)
        return [
            _Organisation(
                id=o.id,
                slug=o.slug,
                timezone=o.timezone,
                thresholds=validate_thresholds(o.expiry_thresholds),
            )
            for o in covered
        ]

    async def _sweep_organisation(
        self, org: _Organisation, as_of: AsOf, dry_run: bool, slots: asyncio.Semaphore
    ) -> OrganisationSweep:
        started = time.perf_counter()
        day = as_of.local_date(org.timezone)
        now = self._clock.now()
        base: dict[str, Any] = {"organization_id": org.id, "slug": org.slug, "today": day}
        with structlog.contextvars.bound_contextvars(organization_id=str(org.id)):
            try:
                slices = await asyncio.gather(
                    *(
                        self._deliver(org, as_of, day, now, dry_run, part, slots)
                        for part in range(self._partitions)
                    )
                )
                delivery = _Delivery(due_by_tier={}, missing=[], large=[], planned=[])
                failed: list[FailedRecord] = []
                for one, slice_failures in slices:
                    delivery.add(one)
                    failed += slice_failures
                delivery.sort()
                async with slots:
                    suppressed, restored = await self._directory(org, day, now, dry_run)
            except DatabaseError as exc:
                log.error("expiry sweep of organisation failed", reason=type(exc).__name__)
                return OrganisationSweep(**base, error=str(exc), duration_ms=_ms_since(started))
        for finding in delivery.missing:
            log.warning(
                "missing_coordinator_assignment",
                mentor_id=str(finding.mentor_id),
                certification_id=str(finding.certification_id),
                fallback_recipients=finding.fallback_recipients,
            )
        for certification_id in delivery.large:
            log.warning(
                "renewal_history_large",
                certification_id=str(certification_id),
                limit=self._history_warning,
            )
        return OrganisationSweep(
            **base,
            certificates_due=sum(delivery.due_by_tier.values()),
            due_by_tier=delivery.due_by_tier,
            notifications_created=delivery.notifications,
            log_entries=delivery.log_entries,
            pushes_queued=delivery.pushes,
            certificates_marked=delivery.marked,
            mentors_suppressed=suppressed,
            mentors_restored=restored,
            missing_coordinator=delivery.missing,
            large_renewal_histories=delivery.large,
            failed=failed,
            planned=delivery.planned,
            duration_ms=_ms_since(started),
        )

    def _params(
        self,
        org: _Organisation,
        today: date,
        now: datetime,
        part: int | None,
    ) -> dict[str, Any]:
        return {
            "organization_id": org.id,
            "partitions": self._partitions,
            "partition": part,
            # The directory step locks the whole organisation; slices lock their own key.
            "lock_key": str(org.id) if part is None else f"{org.id}:{part}",
            "today": today,
            "now": now,
            "thresholds": list(org.thresholds),
            "horizon": max(org.thresholds),
            "lock_class": EXPIRY_LOCK_CLASS,
            "limit": self._history_warning,
        }

    async def _deliver(
        self,
        org: _Organisation,
        as_of: AsOf,
        today: date,
        now: datetime,
        dry_run: bool,
        part: int,
        slots: asyncio.Semaphore,
    ) -> tuple[_Delivery, list[FailedRecord]]:
        params = self._params(org, today, now, part)
        with translating():
            async with (
                slots,
                self._pool.connection() as conn,
                conn.transaction(force_rollback=dry_run),
            ):
                await conn.execute(_LOCK, params)
                await conn.execute(_STAGE)
                await conn.execute(_CANDIDATES, params)
                await conn.execute(_ANALYZE_DUE)
                await conn.execute(_RECIPIENTS, params)
                await conn.execute(_ANALYZE_RECIPIENTS)
                tiers = {r["tier"]: r["certificates"] for r in await _rows(conn, _TIER_COUNTS)}
                log.info(
                    "expiry step done",
                    step="select_due",
                    partition=part,
                    certificates=sum(tiers.values()),
                )
                delivery = _Delivery(
                    due_by_tier=tiers,
                    missing=[MissingCoordinator(**r) for r in await _rows(conn, _MISSING)],
                    large=[r["certification_id"] for r in await _rows(conn, _LARGE, params)],
                    planned=(
                        [PlannedNotice(**r) for r in await _rows(conn, _PLANNED)] if dry_run else []
                    ),
                )
                result = await self._write(conn, org, as_of) if tiers else OrchestrationResult()
                delivery.notifications = result.created
                delivery.log_entries = result.logged
                delivery.pushes = result.queued
                delivery.marked = result.marked
                log.info(
                    "expiry step done",
                    step="deliver",
                    partition=part,
                    notifications=delivery.notifications,
                    pushes=delivery.pushes,
                    certificates=delivery.marked,
                    failed=result.failed,
                )
        return delivery, result.failures

    async def _write(
        self, conn: AsyncConnection[DictRow], org: _Organisation, as_of: AsOf
    ) -> OrchestrationResult:
        """The slice's notices through the orchestrator's write path, in one go;
        if that fails (a record its statements cannot write), its due records
        are read back and handed to the orchestrator a batch at a time, which
        writes a failing batch record by record."""
        orchestrator = postgres_orchestrator(conn, self._clock)
        try:
            return await orchestrator.write_staged()
        except DatabaseError as exc:
            log.warning("slice write failed; writing batch by batch", reason=type(exc).__name__)
        # Read in full before the orchestrator replaces the working set.
        records = [self._record(org, row) for row in await _rows(conn, _DUE_RECORDS)]
        results = [
            await orchestrator.process(records[i : i + self._batch_size], as_of=as_of)
            for i in range(0, len(records), self._batch_size)
        ]
        counts = ("processed", "skipped", "not_due", "created", "logged", "marked", "queued")
        return OrchestrationResult(
            **{field: sum(getattr(r, field) for r in results) for field in counts},
            failed=sum(r.failed for r in results),
            failures=[f for r in results for f in r.failures],
        )

    @staticmethod
    def _record(org: _Organisation, row: DictRow) -> MentorRecord:
        # Not validated again: the columns come typed from the driver, from the
        # sweep's own query (ids, a date, codes checked by the schema).
        return MentorRecord.model_construct(
            mentor_id=row["mentor_id"],
            certification_id=row["certification_id"],
            organization_id=row["organization_id"],
            certificate_type=row["certificate_type"],
            expiry_date=row["expiry_date"],
            coordinator_ids=tuple(row["coordinator_ids"]),
            admin_ids=tuple(row["admin_ids"]),
            timezone=org.timezone,
            thresholds=org.thresholds,
        )

    async def _directory(
        self, org: _Organisation, today: date, now: datetime, dry_run: bool
    ) -> tuple[int, int]:
        params = {**self._params(org, today, now, None), "peer_mentor_ids": None}
        with translating():
            async with self._pool.connection() as conn, conn.transaction(force_rollback=dry_run):
                await conn.execute(_LOCK, params)
                (row,) = await _rows(conn, _DIRECTORY, params)
        log.info("expiry step done", step="directory", **row)
        return int(row["suppressed"]), int(row["restored"])


async def _rows(
    conn: AsyncConnection[DictRow], query: str, params: dict[str, Any] | None = None
) -> list[DictRow]:
    cur = await conn.execute(query, params)
    return await cur.fetchall()


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_PARTITIONS",
    "EXPIRY_LOCK_CLASS",
    "RENEWAL_HISTORY_WARNING",
    "ExpirySweep",
]
