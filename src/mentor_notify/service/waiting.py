"""Waiting for the database at start: the process stays up, says why it waits, and
proceeds once the database answers and has every migration.

PostgREST is the model (its "Automatic Recovery" and admin server `/live` and `/ready`,
docs.postgrest.org references/connection_pool.rst and admin_server.rst, checked
2026-12-06): it keeps running while its database is away, answers not-ready, and
retries with exponential backoff of at most 32 s between attempts.
"""

import asyncio
import contextlib
import time
from collections.abc import Callable

import structlog

from mentor_notify.db.probe import DatabaseProbe, Readiness

log = structlog.get_logger(__name__)

# PostgREST waits at most 32 s between attempts (see the module docstring); a little
# less here, so that a reason that does not change is logged once a minute.
MAX_BACKOFF_SECONDS = 30.0
FIRST_BACKOFF_SECONDS = 0.5
# A reason that does not change is repeated this often, so a log viewer opened during a
# long wait (migrations never run) still finds it near the end.
REPEAT_EVERY_SECONDS = 60.0

NOT_ASKED_YET = Readiness(False, reason="starting: the database has not been asked yet")


class DatabaseWait:
    """Asks `probe` until the database is ready, backing off between attempts; what it
    last found (`latest`) is what the process's `/readyz` answers meanwhile."""

    def __init__(
        self,
        probe: DatabaseProbe,
        service: str,
        *,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        repeat_every: float = REPEAT_EVERY_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wait on behalf of `service` (named in the log lines)."""
        self._probe = probe
        self._service = service
        self._max_backoff = max_backoff
        self._repeat_every = repeat_every
        self._monotonic = monotonic
        self.latest = NOT_ASKED_YET

    async def until_ready(self, stop: asyncio.Event) -> bool:
        """Return True once the database is ready, False if `stop` is set first."""
        started = self._monotonic()
        backoff = FIRST_BACKOFF_SECONDS
        said: tuple[str | None, float] | None = None
        while not stop.is_set():
            self.latest = await self._probe.check()
            if self.latest.ready:
                if said is not None:
                    log.info(
                        "database ready; starting",
                        service=self._service,
                        waited_s=round(self._monotonic() - started, 1),
                    )
                return True
            now = self._monotonic()
            if said is None or said[0] != self.latest.reason or now - said[1] >= self._repeat_every:
                log.warning(
                    "waiting for the database"
                    if said is None
                    else "still waiting for the database",
                    service=self._service,
                    reason=self.latest.reason,
                    retry_in_s=backoff,
                )
                said = (self.latest.reason, now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff)
            backoff = min(backoff * 2, self._max_backoff)
        return False
