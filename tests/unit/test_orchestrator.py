"""CertificateExpiryOrchestrator with fake collaborators: every item of ticket 004's
testing requirements (tiers at each boundary, duplicate suppression, push queue and
repository invocation, partial-failure resilience, result accuracy)."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from uuid import UUID, uuid4

import pytest
import structlog

from mentor_notify.domain import AsOf, FixedClock, Tier, classify_tier, expiry_notification_key
from mentor_notify.domain.expiry_messages import Audience
from mentor_notify.expiry import MentorRecord
from mentor_notify.expiry.orchestrator import CertificateExpiryOrchestrator, WrittenNotices

TODAY = date(2026, 11, 23)
CLOCK = FixedClock(datetime(2026, 11, 23, 6, 0, tzinfo=UTC))


class Notice(NamedTuple):
    key: str
    mentor_id: UUID
    certification_id: UUID
    tier: Tier
    recipient_id: UUID
    audience: Audience


class FakeNotifications:
    """In-memory stand-in for the database's notice store: it decides tiers with
    the Python twin of the SQL rule, and can be told to fail for one mentor."""

    def __init__(self, existing: set[str] = frozenset(), poisoned: UUID | None = None) -> None:
        self.rows: dict[str, Notice] = {}
        self.existing = set(existing)
        self.poisoned = poisoned
        self.stage_calls: list[int] = []
        self.write_calls = 0
        self.marks: list[UUID] = []
        self.staged: list[tuple[MentorRecord, Tier]] = []
        self.created: list[Notice] = []

    async def stage(self, records: Sequence[MentorRecord], as_of: AsOf) -> dict[UUID, Tier]:
        self.stage_calls.append(len(records))
        self.staged = []
        for r in records:
            tier = classify_tier(r.expiry_date, as_of.local_date(r.timezone), r.thresholds)
            if tier is not None:
                self.staged.append((r, tier))
        return {r.certification_id: tier for r, tier in self.staged}

    async def write(self) -> WrittenNotices:
        self.write_calls += 1
        if any(r.mentor_id == self.poisoned for r, _ in self.staged):
            raise RuntimeError("foreign key violation")
        self.created = []
        skipped = 0
        for r, tier in self.staged:
            told = [(r.mentor_id, Audience.MENTOR)]
            told += [(c, Audience.COORDINATOR) for c in r.coordinator_ids]
            told += [(a, Audience.CHAPTER_ADMIN) for a in r.admin_ids]
            fresh = 0
            for recipient, audience in told:
                key = expiry_notification_key(r.certification_id, tier, r.expiry_date, recipient)
                if key in self.rows or key in self.existing:
                    continue
                notice = Notice(key, r.mentor_id, r.certification_id, tier, recipient, audience)
                self.rows[key] = notice
                self.created.append(notice)
                fresh += 1
            skipped += fresh == 0
            self.marks.append(r.certification_id)
        n = len(self.created)
        return WrittenNotices(
            due=len(self.staged), created=n, logged=n, marked=len(self.staged), skipped=skipped
        )


class FakePushQueue:
    def __init__(self, notifications: FakeNotifications, devices_per_recipient: int = 1) -> None:
        self.notifications = notifications
        self.pushes: list[Notice] = []
        self.calls = 0
        self.devices = devices_per_recipient

    async def enqueue_written(self) -> int:
        self.calls += 1
        self.pushes += self.notifications.created
        return len(self.notifications.created) * self.devices


def record(days_left: int, **kwargs: object) -> MentorRecord:
    return MentorRecord(
        mentor_id=kwargs.pop("mentor_id", uuid4()),  # type: ignore[arg-type]
        certification_id=uuid4(),
        organization_id=UUID("10000000-0000-4000-8000-000000000001"),
        certificate_type="hlf_peer_mentor",
        expiry_date=TODAY + timedelta(days=days_left),
        **kwargs,  # type: ignore[arg-type]
    )


def orchestrator(
    notifications: FakeNotifications, queue: FakePushQueue | None = None
) -> CertificateExpiryOrchestrator:
    pushes = queue or FakePushQueue(notifications)

    @asynccontextmanager
    async def transaction() -> AsyncIterator[None]:
        # What the fakes hold is put back when the block fails, as a rollback would.
        rows, marks, queued = (
            dict(notifications.rows),
            list(notifications.marks),
            list(pushes.pushes),
        )
        try:
            yield
        except BaseException:
            notifications.rows, notifications.marks, pushes.pushes = rows, marks, queued
            raise

    return CertificateExpiryOrchestrator(notifications, pushes, CLOCK, transaction=transaction)


@pytest.mark.parametrize(
    ("days_left", "tier"),
    [
        (61, None),
        (60, Tier.WARNING_60D),
        (31, Tier.WARNING_60D),
        (30, Tier.WARNING_30D),
        (8, Tier.WARNING_30D),
        (7, Tier.WARNING_7D),
        (1, Tier.WARNING_7D),
        (0, Tier.WARNING_7D),
        (-1, Tier.EXPIRED),
    ],
)
async def test_each_boundary_is_written_in_its_tier(days_left: int, tier: Tier | None) -> None:
    notifications = FakeNotifications()

    result = await orchestrator(notifications).process([record(days_left)])

    assert [n.tier for n in notifications.rows.values()] == ([tier] if tier else [])
    assert result.not_due == (0 if tier else 1)
    assert result.created == (1 if tier else 0)


async def test_duplicates_are_skipped_not_written_or_queued() -> None:
    seen = record(30)
    fresh = record(7)
    existing = {
        expiry_notification_key(
            seen.certification_id, Tier.WARNING_30D, seen.expiry_date, seen.mentor_id
        )
    }
    notifications = FakeNotifications(existing=existing)
    queue = FakePushQueue(notifications)

    result = await orchestrator(notifications, queue).process([seen, fresh])

    assert result.skipped == 1
    assert result.created == 1
    assert [n.mentor_id for n in notifications.rows.values()] == [fresh.mentor_id]
    assert [p.recipient_id for p in queue.pushes] == [fresh.mentor_id]


async def test_a_second_submission_of_the_same_batch_produces_nothing() -> None:
    notifications = FakeNotifications()
    queue = FakePushQueue(notifications)
    batch = [record(d, coordinator_ids=(uuid4(),)) for d in (60, 30, 7, -1)]

    first = await orchestrator(notifications, queue).process(batch)
    second = await orchestrator(notifications, queue).process(batch)

    assert (first.created, first.queued) == (8, 8)
    assert (second.processed, second.skipped, second.created, second.queued) == (4, 4, 0, 0)
    assert len(notifications.rows) == 8
    assert len(queue.pushes) == 8


async def test_a_push_is_queued_for_each_notice_created() -> None:
    notifications = FakeNotifications()
    queue = FakePushQueue(notifications)
    coordinator = uuid4()
    subject = record(7, coordinator_ids=(coordinator,))

    result = await orchestrator(notifications, queue).process([subject])

    assert result.queued == 2
    assert {(p.recipient_id, p.audience) for p in queue.pushes} == {
        (subject.mentor_id, Audience.MENTOR),
        (coordinator, Audience.COORDINATOR),
    }


async def test_the_happy_path_makes_one_call_per_collaborator_for_the_whole_batch() -> None:
    notifications = FakeNotifications()
    queue = FakePushQueue(notifications)

    result = await orchestrator(notifications, queue).process([record(30) for _ in range(200)])

    assert result.created == 200
    assert notifications.stage_calls == [200]
    assert notifications.write_calls == 1
    assert queue.calls == 1


async def test_one_failing_record_is_logged_and_counted_and_the_rest_go_on() -> None:
    poisoned = uuid4()
    notifications = FakeNotifications(poisoned=poisoned)
    queue = FakePushQueue(notifications, devices_per_recipient=2)
    batch = [record(30), record(7, mentor_id=poisoned), record(-1), record(100)]

    with structlog.testing.capture_logs() as logs:
        result = await orchestrator(notifications, queue).process(batch)

    assert result.model_dump(exclude={"failures"}) == {
        "processed": 4,
        "skipped": 0,
        "not_due": 1,
        "created": 2,
        "logged": 2,
        "marked": 2,
        "queued": 4,
        "failed": 1,
    }
    (failure,) = result.failures
    assert (failure.mentor_id, failure.tier) == (poisoned, Tier.WARNING_7D)
    assert "foreign key violation" in failure.reason
    errors = [e for e in logs if e["log_level"] == "error"]
    assert errors == [
        {
            "event": "expiry record failed",
            "mentor_id": str(poisoned),
            "certification_id": str(batch[1].certification_id),
            "certificate_type": "hlf_peer_mentor",
            "tier": "expiry_warning_7d",
            "error": "RuntimeError",
            "log_level": "error",
        }
    ]
    assert all(e["log_level"] in {"info", "warning", "error"} for e in logs)


async def test_a_record_that_cannot_be_classified_fails_alone() -> None:
    notifications = FakeNotifications()

    result = await orchestrator(notifications).process(
        [record(30, timezone="Mars/Olympus_Mons"), record(30)]
    )

    assert (result.failed, result.created) == (1, 1)
    assert result.failures[0].tier is None


async def test_a_failing_push_rolls_the_batch_back_and_the_retry_writes_the_good_records() -> None:
    class FlakyQueue(FakePushQueue):
        async def enqueue_written(self) -> int:
            created = self.notifications.created
            if len(created) > 1:
                raise RuntimeError("queue unavailable")
            if created[0].recipient_id == bad.mentor_id:
                raise RuntimeError("payload refused")
            return await super().enqueue_written()

    good, bad = record(7), record(30)
    notifications = FakeNotifications()
    queue = FlakyQueue(notifications)

    result = await orchestrator(notifications, queue).process([good, bad])

    assert (result.created, result.queued, result.marked, result.failed) == (1, 1, 1, 1)
    assert result.failures[0].certification_id == bad.certification_id
    assert result.failures[0].reason == "payload refused"
    # Nothing of the failed record stays: no notice, no tier mark, no push.
    assert [n.mentor_id for n in notifications.rows.values()] == [good.mentor_id]
    assert notifications.marks == [good.certification_id]
    assert [p.recipient_id for p in queue.pushes] == [good.mentor_id]


async def test_chapter_admins_standing_in_for_a_coordinator_are_told() -> None:
    notifications = FakeNotifications()
    admins = (uuid4(), uuid4())
    lone = record(7, admin_ids=admins)

    result = await orchestrator(notifications).process([lone])

    assert result.created == 3
    told = {n.recipient_id: n for n in notifications.rows.values()}
    assert set(told) == {lone.mentor_id, *admins}
    for admin in admins:
        assert told[admin].audience is Audience.CHAPTER_ADMIN
