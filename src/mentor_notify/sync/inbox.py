"""Group commit for the sync's inbox: deliveries that arrive together are stored
together, in one round trip and one commit, and each is answered only after the
commit that holds its row (issue 24: "stored before answered").

A burst of 1,000 webhooks each committed on its own paid a transaction, a
round trip and a WAL flush per delivery, and waited for a pool connection per
delivery. Here the first delivery is sent at once; the ones that arrive while a
batch is on its way queue up and go together in the next, so nobody waits for a
timer and a quiet server stores each delivery as before. When a batch fails
(one row against a constraint, say), its deliveries are stored again one by one,
each in its own transaction, so one bad row never costs the others theirs: only
its own sender gets the error.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import structlog
from psycopg.rows import DictRow

from mentor_notify.db import Pool, translating
from mentor_notify.organisations import UnknownOrganisation
from mentor_notify.sync.models import SyncEvent
from mentor_notify.sync.repository import SyncRepository

log = structlog.get_logger(__name__)

# Most deliveries one commit holds: a burst is cut into batches this big, so
# one batch's statement list stays short and a failure replays few rows.
MAX_BATCH = 200
# Batches on their way at once, each on its own pool connection: one commits
# while the next fills, and the other requests keep the rest of the pool.
FLUSHERS = 2


@dataclass
class _Delivery:
    organization_id: UUID
    event: SyncEvent
    body_sha256: str
    now: datetime
    stored: asyncio.Future[DictRow] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class InboxWriter:
    """Stores deliveries into the inbox over `pool`, batching concurrent ones."""

    def __init__(self, pool: Pool, max_batch: int = MAX_BATCH, flushers: int = FLUSHERS) -> None:
        """Store through `pool`, at most `max_batch` deliveries per commit and
        `flushers` batches at once."""
        self._pool = pool
        self._max_batch = max_batch
        self._flushers = flushers
        self._queue: list[_Delivery] = []
        self._running: set[asyncio.Task[None]] = set()

    @property
    def waiting(self) -> int:
        """Deliveries queued for the next batch (not yet sent to the database)."""
        return len(self._queue)

    async def store(
        self, organization_id: UUID, event: SyncEvent, body_sha256: str, now: datetime
    ) -> DictRow:
        """Store `event` for the organisation once per source request id; returns
        when the commit holding it is done, with organization_id, event_id,
        status, reason and duplicate (as `SyncRepository.receive`). Raises what
        storing this delivery alone raises (`UnknownOrganisation`, a
        `DatabaseError`)."""
        delivery = _Delivery(organization_id, event, body_sha256, now)
        self._queue.append(delivery)
        if len(self._running) < self._flushers:
            task = asyncio.create_task(self._flush())
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        # Shielded: a sender that hangs up does not cancel the batch's commit,
        # which the other senders of the batch are waiting for.
        return await asyncio.shield(delivery.stored)

    async def _flush(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                await self._store_batch(batch)
            finally:
                # Whatever happened (the server shutting down), no sender waits
                # for ever: one not answered yet is told its delivery failed.
                for delivery in batch:
                    if not delivery.stored.done():
                        delivery.stored.set_exception(
                            ConnectionError("the inbox write was interrupted")
                        )

    async def _store_batch(self, batch: list[_Delivery]) -> None:
        if len(batch) > 1:
            try:
                async with self._pool.connection() as conn, conn.transaction():
                    rows = await SyncRepository(conn).receive_many(
                        [(d.organization_id, d.event, d.body_sha256, d.now) for d in batch]
                    )
            except Exception as exc:
                log.info("sync batch store failed; storing one by one", error=str(exc))
            else:
                # Committed: only now is each sender answered.
                for delivery, row in zip(batch, rows, strict=True):
                    _settle(delivery, row)
                return
        for delivery in batch:
            one = [(delivery.organization_id, delivery.event, delivery.body_sha256, delivery.now)]
            try:
                # Translated, the commit's refusal too: the sender is answered as
                # for any database error.
                with translating():
                    async with self._pool.connection() as conn, conn.transaction():
                        [row] = await SyncRepository(conn).receive_many(one)
            except Exception as exc:
                if not delivery.stored.done():
                    delivery.stored.set_exception(exc)
            else:
                _settle(delivery, row)


def _settle(delivery: _Delivery, row: DictRow | None) -> None:
    if delivery.stored.done():
        return
    if row is None:
        delivery.stored.set_exception(
            UnknownOrganisation(f"no organisation has id {delivery.organization_id}")
        )
    else:
        delivery.stored.set_result(row)
