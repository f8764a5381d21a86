"""The `JobRunner` the HTTP API runs on: the real jobs over one database pool."""

import asyncio
from uuid import UUID

import psycopg
import structlog
from psycopg import AsyncConnection
from psycopg.rows import DictRow

from mentor_notify.api.app import Readiness
from mentor_notify.api.jobs import (
    DispatchRequest,
    ExpiryRequest,
    JobOutcome,
    ScenarioRequest,
)
from mentor_notify.config import Settings
from mentor_notify.db import ConnectionFailed, MigrationRunner, Pool, SupabaseLayout, connect
from mentor_notify.domain import AsOf, Clock
from mentor_notify.expiry import ExpirySweep
from mentor_notify.push.dispatcher import Dispatcher, Sender
from mentor_notify.push.tokens import (
    DeviceTokenRegistration,
    DeviceTokenRepository,
    DeviceTokenResponse,
)
from mentor_notify.scenarios.engine import ScenarioEngine

log = structlog.get_logger(__name__)


class DatabaseJobRunner:
    """Runs the expiry sweep, the scenario engine and the dispatcher on `pool`; device
    tokens go through the repository (each user only ever touches their own)."""

    def __init__(
        self,
        pool: Pool,
        settings: Settings,
        clock: Clock,
        senders: dict[str, Sender],
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
        result = await ExpirySweep(self._pool, self._clock).run(
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
            self._pool, self._senders, self._clock, self._settings, "api"
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
        """Register (or refresh) the user's own device token."""
        async with self._pool.connection() as conn:
            return await DeviceTokenRepository(conn).register(
                user_id, registration, self._clock.now()
            )

    async def delete_device_token(self, user_id: UUID, token_id: UUID) -> bool:
        """Delete the user's own device token; False when they have none with that id."""
        async with self._pool.connection() as conn:
            return await DeviceTokenRepository(conn).delete_own(user_id, token_id)

    async def queue_depth(self) -> int:
        """Pushes waiting in the outbox (pending or in flight)."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "select count(*) as n from public.push_outbox "
                "where status in ('pending', 'in_flight')"
            )
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


class DatabaseProbe:
    """The health check: on its own connection, never the pool's, answered within
    `answer_within` seconds whatever the database does.

    Not the pool, because a pool busy with requests is not a database that is down,
    and waiting for one of its connections is what made /healthz hang for the pool's
    30 s. Checks are single-flight: probes arriving while one runs share its answer.
    A check that outlasts `answer_within` keeps going in the background (up to
    `give_up_after`), so a slow reconnect (TLS to a remote project) still completes
    and the next probe finds the connection open, while the probe that started it
    answers 503 on time.
    """

    def __init__(
        self,
        conninfo: str,
        layout: SupabaseLayout | None,
        *,
        answer_within: float,
        give_up_after: float = 10.0,
    ) -> None:
        """Check the database at `conninfo` against the migrations of `layout`."""
        self._conninfo = conninfo
        self._layout = layout
        self._answer_within = answer_within
        self._give_up_after = max(give_up_after, answer_within)
        self._conn: AsyncConnection[DictRow] | None = None
        self._running: asyncio.Task[Readiness] | None = None
        self._last_ready: bool | None = None

    async def check(self) -> Readiness:
        """The database's state now, or not ready if it does not say in time."""
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._check())
        try:
            # shield: a probe that gives up must not cancel the check it shares.
            return await asyncio.wait_for(asyncio.shield(self._running), self._answer_within)
        except TimeoutError:
            return self._noted(
                Readiness(
                    False, reason=f"the database did not answer within {self._answer_within} s"
                )
            )

    async def close(self) -> None:
        """Stop a check in progress and close the connection."""
        if self._running is not None and not self._running.done():
            self._running.cancel()
        await self._discard()

    async def _check(self) -> Readiness:
        try:
            async with asyncio.timeout(self._give_up_after):
                reused = self._conn is not None and not self._conn.closed
                try:
                    return await self._ask()
                except (psycopg.OperationalError, ConnectionFailed):
                    if not reused:
                        raise
                    # The connection was cut since the last check (a database restart,
                    # an idle timeout): that says nothing about now, so ask on a new one.
                    await self._discard()
                    return await self._ask()
        except Exception as exc:
            # Whatever went wrong (refused, timed out, reset, bad password), the next
            # check starts on a fresh connection. The driver's message names the host
            # and the user: it goes to the log, the (maybe public) answer gets the kind.
            await self._discard()
            return self._noted(
                Readiness(False, reason=f"the database does not answer: {_kind(exc)}"),
                detail=str(exc).strip() or type(exc).__name__,
            )

    async def _ask(self) -> Readiness:
        if self._conn is None or self._conn.closed:
            self._conn = await connect(self._conninfo)
        if self._layout is None:
            await self._conn.execute("select 1")
            return self._noted(Readiness(True))
        # The same comparison as `db status`: the files against the recorded history.
        statuses = await MigrationRunner(self._conn, self._layout).status()
        pending = [s.version for s in statuses if not s.applied]
        if pending:
            return self._noted(
                Readiness(
                    True,
                    migrations_pending=pending,
                    reason=f"migrations pending: {', '.join(pending)}; "
                    "run `mentor-notify db migrate`",
                )
            )
        return self._noted(Readiness(True, migrations_pending=[]))

    async def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except Exception as exc:
                log.debug("closing the health connection failed", error=str(exc))

    def _noted(self, result: Readiness, detail: str | None = None) -> Readiness:
        # Logged when readiness changes, not on every probe (one every few seconds).
        if result.ready != self._last_ready:
            if result.ready:
                log.info("ready")
            else:
                log.warning("not ready", reason=result.reason, detail=detail)
            self._last_ready = result.ready
        return result


def _kind(exc: BaseException) -> str:
    """What kind of failure `exc` is, in words that reveal nothing about the server."""
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionFailed):
        return "cannot connect"
    if isinstance(exc, psycopg.OperationalError):
        return "the connection failed"
    return "the check failed"
