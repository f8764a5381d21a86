"""`CertificateExpiryOrchestrator` (ticket 004): expiry notices for a typed batch of records.

This is the one implementation of the expiry job's notices. The daily sweep
(`mentor_notify.expiry.sweep`) selects the due certificates in SQL with their
recipients and hands them here in batches; a caller that already holds the
records (an HTTP request, another service) calls it directly.

Per batch, the happy path makes one call to each collaborator: one duplicate
check, one bulk write of notices, log rows and tier marks, one bulk enqueue of
pushes, however many records there are. The write and the enqueue run in one
transaction, so a batch's notices, log rows, pushes and tier marks commit
together or not at all. When that transaction fails, the batch is retried
record by record, each record in its own transaction, so one bad record is
logged and counted as failed and the rest go on.
"""

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple, Protocol
from uuid import UUID

import structlog

from mentor_notify.domain import AsOf, Clock, Tier, classify_tier, expiry_notice_keys
from mentor_notify.domain.expiry_messages import (
    Audience,
    ExpiryMessage,
    collapse_key,
    expiry_message,
)
from mentor_notify.expiry.models import FailedRecord, MentorRecord, OrchestrationResult

# The values below are built by the orchestrator itself from records already
# validated (`MentorRecord`), tens of thousands per sweep: named tuples, not
# validating models, so nothing is checked twice (immutable, and built in a
# third of the time a frozen dataclass takes).


class ExpiryNotice(NamedTuple):
    """One in-app expiry notice to write: the record it is about, its recipient, its
    keys and its message (`message_key`, `data`, and the push once it is stored)."""

    key: str
    log_key: str
    organization_id: UUID
    mentor_id: UUID
    certification_id: UUID
    certificate_type: str
    tier: Tier
    expiry_date: date
    recipient_id: UUID
    message: ExpiryMessage

    @property
    def audience(self) -> Audience:
        """Whom the notice is for, as the recipient of this certificate's notices."""
        return self.message.audience

    @property
    def message_key(self) -> str:
        """`notifications.message_key` of the notice."""
        return self.message.message_key


class StoredNotice(NamedTuple):
    """A notice the repository created: its key and the new notification's id."""

    key: str
    notification_id: UUID


class TierMark(NamedTuple):
    """A certificate's tier to record as sent for its current expiry cycle, on
    the organisation-local business `day` it was decided for."""

    certification_id: UUID
    expiry_date: date
    tier: Tier
    day: date


@dataclass(frozen=True, slots=True)
class WrittenNotices:
    """What one bulk write created: the new notices, log rows and tier marks."""

    created: list[StoredNotice]
    logged: int
    marked: int


class PushRequest(NamedTuple):
    """A push to queue for every registered device of the recipient."""

    notification_id: UUID
    organization_id: UUID
    recipient_id: UUID
    payload: dict[str, Any]
    collapse_key: str


class NotificationRecordRepository(Protocol):
    """Where expiry notices are recorded (in-app notification, log, sweep state)."""

    async def find_existing(self, notices: Sequence[ExpiryNotice]) -> set[str]:
        """Keys of the notices already recorded for the same mentor, certificate
        type, tier, expiry cycle and recipient."""
        ...

    async def insert_many(
        self, notices: Sequence[ExpiryNotice], marks: Sequence[TierMark]
    ) -> WrittenNotices:
        """Record the notices (status pending) and their log rows, skipping any
        that already exist, and mark the tiers sent; say what was created."""
        ...


class PushQueue(Protocol):
    """Where pushes wait for the dispatcher."""

    async def enqueue_many(self, pushes: Sequence[PushRequest]) -> int:
        """Queue each push for the recipient's devices; return how many were queued."""
        ...


Transaction = Callable[[], AbstractAsyncContextManager[object]]
"""Opens the transaction a batch (or a retried record) is written in."""


@dataclass
class _Planned:
    record: MentorRecord
    tier: Tier
    day: date
    notices: list[ExpiryNotice]
    fresh: list[ExpiryNotice] = field(default_factory=list)

    @property
    def mark(self) -> TierMark:
        return TierMark(
            certification_id=self.record.certification_id,
            expiry_date=self.record.expiry_date,
            tier=self.tier,
            day=self.day,
        )


@dataclass
class ExpiryPlan:
    """A classified batch, ready to write (see `CertificateExpiryOrchestrator.plan`)."""

    records: int
    planned: list[_Planned] = field(default_factory=list)
    not_due: int = 0
    failures: dict[UUID, FailedRecord] = field(default_factory=dict)


@dataclass
class _Written:
    created: int = 0
    logged: int = 0
    marked: int = 0
    queued: int = 0

    def add(self, other: "_Written") -> None:
        self.created += other.created
        self.logged += other.logged
        self.marked += other.marked
        self.queued += other.queued


