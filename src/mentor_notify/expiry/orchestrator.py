"""`CertificateExpiryOrchestrator` (ticket 004): expiry notices for a typed batch of records.

The orchestrator is the library form of the expiry job, for a caller that
already holds the records (an HTTP request, another service). The daily
sweep (`mentor_notify.expiry.sweep`) does the same for every certificate in
set-based SQL; both derive the same idempotency keys, so a notice written by
one is a duplicate to the other.

Per batch, the happy path makes one call to each collaborator: one duplicate
check, one bulk write, one bulk enqueue, however many records there are.
When a bulk call fails, the orchestrator retries that step record by record,
so one bad record is logged and counted as failed and the rest go on.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol
from uuid import UUID

import structlog
from pydantic import BaseModel, ConfigDict

from mentor_notify.domain import (
    Clock,
    Tier,
    cert_log_key,
    classify_tier,
    expiry_notification_key,
    local_today,
)
from mentor_notify.domain.expiry_messages import (
    Audience,
    collapse_key,
    message_key,
    notification_data,
    push_payload,
)
from mentor_notify.expiry.models import FailedRecord, MentorRecord, OrchestrationResult


class ExpiryNotice(BaseModel):
    """One in-app expiry notice to write: the record it is about, its recipient, its keys."""

    model_config = ConfigDict(frozen=True)

    key: str
    log_key: str
    organization_id: UUID
    mentor_id: UUID
    certification_id: UUID
    certificate_type: str
    tier: Tier
    expiry_date: date
    recipient_id: UUID
    audience: Audience
    message_key: str
    data: dict[str, Any]


class StoredNotice(BaseModel):
    """A notice the repository created: its key and the new notification's id."""

    model_config = ConfigDict(frozen=True)

    key: str
    notification_id: UUID


class PushRequest(BaseModel):
    """A push to queue for every registered device of the recipient."""

    model_config = ConfigDict(frozen=True)

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

    async def insert_many(self, notices: Sequence[ExpiryNotice]) -> list[StoredNotice]:
        """Record the notices (status pending); return those created, skipping
        any that already exist."""
        ...


class PushQueue(Protocol):
    """Where pushes wait for the dispatcher."""

    async def enqueue_many(self, pushes: Sequence[PushRequest]) -> int:
        """Queue each push for the recipient's devices; return how many were queued."""
        ...


@dataclass
class _Planned:
    record: MentorRecord
    tier: Tier
    notices: list[ExpiryNotice]
    fresh: list[ExpiryNotice] = field(default_factory=list)


def build_notices(record: MentorRecord, tier: Tier) -> list[ExpiryNotice]:
    """The notices of one record in one tier: to the mentor and to each coordinator."""
    recipients = [(record.mentor_id, Audience.MENTOR)] + [
        (c, Audience.COORDINATOR) for c in dict.fromkeys(record.coordinator_ids)
    ]
    return [
        ExpiryNotice(
            key=expiry_notification_key(
                record.certification_id, tier, record.expiry_date, recipient
            ),
            log_key=cert_log_key(record.certification_id, tier, record.expiry_date, recipient),
            organization_id=record.organization_id,
            mentor_id=record.mentor_id,
            certification_id=record.certification_id,
            certificate_type=record.certificate_type,
            tier=tier,
            expiry_date=record.expiry_date,
            recipient_id=recipient,
            audience=audience,
            message_key=message_key(audience, tier),
            data=notification_data(
                audience,
                record.mentor_id,
                record.certification_id,
                record.certificate_type,
                tier,
                record.expiry_date,
            ),
        )
        for recipient, audience in recipients
    ]


