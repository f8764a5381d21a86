"""The `JobRunner` the HTTP API runs on: the real jobs over one database pool."""

from collections.abc import Mapping
from uuid import UUID

import structlog

from mentor_notify.api.auth import Forbidden
from mentor_notify.api.jobs import (
    DispatchRequest,
    ExpiryRequest,
    JobOutcome,
    ScenarioRequest,
)
from mentor_notify.composition import expiry_job
from mentor_notify.config import Settings
from mentor_notify.db import Pool, SupabaseLayout
from mentor_notify.db.errors import ForeignKeyViolation
from mentor_notify.db.probe import DatabaseProbe, Readiness
from mentor_notify.db.sql_files import load_sql
from mentor_notify.domain import AsOf, Clock
from mentor_notify.push.dispatcher import Dispatcher, Sender
from mentor_notify.push.tokens import (
    DeviceTokenRegistration,
    DeviceTokenRepository,
    DeviceTokenResponse,
)
from mentor_notify.scenarios.engine import ScenarioEngine
from mentor_notify.scenarios.push_outcomes import ScenarioPushOutcomes

log = structlog.get_logger(__name__)

_QUEUE_DEPTH = load_sql("mentor_notify.api", "queue_depth")


class DatabaseJobRunner:
    """Runs the expiry sweep, the scenario engine and the dispatcher on `pool`; device
    tokens go through the repository (each user only ever touches their own)."""

    def __init__(
        self,
        pool: Pool,
        settings: Settings,
        clock: Clock,
        senders: Mapping[str, Sender],
        *,
        layout: SupabaseLayout | None = None,
        database_url: str | None = None,
    ) -> None:
        """`senders` are the push senders the dispatch endpoint uses (may be empty:
        messages then stay queued). `layout` holds the migrations readiness compares
        the database with (None: not compared). The health check connects to
        `database_url`, by default the pool's."""
        self._pool = pool
        self._settings = settings
        self._clock = clock
        self._senders = senders
        url = database_url or pool.conninfo
        if not isinstance(url, str):
            raise TypeError("the pool's conninfo is not a string; pass database_url")
        self._probe = DatabaseProbe(url, layout, answer_within=settings.api_health_timeout_seconds)

    async def certificate_expiry(self, request: ExpiryRequest, run_id: str) -> JobOutcome:
        """Run the certificate-expiry sweep."""
        result = await expiry_job(self._pool, self._clock).run(
            today=request.today,
            organisations=[str(request.organization_id)] if request.organization_id else None,
            dry_run=request.dry_run,
            run_id=UUID(run_id),
        )
        return JobOutcome(
            result=result.model_dump(
                mode="json", exclude={"organisations": {"__all__": {"planned"}}}
            ),
            notifications_created=result.total("notifications_created"),
            failed=not result.ok,
        )

    async def scenario_evaluation(self, request: ScenarioRequest, run_id: str) -> JobOutcome:
        """Evaluate the follow-up scenarios."""
        result = await ScenarioEngine(self._pool, self._clock).run(
            as_of=None if request.now is None else AsOf.at(request.now),
            only=[request.only] if request.only else None,
            dry_run=request.dry_run,
            run_id=UUID(run_id),
        )
        return JobOutcome(
            result=result.model_dump(mode="json"),
            notifications_created=result.total("notifications_created"),
        )

    async def dispatch(self, request: DispatchRequest, run_id: str) -> JobOutcome:
        """Send the due pushes once (at most `request.limit`)."""
        dispatcher = Dispatcher.from_settings(
            self._pool,
            self._senders,
            self._clock,
            self._settings,
            "api",
            reactions=[ScenarioPushOutcomes(self._pool)],
        )
        result = await dispatcher.run_once(limit=request.limit)
        return JobOutcome(
            result=result.model_dump(mode="json"),
            pushes_sent=result.sent,
            pushes_failed=result.failed + result.dead,
        )

    async def register_device_token(
        self, user_id: UUID, registration: DeviceTokenRegistration
    ) -> DeviceTokenResponse:
        """Register (or refresh) the user's own device token.

        A signed-in user with no profile here (an account made outside any
        organisation's programme) is refused with 403, not the foreign key's name."""
        async with self._pool.connection() as conn:
            try:
                return await DeviceTokenRepository(conn).register(
                    user_id, registration, self._clock.now()
                )
            except ForeignKeyViolation:
                raise Forbidden(
                    "your account is not registered with any organisation's mentor "
                    "programme yet; ask your coordinator to add you"
                ) from None

    async def delete_device_token(self, user_id: UUID, token_id: UUID) -> bool:
        """Delete the user's own device token; False when they have none with that id."""
        async with self._pool.connection() as conn:
            return await DeviceTokenRepository(conn).delete_own(user_id, token_id)

    async def queue_depth(self) -> int:
        """Pushes waiting in the outbox (pending or in flight)."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_QUEUE_DEPTH)
            row = await cursor.fetchone()
        return int(row["n"]) if row else 0

    async def healthy(self) -> bool:
        """Whether the database answers (within the health timeout)."""
        return (await self._probe.check()).database

    async def readiness(self) -> Readiness:
        """Whether the database answers and has every migration (GET /readyz)."""
        return await self._probe.check()

    async def close(self) -> None:
        """Close the health check's connection."""
        await self._probe.close()
