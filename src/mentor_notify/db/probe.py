"""Whether the database can serve: answered fast and truthfully, for health checks.

The API's `/readyz` and the worker's both ask a `DatabaseProbe`: on its own
connection, never the pool's, within a fixed time, with the reason when the
answer is no (the database does not answer, or migrations are pending).
"""

import asyncio
from dataclasses import dataclass

import psycopg
import structlog
from psycopg import AsyncConnection
from psycopg.rows import DictRow

from mentor_notify.db.connect import connect
from mentor_notify.db.errors import ConnectionFailed
from mentor_notify.db.layout import SupabaseLayout
from mentor_notify.db.migrations import MigrationRunner
from mentor_notify.db.sql_files import load_sql

_PING = load_sql("mentor_notify.db", "ping")

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Readiness:
    """What a readiness check found."""

    database: bool
    migrations_pending: list[str] | None = None
    reason: str | None = None

    @property
    def ready(self) -> bool:
        """Ready to serve: the database answers and no migration is pending."""
        return self.database and not self.migrations_pending and self.reason is None


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
            await self._conn.execute(_PING)
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
        # Logged when readiness changes, not on every probe (one every few seconds);
        # being ready from the first check is the usual case, not news.
        if result.ready != self._last_ready:
            if result.ready:
                if self._last_ready is not None:
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