def push_request(notice: ExpiryNotice, notification_id: UUID) -> PushRequest:
    """The push announcing a stored notice."""
    return PushRequest(
        notification_id=notification_id,
        organization_id=notice.organization_id,
        recipient_id=notice.recipient_id,
        payload=push_payload(
            notification_id,
            notice.audience,
            notice.mentor_id,
            notice.certification_id,
            notice.certificate_type,
            notice.tier,
            notice.expiry_date,
        ),
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
    ) -> None:
        """Collaborators are injected so tests can pass fakes; `logger` defaults to structlog's."""
        self._notifications = notifications
        self._push_queue = push_queue
        self._clock = clock
        self._log = logger if logger is not None else structlog.get_logger(__name__)

    async def process(self, records: Sequence[MentorRecord]) -> OrchestrationResult:
        """Process one batch. Never raises for a bad record: it is counted in `failed`."""
        failures: dict[UUID, FailedRecord] = {}
        planned: list[_Planned] = []
        not_due = 0
        for record in records:
            try:
                today = local_today(self._clock, record.timezone)
                tier = classify_tier(record.expiry_date, today, record.thresholds)
            except Exception as exc:  # a bad record must not stop the batch
                self._fail(failures, record, None, exc)
                continue
            if tier is None:
                not_due += 1
                continue
            planned.append(_Planned(record, tier, build_notices(record, tier)))
        self._log.info("expiry records classified", records=len(records), due=len(planned))

        existing = await self._find_existing(planned, failures)
        for item in planned:
            item.fresh = [n for n in item.notices if n.key not in existing]
        live = [p for p in planned if p.record.certification_id not in failures]
        skipped = sum(1 for p in live if not p.fresh)
        self._log.info("expiry duplicates checked", skipped=skipped)

        stored = await self._insert(live, failures)
        self._log.info("expiry notices recorded", created=len(stored))

        queued = await self._enqueue(live, stored, failures)
        self._log.info("expiry pushes queued", queued=queued)

        return OrchestrationResult(
            processed=len(records),
            skipped=skipped,
            not_due=not_due,
            created=len(stored),
            queued=queued,
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

    async def _insert(
        self, live: list[_Planned], failures: dict[UUID, FailedRecord]
    ) -> dict[str, UUID]:
        fresh = [n for p in live for n in p.fresh]
        if not fresh:
            return {}
        try:
            return {s.key: s.notification_id for s in await self._notifications.insert_many(fresh)}
        except Exception:  # fall back to one record at a time
            self._log.warning("bulk notice write failed; writing record by record")
        stored: dict[str, UUID] = {}
        for item in live:
            if not item.fresh:
                continue
            try:
                written = await self._notifications.insert_many(item.fresh)
            except Exception as exc:
                self._fail(failures, item.record, item.tier, exc)
                continue
            stored |= {s.key: s.notification_id for s in written}
        return stored

    async def _enqueue(
        self, live: list[_Planned], stored: dict[str, UUID], failures: dict[UUID, FailedRecord]
    ) -> int:
        per_record = [
            (item, [push_request(n, stored[n.key]) for n in item.fresh if n.key in stored])
            for item in live
        ]
        pushes = [p for _, record_pushes in per_record for p in record_pushes]
        if not pushes:
            return 0
        try:
            return await self._push_queue.enqueue_many(pushes)
        except Exception:  # fall back to one record at a time
            self._log.warning("bulk enqueue failed; queueing record by record")
        queued = 0
        for item, record_pushes in per_record:
            if not record_pushes:
                continue
            try:
                queued += await self._push_queue.enqueue_many(record_pushes)
            except Exception as exc:
                self._fail(failures, item.record, item.tier, exc, stage="push not queued")
        return queued

    def _fail(
        self,
        failures: dict[UUID, FailedRecord],
        record: MentorRecord,
        tier: Tier | None,
        exc: Exception,
        stage: str | None = None,
    ) -> None:
        # Log ids and codes only: the exception text may quote stored values.
        self._log.error(
            "expiry record failed",
            mentor_id=str(record.mentor_id),
            certificate_type=record.certificate_type,
            tier=tier.value if tier else None,
            error=type(exc).__name__,
        )
        reason = f"{stage}: {exc}" if stage else str(exc)
        failures.setdefault(
            record.certification_id,
            FailedRecord(
                mentor_id=record.mentor_id,
                certification_id=record.certification_id,
                certificate_type=record.certificate_type,
                tier=tier,
                reason=reason or type(exc).__name__,
            ),
        )
