"""Retention: delete delivery records and old notices past their keep-by date, in small batches.

What is pruned, each after its own retention:

* `cert_notification_log`, the expiry sweep's audit trail, and
  `follow_up_notification_log`, the coordinators' delivery history: after
  `older_than` (the command's default is one year). Once a record is older
  than any live expiry cycle the sweep never consults it again.
* `notifications`, the people's inbox: only when the operator sets a
  notification retention, and then only settled notices (sent, failed or
  skipped; a pending one may still be pushed) created before it. Kept forever
  by default because the inbox is what people see in the app: how long it
  lasts is each organisation's decision (its privacy policy and what its
  members expect), not something a default should make for them. Deleting a
  notice deletes its pushes with it (their foreign key cascades) and leaves
  its `follow_up_notification_log` entries with an empty `notification_id`
  (set null); the live inbox broadcasts no deletes (supabase/schemas/07_live_inbox.sql).
* `push_notices`, the push queue's settled notices (their per-device
  `push_deliveries` go with them by cascade): after their own, shorter period
  (default 30 days, at least 7). A settled push is never claimed again, its
  outcome stays on its notification, and a week leaves time to re-queue a
  dead one with `push retry`.
* `push_budget_days`, the daily push budget's ledger: with the settled pushes
  (the same period). A row is read only on its own day; pruning is also what
  removes the rows of a person or organisation deleted since (the ledger has
  no foreign keys: supabase/schemas/04_notifications_and_push.sql says why).

No retention of the logs or the inbox may be shorter than
`MINIMUM_RETENTION`, 90 days, the longest warning window. Deleting old
notices cannot make the sweep tell a tier again:
its once-per-tier rule lives in `certification_expiry_tracking.notification_thresholds_sent`
(`expiry/sql/candidates.sql` skips the tiers sent, by `private.expiry_due_tier`,
and `write_notices.sql` marks them in the statement that writes the
notices), which a prune never touches; the notices' unique index
`notifications_expiry_duplicate_key` is only a second guard within a cycle,
and the minimum keeps it for every live warning window.
`scenario_notifications` is never pruned: milestones are "once ever" and
cooldowns look back through it.

Each batch is its own short transaction that locks only the rows it deletes
(`FOR UPDATE SKIP LOCKED`), so pruning a large backlog never holds a long lock
and can run beside the daily jobs. Re-running is harmless: it deletes what is
left. To prune another table, add it to `PRUNED_TABLES`.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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
_SETTLED_SQL = load_sql("mentor_notify.maintenance", "settled_only")

_UNITS = {"d": 1, "w": 7, "mo": 30, "y": 365}
_RETENTION = re.compile(r"^\s*(?P<n>[0-9]+)\s*(?P<unit>d|w|mo|y)\s*$")


class RetentionError(DatabaseError):
    """A retention period or batch size that cannot be used."""


@dataclass(frozen=True)
class _PrunedTable:
    name: str
    key: str
    # Age is measured by this column; the batches go oldest first along it.
    time_column: str
    # Rows whose status is one of these are still in use and kept at any age.
    open_statuses: tuple[str, ...] = ()
    status_column: str = "status"
    # Pruned only when the operator sets a retention for this table.
    kept_unless_set: bool = False
    # Its own period when none is given for it (else the logs' `older_than`).
    default: timedelta | None = None
    # The shortest period allowed, and what a shorter one would lose.
    minimum: timedelta = MINIMUM_RETENTION
    why_minimum: str = "records of an expiry cycle still running would be lost"

    def check(self, period: timedelta) -> timedelta:
        """`period` (whole days) if it is allowed for this table; else `RetentionError`."""
        return _bounded(period.days, self.minimum, self.why_minimum)

    def settled_filter(self) -> sql.Composable:
        """The filter keeping rows still in use (nothing when every row may go)."""
        if not self.open_statuses:
            return sql.Composed([])
        return sql.SQL(_SETTLED_SQL).format(status_column=sql.Identifier(self.status_column))


PRUNED_TABLES = (
    _PrunedTable("cert_notification_log", "id", "sent_at"),
    _PrunedTable("follow_up_notification_log", "log_id", "delivered_at"),
    # After the logs: deleting a notice sets their notification_id to null.
    _PrunedTable(
        "notifications", "id", "created_at", open_statuses=("pending",), kept_unless_set=True
    ),
    # Only settled notices have a settled_at.
    _PrunedTable(
        "push_notices",
        "id",
        "settled_at",
        default=DEFAULT_PUSH_RETENTION,
        minimum=MINIMUM_PUSH_RETENTION,
        why_minimum="dead pushes could not be retried",
    ),
    # Its key is three columns, so a batch names its rows by their tuple id.
    _PrunedTable(
        "push_budget_days",
        "ctid",
        "local_day",
        default=DEFAULT_PUSH_RETENTION,
        minimum=MINIMUM_PUSH_RETENTION,
        why_minimum="it is kept as long as the settled pushes it counted",
    ),
)
_BY_NAME = {t.name: t for t in PRUNED_TABLES}


class PruneResult(BaseModel):
    """What one prune removed: rows per table, and the cutoffs it used."""

    model_config = ConfigDict(frozen=True)

    cutoff: datetime
    dry_run: bool
    deleted: dict[str, int]
    cutoffs: dict[str, datetime]

    @property
    def total(self) -> int:
        """Rows deleted (or, on a dry run, that would be) over all tables."""
        return sum(self.deleted.values())


def parse_retention(text: str, table: str | None = None) -> timedelta:
    """Parse a retention period such as `1y`, `18mo`, `26w` or `400d`, for the
    delivery logs or, when named, for `table` (one of `PRUNED_TABLES`).

    A year counts 365 days and a month 30. Periods shorter than the table's
    minimum are refused (`MINIMUM_RETENTION` for the logs and the inbox: they
    could delete records of an expiry cycle that is still running).
    """
    match = _RETENTION.match(text)
    if match is None:
        raise RetentionError(
            f"cannot read the retention period {text!r}: write a whole number and a unit, "
            "d (days), w (weeks), mo (months of 30 days) or y (years of 365 days), e.g. 1y"
        )
    # Counted in whole days before any timedelta is made: a huge number would
    # overflow timedelta itself.
    days = int(match["n"]) * _UNITS[match["unit"]]
    if table is None:
        return _bounded(days, MINIMUM_RETENTION, PRUNED_TABLES[0].why_minimum)
    pruned = _BY_NAME[table]
    return _bounded(days, pruned.minimum, pruned.why_minimum)


def _bounded(days: int, minimum: timedelta, why: str) -> timedelta:
    """`days` as a retention period, if it lies within the bounds; else `RetentionError`."""
    if days < minimum.days:
        raise RetentionError(
            f"a retention period of {days} days is too short: {why}; "
            f"use at least {minimum.days} days"
        )
    if days > MAXIMUM_RETENTION.days:
        raise RetentionError(
            f"a retention period of {days} days is too long: use at most "
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
        retention: Mapping[str, timedelta] | None = None,
        dry_run: bool = False,
    ) -> PruneResult:
        """Delete every record older than `older_than` as of `now` (timezone-aware).

        `retention` sets another period for some tables by name (e.g.
        `notifications`, `push_notices`); a table with a default period of its own
        (the settled pushes) uses it unless named; a table kept unless set (the
        notifications) is pruned only when it is named there. With `dry_run` nothing is deleted; the
        result counts what would be.
        """
        if now.tzinfo is None:
            raise RetentionError("now must be timezone-aware")
        periods = dict(retention or {})
        unknown = sorted(set(periods) - {t.name for t in PRUNED_TABLES})
        if unknown:
            raise RetentionError(
                f"there is no retention for {unknown[0]!r}: the pruned tables are "
                + ", ".join(t.name for t in PRUNED_TABLES)
            )
        # Whole days: under 90 is under 90 whole days.
        _bounded(older_than.days, MINIMUM_RETENTION, PRUNED_TABLES[0].why_minimum)
        for name, period in periods.items():
            _BY_NAME[name].check(period)
        deleted: dict[str, int] = {}
        cutoffs: dict[str, datetime] = {}
        for table in PRUNED_TABLES:
            if table.kept_unless_set and table.name not in periods:
                continue
            cutoff = now - periods.get(table.name, table.default or older_than)
            if dry_run:
                deleted[table.name] = await self._count(table, cutoff)
            else:
                deleted[table.name] = await self._prune_table(table, cutoff)
            cutoffs[table.name] = cutoff
            log.info(
                "retention step done",
                table=table.name,
                rows=deleted[table.name],
                dry_run=dry_run,
                cutoff=cutoff.isoformat(),
            )
        return PruneResult(
            cutoff=now - older_than, dry_run=dry_run, deleted=deleted, cutoffs=cutoffs
        )

    @staticmethod
    def _params(table: _PrunedTable, cutoff: datetime) -> dict[str, Any]:
        params: dict[str, Any] = {"cutoff": cutoff}
        if table.open_statuses:
            params["open_statuses"] = list(table.open_statuses)
        return params

    async def _count(self, table: _PrunedTable, cutoff: datetime) -> int:
        query = sql.SQL(_COUNT_SQL).format(
            table=sql.Identifier(table.name),
            time_column=sql.Identifier(table.time_column),
            settled=table.settled_filter(),
        )
        with translating():
            async with self._pool.connection() as conn:
                cur = await conn.execute(query, self._params(table, cutoff))
                row = await cur.fetchone()
        return int(row["n"]) if row else 0

    async def _prune_table(self, table: _PrunedTable, cutoff: datetime) -> int:
        query = sql.SQL(_BATCH_SQL).format(
            table=sql.Identifier(table.name),
            key=sql.Identifier(table.key),
            time_column=sql.Identifier(table.time_column),
            settled=table.settled_filter(),
        )
        params = self._params(table, cutoff) | {"batch_size": self._batch_size}
        total = 0
        while True:
            with translating():
                async with self._pool.connection() as conn:
                    cur = await conn.execute(query, params)
                    batch = cur.rowcount
            total += batch
            if batch < self._batch_size:
                return total
            log.debug("retention batch done", table=table.name, rows=batch, so_far=total)
