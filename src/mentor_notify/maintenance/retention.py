"""Retention: delete delivery records past their keep-by date, in small batches.

The two delivery logs are pruned, and the push queue's settled notices (with
their per-device deliveries, by cascade) after a shorter period of their own:
a settled push is never claimed again, and its outcome is kept on its
notification. `cert_notification_log` is the expiry
sweep's audit trail; once a record is older than any live expiry cycle the
sweep never consults it again (the cycle's state lives in
`certification_expiry_tracking` and the unique index on `notifications`).
`follow_up_notification_log` is the coordinators' delivery history.
`scenario_notifications` is never pruned: milestones are "once ever" and
cooldowns look back through it.

Each batch is its own short transaction that locks only the rows it deletes
(`FOR UPDATE SKIP LOCKED`), so pruning a large backlog never holds a long lock
and can run beside the daily jobs. Re-running is harmless: it deletes what is
left.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from psycopg import sql
from pydantic import BaseModel, ConfigDict

from mentor_notify.db import DatabaseError, Pool, translating
from mentor_notify.db.sql_files import load_sql

log = structlog.get_logger(__name__)

# The sweep's longest warning window is 90 days; keeping records at least that
# long keeps every record of a live expiry cycle.
MINIMUM_RETENTION = timedelta(days=90)

# A settled push is kept a month by default, for `push dead` / `push retry`
# and for looking into a delivery; at least a week.
DEFAULT_PUSH_RETENTION = timedelta(days=30)
MINIMUM_PUSH_RETENTION = timedelta(days=7)

# No delivery record is a century old, so a longer period deletes nothing a
# century would not; refusing it keeps the cutoff (now minus the period) inside
# the calendar, where 99999y would overflow it.
MAXIMUM_RETENTION = timedelta(days=100 * 365)

_BATCH_SQL = load_sql("mentor_notify.maintenance", "prune_batch")
_COUNT_SQL = load_sql("mentor_notify.maintenance", "count_expired")

_UNITS = {"d": 1, "w": 7, "mo": 30, "y": 365}
_RETENTION = re.compile(r"^\s*(?P<n>[0-9]+)\s*(?P<unit>d|w|mo|y)\s*$")


class RetentionError(DatabaseError):
    """A retention period or batch size that cannot be used."""


@dataclass(frozen=True)
class _PrunedTable:
    name: str
    key: str
    time_column: str


PRUNED_TABLES = (
    _PrunedTable("cert_notification_log", "id", "sent_at"),
    _PrunedTable("follow_up_notification_log", "log_id", "delivered_at"),
)
# Pruned by its own period; only settled notices have a settled_at.
PUSH_TABLE = _PrunedTable("push_notices", "id", "settled_at")


class PruneResult(BaseModel):
    """What one prune removed: rows per table, and the cutoff it used."""

    model_config = ConfigDict(frozen=True)

    cutoff: datetime
    push_cutoff: datetime
    dry_run: bool
    deleted: dict[str, int]

    @property
    def total(self) -> int:
        """Rows deleted (or, on a dry run, that would be) over all tables."""
        return sum(self.deleted.values())


def parse_retention(text: str) -> timedelta:
    """Parse a retention period such as `1y`, `18mo`, `26w` or `400d`.

    A year counts 365 days and a month 30. Periods shorter than
    `MINIMUM_RETENTION` are refused: they could delete records of an expiry
    cycle that is still running.
    """
    return _check_period(_days(text, "retention period", "1y"))


def parse_push_retention(text: str) -> timedelta:
    """Parse the settled pushes' retention period (as `parse_retention`; at least
    `MINIMUM_PUSH_RETENTION`)."""
    return _check_push_period(_days(text, "push retention period", "30d"))


def _days(text: str, what: str, example: str) -> int:
    match = _RETENTION.match(text)
    if match is None:
        raise RetentionError(
            f"cannot read the {what} {text!r}: write a whole number and a unit, "
            f"d (days), w (weeks), mo (months of 30 days) or y (years of 365 days), e.g. {example}"
        )
    # Counted in whole days before any timedelta is made: a huge number would
    # overflow timedelta itself.
    return int(match["n"]) * _UNITS[match["unit"]]


def _check_period(days: int) -> timedelta:
    """`days` as a retention period, if it lies within the bounds; else `RetentionError`."""
    return _bounded(
        days,
        "retention period",
        MINIMUM_RETENTION,
        "records of an expiry cycle still running would be lost",
    )


def _check_push_period(days: int) -> timedelta:
    """`days` as the settled pushes' retention period, if within bounds."""
    return _bounded(
        days, "push retention period", MINIMUM_PUSH_RETENTION, "dead pushes could not be retried"
    )


