"""`CertificateExpiryOrchestrator` (ticket 004): expiry notices for a typed batch of records.

The database decides each record once: the orchestrator hands its batch to
the notice store (`stage`), where the SQL form of the tier rule classifies
every record and keeps the due ones, and the store's one write path
(`write`) builds and writes every notice, log row and tier mark, skipping
notices that exist already; the push queue then takes the pushes of the
notices created. The daily sweep stages a whole organisation slice with its
own set-based selection and calls `write_staged`, the same write path, so
there is one way an expiry notice is written. Python never builds a notice
or re-decides a tier the database decided.

Per batch, the happy path is one staging, one write and one enqueue, however
many records there are, in one transaction: a batch's notices, log rows,
pushes and tier marks commit together or not at all. When that transaction
fails, the batch is retried record by record, each record in its own
transaction, so one bad record is logged and counted as failed and the rest
go on.
"""

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, NamedTuple, Protocol
from uuid import UUID

import structlog

from mentor_notify.domain import AsOf, Clock, Tier
from mentor_notify.expiry.models import FailedRecord, MentorRecord, OrchestrationResult


class WrittenNotices(NamedTuple):
    """What one write of the staged records did: of the `due` records staged,
    notices `created`, log rows `logged`, certificates `marked`, and due
    records that got no new notice (`skipped`: all of theirs existed)."""

    due: int
    created: int
    logged: int
    marked: int
    skipped: int


class NotificationRecordRepository(Protocol):
    """Where expiry notices are decided and recorded (in-app notification, log,
    sweep state), as one working set per transaction."""

    async def stage(self, records: Sequence[MentorRecord], as_of: AsOf) -> dict[UUID, Tier]:
        """Replace the working set with `records`: decide each one's tier as of
        `as_of` and keep the due ones. Returns the due records' tiers."""
        ...

    async def write(self) -> WrittenNotices:
        """Write the notices (status pending), log rows and tier marks of the
        working set, skipping notices that already exist; say what was done."""
        ...


class PushQueue(Protocol):
    """Where pushes wait for the dispatcher."""

    async def enqueue_written(self) -> int:
        """Queue the pushes of the notices the last write created; return how many."""
        ...


Transaction = Callable[[], AbstractAsyncContextManager[object]]
"""Opens the transaction a batch (or a retried record) is written in."""


class _Outcome(NamedTuple):
    written: WrittenNotices
    queued: int


_NOTHING = _Outcome(WrittenNotices(0, 0, 0, 0, 0), 0)


class CertificateExpiryOrchestrator:
    """Hands each batch to the database to classify and write; counts what was done."""

    def __init__(
        self,
        notifications: NotificationRecordRepository,
        push_queue: PushQueue,
        clock: Clock,
        logger: Any = None,
        *,
        transaction: Transaction,
    ) -> None:
        """Collaborators are injected so tests can pass fakes; `logger` defaults to
        structlog's. `transaction` opens the transaction both collaborators write a
        batch in (`mentor_notify.expiry.repositories.postgres_orchestrator` wires
        all of them for PostgreSQL)."""
        self._notifications = notifications
        self._push_queue = push_queue
        self._clock = clock
        self._log = logger if logger is not None else structlog.get_logger(__name__)
        self._transaction = transaction

    async def process(
        self, records: Sequence[MentorRecord], *, as_of: AsOf | None = None
    ) -> OrchestrationResult:
        """Process one batch as of `as_of` (default: now on the clock), each record
        on its organisation's local date. Never raises for a bad record: it is
        counted in `failed`."""
        as_of = as_of or AsOf.current(self._clock)
        if not records:
            return OrchestrationResult()
        try:
            async with self._transaction():
                tiers = await self._notifications.stage(records, as_of)
                outcome = await self._write() if tiers else _NOTHING
            return self._result(len(records), outcome, {})
        except Exception:  # fall back to one record at a time
            self._log.warning("bulk write failed; writing record by record")
        total = _NOTHING
        failures: dict[UUID, FailedRecord] = {}
        for record in records:
            tier: Tier | None = None
            try:
                async with self._transaction():
                    tiers = await self._notifications.stage([record], as_of)
                    tier = tiers.get(record.certification_id)
                    outcome = await self._write() if tiers else _NOTHING
            except Exception as exc:
                self._fail(failures, record, tier, exc)
                continue
            total = _added(total, outcome)
        return self._result(len(records), total, failures)

    async def write_staged(self) -> OrchestrationResult:
        """Write what the caller staged itself (the sweep's slice) in one
        transaction; raises if it fails, so the caller can fall back to
        `process` for the same records."""
        async with self._transaction():
            outcome = await self._write()
        return self._result(outcome.written.due, outcome, {})

    async def _write(self) -> _Outcome:
        written = await self._notifications.write()
        queued = await self._push_queue.enqueue_written() if written.created else 0
        self._log.info(
            "expiry notices recorded",
            created=written.created,
            skipped=written.skipped,
            queued=queued,
        )
        return _Outcome(written, queued)

    @staticmethod
    def _result(
        records: int, outcome: _Outcome, failures: dict[UUID, FailedRecord]
    ) -> OrchestrationResult:
        return OrchestrationResult(
            processed=records,
            skipped=outcome.written.skipped,
            not_due=records - outcome.written.due - len(failures),
            created=outcome.written.created,
            logged=outcome.written.logged,
            marked=outcome.written.marked,
            queued=outcome.queued,
            failed=len(failures),
            failures=list(failures.values()),
        )

    def _fail(
        self,
        failures: dict[UUID, FailedRecord],
        record: MentorRecord,
        tier: Tier | None,
        exc: Exception,
    ) -> None:
        # Log ids and codes only: the exception text may quote stored values.
        self._log.error(
            "expiry record failed",
            mentor_id=str(record.mentor_id),
            certification_id=str(record.certification_id),
            certificate_type=record.certificate_type,
            tier=tier.value if tier else None,
            error=type(exc).__name__,
        )
        failures.setdefault(
            record.certification_id,
            FailedRecord(
                mentor_id=record.mentor_id,
                certification_id=record.certification_id,
                certificate_type=record.certificate_type,
                tier=tier,
                reason=str(exc) or type(exc).__name__,
            ),
        )


def _added(total: _Outcome, one: _Outcome) -> _Outcome:
    return _Outcome(
        WrittenNotices(*(a + b for a, b in zip(total.written, one.written, strict=True))),
        total.queued + one.queued,
    )
