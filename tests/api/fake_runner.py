"""A JobRunner that records calls, for testing the HTTP layer on its own."""

from datetime import UTC, datetime
from uuid import UUID, uuid4

from mentor_notify.api import (
    DeviceTokenRegistration,
    DeviceTokenResponse,
    DispatchRequest,
    ExpiryRequest,
    JobOutcome,
    ScenarioRequest,
)
from mentor_notify.db.errors import ConnectionFailed


class RecordingRunner:
    """Answers every job with fixed counts and remembers what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.tokens: dict[UUID, tuple[UUID, DeviceTokenRegistration]] = {}
        self.database_up = True
        self.fail_with: Exception | None = None

    def _maybe_fail(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        if not self.database_up:
            raise ConnectionFailed("cannot reach the database")

    async def certificate_expiry(self, request: ExpiryRequest, run_id: str) -> JobOutcome:
        self._maybe_fail()
        self.calls.append(("certificate_expiry", request))
        return JobOutcome(result={"created": 3}, notifications_created=3)

    async def scenario_evaluation(self, request: ScenarioRequest, run_id: str) -> JobOutcome:
        self._maybe_fail()
        self.calls.append(("scenario_evaluation", request))
        return JobOutcome(result={"hits": 2}, notifications_created=2)

    async def dispatch(self, request: DispatchRequest, run_id: str) -> JobOutcome:
        self._maybe_fail()
        self.calls.append(("dispatch", request))
        return JobOutcome(result={"sent": 5, "failed": 1}, pushes_sent=5, pushes_failed=1)

    async def register_device_token(
        self, user_id: UUID, registration: DeviceTokenRegistration
    ) -> DeviceTokenResponse:
        self._maybe_fail()
        token_id = uuid4()
        self.tokens[token_id] = (user_id, registration)
        return DeviceTokenResponse(
            id=token_id,
            platform=registration.platform,
            provider=registration.provider,
            last_refreshed_at=datetime.now(UTC),
        )

    async def delete_device_token(self, user_id: UUID, token_id: UUID) -> bool:
        self._maybe_fail()
        owner = self.tokens.get(token_id)
        if owner is None or owner[0] != user_id:
            return False
        del self.tokens[token_id]
        return True

    async def queue_depth(self) -> int:
        return 42

    async def healthy(self) -> bool:
        return self.database_up
