"""PostgreSQL implementations of the orchestrator's collaborators.

Each takes its connection in the constructor and runs every call in its own
transaction (a savepoint when the caller has one open), so a failed call
leaves the connection usable for the next record. Errors come out as the data
layer's `DatabaseError` family, never raw driver exceptions.
"""

import json
from collections.abc import Sequence

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from mentor_notify.db import translating
from mentor_notify.db.sql_files import load_sql
from mentor_notify.domain import Clock
from mentor_notify.expiry.orchestrator import ExpiryNotice, PushRequest, StoredNotice

_FIND_EXISTING = load_sql("mentor_notify.expiry", "find_existing")
_INSERT_NOTICES = load_sql("mentor_notify.expiry", "insert_notices")
_ENQUEUE = load_sql("mentor_notify.expiry", "enqueue")


def _json(models: Sequence[ExpiryNotice] | Sequence[PushRequest]) -> str:
    return json.dumps([m.model_dump(mode="json") for m in models])


class PostgresNotificationRecords:
    """Expiry notices in `notifications`, `cert_notification_log` and the sweep state."""

    def __init__(self, conn: AsyncConnection[DictRow], clock: Clock) -> None:
        """Write through `conn`; stamp rows with `clock`'s time."""
        self._conn = conn
        self._clock = clock

    async def find_existing(self, notices: Sequence[ExpiryNotice]) -> set[str]:
        """Keys of the notices already recorded (one query for the whole batch)."""
        with translating():
            async with self._conn.transaction():
                cur = await self._conn.execute(_FIND_EXISTING, {"notices": _json(notices)})
                return {row["key"] for row in await cur.fetchall()}

    async def insert_many(self, notices: Sequence[ExpiryNotice]) -> list[StoredNotice]:
        """Record the notices in one statement; return those created."""
        with translating():
            async with self._conn.transaction():
                cur = await self._conn.execute(
                    _INSERT_NOTICES, {"notices": _json(notices), "now": self._clock.now()}
                )
                return [StoredNotice(**row) for row in await cur.fetchall()]


class PostgresPushQueue:
    """Pushes in `push_outbox`, one per device of the recipient."""

    def __init__(self, conn: AsyncConnection[DictRow], clock: Clock) -> None:
        """Write through `conn`; pushes become due at `clock`'s time."""
        self._conn = conn
        self._clock = clock

    async def enqueue_many(self, pushes: Sequence[PushRequest]) -> int:
        """Queue the pushes in one statement; return how many device pushes were queued."""
        with translating():
            async with self._conn.transaction():
                cur = await self._conn.execute(
                    _ENQUEUE, {"pushes": _json(pushes), "now": self._clock.now()}
                )
                row = await cur.fetchone()
        return int(row["queued"]) if row else 0
