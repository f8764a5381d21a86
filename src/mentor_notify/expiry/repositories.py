"""PostgreSQL implementations of the orchestrator's collaborators.

Each takes its connection in the constructor and writes in the transaction
the orchestrator opens on that connection (`postgres_orchestrator` wires it),
so a batch's notices, log rows, tier marks and pushes commit together. Errors
come out as the data layer's `DatabaseError` family, never raw driver
exceptions.
"""

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from pydantic_core import to_json

from mentor_notify.db import translating
from mentor_notify.db.sql_files import load_sql
from mentor_notify.domain import Clock
from mentor_notify.expiry.orchestrator import (
    CertificateExpiryOrchestrator,
    ExpiryNotice,
    PushRequest,
    StoredNotice,
    TierMark,
    WrittenNotices,
)

_FIND_EXISTING = load_sql("mentor_notify.expiry", "find_existing")
_INSERT_NOTICES = load_sql("mentor_notify.expiry", "insert_notices")
_ENQUEUE = load_sql("mentor_notify.expiry", "enqueue")


class PostgresNotificationRecords:
    """Expiry notices in `notifications`, `cert_notification_log` and the sweep state."""

    def __init__(self, conn: AsyncConnection[DictRow], clock: Clock) -> None:
        """Write through `conn`; stamp rows with `clock`'s time."""
        self._conn = conn
        self._clock = clock

    async def find_existing(self, notices: Sequence[ExpiryNotice]) -> set[str]:
        """Keys of the notices already recorded (one query for the whole batch)."""
        with translating():
            cur = await self._conn.execute(
                _FIND_EXISTING, {"notices": _json([_compared(n) for n in notices])}
            )
            return {row["key"] for row in await cur.fetchall()}

    async def insert_many(
        self, notices: Sequence[ExpiryNotice], marks: Sequence[TierMark]
    ) -> WrittenNotices:
        """Record the notices and mark the tiers in one statement; say what was created."""
        with translating():
            cur = await self._conn.execute(
                _INSERT_NOTICES,
                {
                    "notices": _json([_notice(n) for n in notices]),
                    "marks": _json([_mark(m) for m in marks]),
                    "now": self._clock.now(),
                },
            )
            (row,) = await cur.fetchall()
        return WrittenNotices(
            created=[
                StoredNotice(*created)
                for created in zip(row["created_keys"], row["created_ids"], strict=True)
            ],
            logged=row["logged"],
            marked=row["marked"],
        )


class PostgresPushQueue:
    """Pushes in `push_notices`, one per notification (devices are read when sent)."""

    def __init__(self, conn: AsyncConnection[DictRow], clock: Clock) -> None:
        """Write through `conn`; pushes become due at `clock`'s time."""
        self._conn = conn
        self._clock = clock

    async def enqueue_many(self, pushes: Sequence[PushRequest]) -> int:
        """Queue the pushes in one statement; return how many were queued."""
        with translating():
            cur = await self._conn.execute(
                _ENQUEUE,
                {"pushes": _json([_push(p) for p in pushes]), "now": self._clock.now()},
            )
            row = await cur.fetchone()
        return int(row["queued"]) if row else 0


# One JSON document per statement, each row an object in the shape the
# statement's jsonb_to_recordset reads. pydantic-core's serialiser writes ids
# and dates itself, in Rust: about three times as fast as `json.dumps` over
# rows of `str()`-converted values (26,000 notices and pushes a sweep). Enum
# members go in as their `.value`: the serialiser takes ten times as long
# over a member as over its text.


def _json(rows: list[dict[str, Any]]) -> str:
    return to_json(rows).decode()


def _notice(notice: ExpiryNotice) -> dict[str, Any]:
    return {
        "key": notice.key,
        "log_key": notice.log_key,
        "organization_id": notice.organization_id,
        "mentor_id": notice.mentor_id,
        "certification_id": notice.certification_id,
        "certificate_type": notice.certificate_type,
        "tier": notice.tier.value,
        "expiry_date": notice.expiry_date,
        "recipient_id": notice.recipient_id,
        "message_key": notice.message_key,
        "data": notice.message.data,
    }


def _compared(notice: ExpiryNotice) -> dict[str, Any]:
    return {
        "key": notice.key,
        "mentor_id": notice.mentor_id,
        "certificate_type": notice.certificate_type,
        "tier": notice.tier.value,
        "expiry_date": notice.expiry_date,
        "recipient_id": notice.recipient_id,
    }


def _mark(mark: TierMark) -> dict[str, Any]:
    return {
        "certification_id": mark.certification_id,
        "expiry_date": mark.expiry_date,
        "days": mark.tier.days,
        "day": mark.day,
    }


def _push(push: PushRequest) -> dict[str, Any]:
    return {
        "notification_id": push.notification_id,
        "organization_id": push.organization_id,
        "recipient_id": push.recipient_id,
        "payload": push.payload,
        "collapse_key": push.collapse_key,
    }


def postgres_orchestrator(
    conn: AsyncConnection[DictRow], clock: Clock
) -> CertificateExpiryOrchestrator:
    """The orchestrator writing through `conn`: each batch (or retried record) in a
    transaction of its own (a savepoint when the caller holds one open)."""
    return CertificateExpiryOrchestrator(
        PostgresNotificationRecords(conn, clock),
        PostgresPushQueue(conn, clock),
        clock,
        transaction=conn.transaction,
    )