def build_notices(record: MentorRecord, tier: Tier) -> list[ExpiryNotice]:
    """The notices of one record in one tier: to the mentor, to each coordinator
    and to each chapter admin standing in for a missing coordinator."""
    notices: list[ExpiryNotice] = []
    for audience, recipients in (
        (Audience.MENTOR, (record.mentor_id,)),
        (Audience.COORDINATOR, record.coordinator_ids),
        (Audience.CHAPTER_ADMIN, record.admin_ids),
    ):
        if not recipients:
            continue
        # One message per audience: every coordinator of a record reads the same.
        message = expiry_message(
            audience,
            record.mentor_id,
            record.certification_id,
            record.certificate_type,
            tier,
            record.expiry_date,
        )
        for recipient in dict.fromkeys(recipients):
            key, log_key = expiry_notice_keys(
                record.certification_id, tier, record.expiry_date, recipient
            )
            notices.append(
                ExpiryNotice(
                    key=key,
                    log_key=log_key,
                    organization_id=record.organization_id,
                    mentor_id=record.mentor_id,
                    certification_id=record.certification_id,
                    certificate_type=record.certificate_type,
                    tier=tier,
                    expiry_date=record.expiry_date,
                    recipient_id=recipient,
                    message=message,
                )
            )
    return notices


def push_request(notice: ExpiryNotice, notification_id: UUID) -> PushRequest:
    """The push announcing a stored notice."""
    return PushRequest(
        notification_id=notification_id,
        organization_id=notice.organization_id,
        recipient_id=notice.recipient_id,
        payload=notice.message.push_payload(notification_id),
        collapse_key=collapse_key(notice.certification_id),
    )


class CertificateExpiryOrchestrator:
    """Classifies each record into its tier, skips duplicates, writes notices, queues pushes."""

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
        return await self.write(self.plan(records, as_of=as_of))

    def plan(self, records: Sequence[MentorRecord], *, as_of: AsOf | None = None) -> ExpiryPlan:
        """The pure half of `process`: classify each record and build its notices
        (keys, message keys, data). No I/O, so a caller may plan the next batch
        (in a thread) while the previous one is written."""
        as_of = as_of or AsOf.current(self._clock)
        plan = ExpiryPlan(records=len(records))
        for record in records:
            tier: Tier | None = None
            try:
                today = as_of.local_date(record.timezone)
                tier = classify_tier(record.expiry_date, today, record.thresholds)
                notices = build_notices(record, tier) if tier is not None else []
            except Exception as exc:  # a bad record must not stop the batch
                self._fail(plan.failures, record, tier, exc)
                continue
            if tier is None:
                plan.not_due += 1
                continue
            plan.planned.append(_Planned(record, tier, today, notices))
        self._log.info("expiry records classified", records=len(records), due=len(plan.planned))
        return plan

    async def write(self, plan: ExpiryPlan) -> OrchestrationResult:
        """The I/O half of `process`: skip duplicates, then write the batch in one
        transaction (record by record if that fails)."""
        failures = plan.failures
        existing = await self._find_existing(plan.planned, failures)
        for item in plan.planned:
            item.fresh = [n for n in item.notices if n.key not in existing]
        live = [p for p in plan.planned if p.record.certification_id not in failures]
        skipped = sum(1 for p in live if not p.fresh)
        self._log.info("expiry duplicates checked", skipped=skipped)

        written = await self._write_batch(live, failures)
        self._log.info("expiry notices recorded", created=written.created, queued=written.queued)
        return OrchestrationResult(
            processed=plan.records,
            skipped=skipped,
            not_due=plan.not_due,
            created=written.created,
            logged=written.logged,
            marked=written.marked,
            queued=written.queued,
            failed=len(failures),
            failures=list(failures.values()),
        )

    async def _find_existing(
        self, planned: list[_Planned], failures: dict[UUID, FailedRecord]
    ) -> set[str]:
        notices = [n for p in planned for n in p.notices]
        if not notices:
            return set()
        try:
            return await self._notifications.find_existing(notices)
        except Exception:  # fall back to one record at a time
            self._log.warning("bulk duplicate check failed; checking record by record")
        existing: set[str] = set()
        for item in planned:
            try:
                existing |= await self._notifications.find_existing(item.notices)
            except Exception as exc:
                self._fail(failures, item.record, item.tier, exc)
        return existing

    async def _write_batch(
        self, live: list[_Planned], failures: dict[UUID, FailedRecord]
    ) -> _Written:
        if not live:
            return _Written()
        try:
            async with self._transaction():
                return await self._write(live)
        except Exception:  # fall back to one record at a time
            self._log.warning("bulk write failed; writing record by record")
        total = _Written()
        for item in live:
            try:
                async with self._transaction():
                    total.add(await self._write([item]))
            except Exception as exc:
                self._fail(failures, item.record, item.tier, exc)
        return total

    async def _write(self, items: list[_Planned]) -> _Written:
        """Notices, log rows, tier marks and pushes of `items`: one call per collaborator."""
        fresh = [n for item in items for n in item.fresh]
        written = await self._notifications.insert_many(fresh, [item.mark for item in items])
        stored = {s.key: s.notification_id for s in written.created}
        pushes = [push_request(n, stored[n.key]) for n in fresh if n.key in stored]
        queued = await self._push_queue.enqueue_many(pushes) if pushes else 0
        return _Written(len(written.created), written.logged, written.marked, queued)

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
