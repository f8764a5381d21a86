"""The sync's applier: the webhook endpoints only store what arrives and answer
(so a burst is never shed while the database can store it); this applies the held
events of every organisation whose sync is on, in source order per certificate,
as soon as it is woken by a store, and at least every `interval` (events stored
by another process, a switch turned on, `sync retry`)."""

import asyncio
import contextlib
from datetime import timedelta

import structlog

from mentor_notify.db import DatabaseError
from mentor_notify.sync.models import ReplayResult
from mentor_notify.sync.service import CertificateSync

log = structlog.get_logger(__name__)

# How long the applier sleeps when nothing wakes it: events stored by another
# server process wait at most this long.
APPLY_INTERVAL = timedelta(seconds=1)


class SyncApplier:
    """Applies held events through `sync`; `woken` is set by each store."""

    def __init__(
        self, sync: CertificateSync, woken: asyncio.Event, interval: timedelta = APPLY_INTERVAL
    ) -> None:
        """Apply through `sync` whenever `woken` is set, else every `interval`."""
        self._sync = sync
        self._woken = woken
        self._interval = interval.total_seconds()

    async def run_once(self) -> ReplayResult:
        """Apply what is held now (the organisations whose sync is on)."""
        self._woken.clear()
        return await self._sync.apply_held()

    async def run(self) -> None:
        """Apply held events until cancelled; a failing round (the database away) is
        logged and tried again on the next."""
        while True:
            try:
                await self.run_once()
            except DatabaseError as exc:
                log.warning("sync apply round failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self._interval)
