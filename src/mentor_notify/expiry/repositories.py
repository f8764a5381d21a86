"""PostgreSQL implementations of the orchestrator's collaborators.

Each takes its connection in the constructor and works in the transaction the
orchestrator opens on that connection (`postgres_orchestrator` wires it), so a
batch's working set, notices, log rows, tier marks and pushes live and commit
together. Errors come out as the data layer's `DatabaseError` family, never
raw driver exceptions.
"""

from collections.abc import Sequence
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from mentor_notify.db import translating
from mentor_notify.db.sql_files import load_sql
from mentor_notify.domain import AsOf, Clock, Tier
from mentor_notify.expiry.models import MentorRecord
from mentor_notify.expiry.orchestrator import CertificateExpiryOrchestrator, WrittenNotices

_STAGE = load_sql("mentor_notify.expiry", "stage")
_STAGE_RECORDS = load_sql("mentor_notify.expiry", "stage_records")
_WRITE = load_sql("mentor_notify.expiry", "write_notices")
_ENQUEUE = load_sql("mentor_notify.expiry", "enqueue")


class PostgresNotificationRecords:
    """Expiry notices in `notifications`, `cert_notification_log` and the sweep state,
    decided and written by the statements in `sql/` over a working set of
    temporary tables (stage.sql)."""

    def __init__(self, conn: AsyncConnection[DictRow], clock: Clock) -> None:
        """Work through `conn`; stamp rows with `clock`'s time."""
        self._conn = conn
        self._clock = clock

    async def open_working_set(self) -> None:
        """Make the working set empty (and create it in this transaction)."""
        with translating():
            await self._conn.execute(_STAGE)

    async def stage(self, records: Sequence[MentorRecord], as_of: AsOf) -> dict[UUID, Tier]:
        """Hand the records to the database as arrays; it decides their tiers and
        keeps the due ones. Returns the due records' tiers (one statement)."""
        await self.open_working_set()
        told: list[tuple[UUID, UUID, str]] = []
        for r in records:
            # The recipients the caller gives, each once per audience.
            given = (("coordinator", r.coordinator_ids), ("chapter_admin", r.admin_ids))
            for audience, ids in given:
                told += [(r.certification_id, i, audience) for i in dict.fromkeys(ids)]
        with translating():
            cur = await self._conn.execute(
                _STAGE_RECORDS,
                {
                    "day": as_of.day,
                    "instant": as_of.instant,
                    "certification_ids": [r.certification_id for r in records],
                    "organization_ids": [r.organization_id for r in records],
                    "mentor_ids": [r.mentor_id for r in records],
                    "certificate_types": [r.certificate_type for r in records],
                    "expiry_dates": [r.expiry_date for r in records],
                    "timezones": [r.timezone for r in records],
                    "thresholds": [_int_array(r.thresholds) for r in records],
                    "recipient_certification_ids": [t[0] for t in told],
                    "recipient_ids": [t[1] for t in told],
                    "audiences": [t[2] for t in told],
                },
            )
            rows = await cur.fetchall()
        return {row["certification_id"]: Tier(row["tier"]) for row in rows}

    async def write(self) -> WrittenNotices:
        """Write the working set's notices, log rows and tier marks in one
        statement, leaving their pushes for the queue; say what was done."""
        with translating():
            cur = await self._conn.execute(_WRITE, {"now": self._clock.now()})
            row = await cur.fetchone()
        assert row is not None  # an aggregate always has its row
        return WrittenNotices(
            due=row["due"],
            created=row["created"],
            logged=row["logged"],
            marked=row["marked"],
            skipped=row["skipped"],
        )


class PostgresPushQueue:
    """Pushes in `push_notices`, one per notification (devices are read when sent)."""

    def __init__(self, conn: AsyncConnection[DictRow], clock: Clock) -> None:
        """Write through `conn`; pushes become due at `clock`'s time."""
        self._conn = conn
        self._clock = clock

    async def enqueue_written(self) -> int:
        """Queue the pushes the last write left (one statement); return how many."""
        with translating():
            cur = await self._conn.execute(_ENQUEUE, {"now": self._clock.now()})
            row = await cur.fetchone()
        assert row is not None  # a select of one call always has its row
        return int(row["queued"])


def _int_array(values: Sequence[int]) -> str:
    # Thresholds differ in length between organisations, so each record's go
    # as one array literal (a ragged array of arrays is not an SQL array).
    return "{" + ",".join(str(int(v)) for v in values) + "}"


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


__all__ = ["PostgresNotificationRecords", "PostgresPushQueue", "postgres_orchestrator"]
