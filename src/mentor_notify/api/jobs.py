"""What the API asks of the system, and the shapes of requests and answers.

The endpoints depend on a `JobRunner`; `mentor_notify.api.runner` provides the
one backed by the database and the jobs, tests may pass another.
"""

from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from mentor_notify.domain import SystemClock, check_business_date
from mentor_notify.domain.scenarios import ScenarioType
from mentor_notify.push.tokens import DeviceTokenRegistration, DeviceTokenResponse


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExpiryRequest(_Request):
    """Body of POST /functions/v1/certificate-expiry."""

    today: date | None = Field(
        default=None,
        description="Run as if this were the date (default: each organisation's today).",
    )
    organization_id: UUID | None = Field(default=None, description="Only this organisation.")
    dry_run: bool = Field(default=False, description="Report what would be sent; change nothing.")

    @field_validator("today")
    @classmethod
    def _near_today(cls, today: date | None) -> date | None:
        # A far date (9999-12-31) would call every certificate lapsed; read on
        # the real clock, as the business date's bounds always are.
        return None if today is None else check_business_date(today, SystemClock())


class ScenarioRequest(_Request):
    """Body of POST /functions/v1/scenario-evaluation."""

    # Aware only: a timestamp without a UTC offset names no instant (it once
    # reached the engine and answered 500).
    now: AwareDatetime | None = Field(
        default=None,
        description="Decide as of this instant, with a UTC offset (default: now). Pushes are "
        "still made due in real time.",
    )
    only: ScenarioType | None = Field(default=None, description="Evaluate only this scenario type.")
    dry_run: bool = Field(default=False, description="Report what would be sent; change nothing.")

    @field_validator("now")
    @classmethod
    def _near_now(cls, now: datetime | None) -> datetime | None:
        return None if now is None else check_business_date(now, SystemClock())


class DispatchRequest(_Request):
    """Body of POST /functions/v1/dispatch."""

    limit: int | None = Field(
        default=None, ge=1, le=100_000, description="Send at most this many due messages."
    )


class JobOutcome(BaseModel):
    """A finished job: its result object and the counts the metrics track."""

    result: dict[str, Any]
    notifications_created: int = 0
    pushes_sent: int = 0
    pushes_failed: int = 0
    failed: bool = False


class JobResponse(BaseModel):
    """Answer of every job endpoint."""

    job: str
    run_id: str
    started_at: datetime
    duration_ms: float
    ok: bool
    result: dict[str, Any]


class JobRunner(Protocol):
    """The operations behind the endpoints."""

    async def certificate_expiry(self, request: ExpiryRequest, run_id: str) -> JobOutcome:
        """Run the certificate-expiry sweep."""
        ...

    async def scenario_evaluation(self, request: ScenarioRequest, run_id: str) -> JobOutcome:
        """Evaluate the follow-up scenarios."""
        ...

    async def dispatch(self, request: DispatchRequest, run_id: str) -> JobOutcome:
        """Send the due pushes once."""
        ...

    async def register_device_token(
        self, user_id: UUID, registration: DeviceTokenRegistration
    ) -> DeviceTokenResponse:
        """Register (or refresh) the user's own device token."""
        ...

    async def delete_device_token(self, user_id: UUID, token_id: UUID) -> bool:
        """Delete the user's own device token; False when they have none with that id."""
        ...

    async def queue_depth(self) -> int:
        """Pushes waiting in the outbox."""
        ...

    async def healthy(self) -> bool:
        """Whether the database answers."""
        ...
