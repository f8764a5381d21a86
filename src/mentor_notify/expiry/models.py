"""Typed inputs and results of the expiry jobs. Ids, codes, dates and counts only: no PII."""

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from mentor_notify.domain import DEFAULT_THRESHOLDS, Tier
from mentor_notify.domain.expiry_messages import Audience


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class MissingCoordinator(_Frozen):
    """A due certificate whose mentor has no coordinator assigned in the organisation."""

    mentor_id: UUID
    certification_id: UUID
    fallback_recipients: int = Field(description="Chapter admins told instead (0: nobody).")


class FailedRecord(_Frozen):
    """A certificate (or mentor record) that could not be processed, and why."""

    mentor_id: UUID
    certification_id: UUID
    certificate_type: str
    tier: Tier | None
    reason: str


class PlannedNotice(_Frozen):
    """One notice a dry run would send."""

    certification_id: UUID
    mentor_id: UUID
    certificate_type: str
    tier: Tier
    expiry_date: date
    recipient_id: UUID
    audience: Audience


class OrganisationSweep(_Frozen):
    """What the sweep did (or, on a dry run, would do) for one organisation."""

    organization_id: UUID
    slug: str
    today: date
    certificates_due: int = 0
    due_by_tier: dict[str, int] = Field(default_factory=dict)
    notifications_created: int = 0
    log_entries: int = 0
    pushes_queued: int = 0
    certificates_marked: int = 0
    mentors_suppressed: int = 0
    mentors_restored: int = 0
    missing_coordinator: list[MissingCoordinator] = Field(default_factory=list)
    large_renewal_histories: list[UUID] = Field(default_factory=list)
    failed: list[FailedRecord] = Field(default_factory=list)
    planned: list[PlannedNotice] = Field(default_factory=list)
    error: str | None = None
    duration_ms: float = 0.0


class SweepResult(_Frozen):
    """The whole sweep: one entry per organisation, in slug order."""

    run_id: UUID
    started_at: datetime
    dry_run: bool
    organisations: list[OrganisationSweep]

    @property
    def ok(self) -> bool:
        """True when no organisation failed and no certificate failed."""
        return all(o.error is None and not o.failed for o in self.organisations)

    def total(self, field: str) -> int:
        """Sum of an integer field over the organisations."""
        return sum(int(getattr(o, field)) for o in self.organisations)


class MentorRecord(_Frozen):
    """One certificate to consider, as the orchestrator (ticket 004) receives it.

    `timezone` and `thresholds` are the issuing organisation's; `coordinator_ids`
    are told as well as the mentor, and `admin_ids` (the chapter admins standing
    in for a missing coordinator, ticket 004's contingency) too.
    """

    mentor_id: UUID
    certification_id: UUID
    organization_id: UUID
    certificate_type: str
    expiry_date: date
    coordinator_ids: tuple[UUID, ...] = ()
    admin_ids: tuple[UUID, ...] = ()
    timezone: str = "Europe/Oslo"
    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS


class OrchestrationResult(_Frozen):
    """Counts of one orchestrator batch, and the failed records with reasons.

    `processed` counts records looked at (failed ones included); `skipped`
    records whose every notice already existed; `not_due` records in no tier
    window; `created` notifications written, `logged` log rows and `marked`
    certificates' tiers recorded as sent; `queued` pushes enqueued.
    """

    processed: int = 0
    skipped: int = 0
    not_due: int = 0
    created: int = 0
    logged: int = 0
    marked: int = 0
    queued: int = 0
    failed: int = 0
    failures: list[FailedRecord] = Field(default_factory=list)