def _bounded(days: int, what: str, minimum: timedelta, why: str) -> timedelta:
    if days < minimum.days:
        raise RetentionError(
            f"a {what} of {days} days is too short: {why}; use at least {minimum.days} days"
        )
    if days > MAXIMUM_RETENTION.days:
        raise RetentionError(
            f"a {what} of {days} days is too long: use at most "
            f"{MAXIMUM_RETENTION.days} days (100 years), which already keeps every record"
        )
    return timedelta(days=days)


class RetentionPruner:
    """Deletes delivery records recorded before a cutoff, batch by batch."""

    def __init__(self, pool: Pool, *, batch_size: int = 5000) -> None:
        """Use connections from `pool`; each batch deletes at most `batch_size` rows."""
        if batch_size < 1:
            raise RetentionError("the batch size must be at least 1")
        self._pool = pool
        self._batch_size = batch_size

    async def prune(
        self,
        now: datetime,
        older_than: timedelta,
        *,
        pushes_older_than: timedelta = DEFAULT_PUSH_RETENTION,
        dry_run: bool = False,
    ) -> PruneResult:
        """Delete every record older than `older_than`, and every push settled longer
        ago than `pushes_older_than`, as of `now` (timezone-aware).

        With `dry_run` nothing is deleted; the result counts what would be.
        """
        if now.tzinfo is None:
            raise RetentionError("now must be timezone-aware")
        _check_period(older_than.days)  # whole days: under 90 is under 90 whole days
        _check_push_period(pushes_older_than.days)
        cutoff = now - older_than
        push_cutoff = now - pushes_older_than
        deleted: dict[str, int] = {}
        for table, table_cutoff in [
            *((t, cutoff) for t in PRUNED_TABLES),
            (PUSH_TABLE, push_cutoff),
        ]:
            cutoff_text = table_cutoff.isoformat()
            if dry_run:
                deleted[table.name] = await self._count(table, table_cutoff)
            else:
                deleted[table.name] = await self._prune_table(table, table_cutoff)
            log.info(
                "retention step done",
                table=table.name,
                rows=deleted[table.name],
                dry_run=dry_run,
                cutoff=cutoff_text,
            )
        return PruneResult(cutoff=cutoff, push_cutoff=push_cutoff, dry_run=dry_run, deleted=deleted)

    async def _count(self, table: _PrunedTable, cutoff: datetime) -> int:
        query = sql.SQL(_COUNT_SQL).format(
            table=sql.Identifier(table.name), time_column=sql.Identifier(table.time_column)
        )
        with translating():
            async with self._pool.connection() as conn:
                row = await (await conn.execute(query, {"cutoff": cutoff})).fetchone()
        return int(row["n"]) if row else 0

    async def _prune_table(self, table: _PrunedTable, cutoff: datetime) -> int:
        query = sql.SQL(_BATCH_SQL).format(
            table=sql.Identifier(table.name),
            key=sql.Identifier(table.key),
            time_column=sql.Identifier(table.time_column),
        )
        total = 0
        while True:
            with translating():
                async with self._pool.connection() as conn:
                    cur = await conn.execute(
                        query, {"cutoff": cutoff, "batch_size": self._batch_size}
                    )
                    batch = cur.rowcount
            total += batch
            if batch < self._batch_size:
                return total
            log.debug("retention batch done", table=table.name, rows=batch, so_far=total)
