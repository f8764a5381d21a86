"""The gauges read from the database at scrape time.

The queue, sync and cycle figures are one cheap statement, read on every
scrape. The data-quality findings run the whole report (every membership and
certificate), so they are read at most once per `findings_every` and the
last figures are shown in between. A scrape that finds no database (or none
that answers within `answer_within`, well inside Prometheus's 10 s scrape
timeout) sets `mentor_notify_metrics_database_up` to 0 and leaves the last
figures standing rather than failing the scrape: the process's own counters
still matter then.
"""

import asyncio
from datetime import datetime, timedelta
from typing import Any

import structlog

from mentor_notify.db import DatabaseError, Pool, translating
from mentor_notify.db.sql_files import load_sql
from mentor_notify.domain import Clock
from mentor_notify.domain.weeks import week_start
from mentor_notify.metrics.registry import DatabaseFigures, Metrics

log = structlog.get_logger(__name__)

_FIGURES = load_sql("mentor_notify.metrics", "figures")
_FINDINGS = load_sql("mentor_notify.metrics", "findings")
_SERVICE_CLAIMS = load_sql("mentor_notify.metrics", "service_claims")
# The report's issues, shown as 0 when absent so an alert sees the series.
ISSUES = (
    "mentor_without_coordinator",
    "large_renewal_history",
    "stale_device",
    "dead_push",
    "dead_sync_event",
)
# The queue's live statuses and dead, and every sync event status, shown as 0 when absent.
PUSH_STATUSES = ("pending", "in_flight", "dead")
SYNC_STATUSES = ("pending", "applied", "superseded", "dead")


class DatabaseGauges:
    """Sets a `Metrics`' database gauges from the database on `pool`."""

    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        *,
        findings_every: timedelta = timedelta(minutes=5),
        answer_within: float = 3.0,
    ) -> None:
        """Read on `pool`; the data-quality report at most once per `findings_every`
        of `clock` (the real clock); a database that has not answered after
        `answer_within` seconds counts as away for this scrape."""
        self._pool = pool
        self._answer_within = answer_within
        self._clock = clock
        self._findings_every = findings_every
        self._findings_at: datetime | None = None

    async def refresh(self, metrics: Metrics) -> None:
        """Read the figures and set the gauges (never raises for a missing database)."""
        if metrics.database is not None:
            await self._refresh(metrics.database)

    async def _refresh(self, metrics: DatabaseFigures) -> None:
        now = self._clock.now()
        try:
            async with asyncio.timeout(self._answer_within):
                rows = await self._read(_FIGURES, {"now": now, "week": week_start(now)})
                findings = None
                if self._findings_at is None or now - self._findings_at >= self._findings_every:
                    findings = await self._read(_FINDINGS, {}, as_service=True)
                    self._findings_at = now
        except (DatabaseError, TimeoutError) as exc:
            log.warning("metrics could not read the database", error=type(exc).__name__)
            metrics.database_up.set(0)
            return
        self._set(metrics, rows)
        if findings is not None:
            counts = {row["issue"]: row["value"] for row in findings}
            for issue in ISSUES:
                metrics.data_quality.labels(issue).set(counts.get(issue, 0.0))
        metrics.database_up.set(1)

    @staticmethod
    def _set(metrics: DatabaseFigures, rows: list[dict[str, Any]]) -> None:
        # Cleared first: an organisation deleted since the last scrape must go.
        metrics.cycle_last_success.clear()
        metrics.reregistrations_this_week.clear()
        by_metric: dict[str, dict[str, float]] = {}
        for row in rows:
            by_metric.setdefault(row["metric"], {})[row["label"]] = row["value"]
        notices = by_metric.get("push_notices", {})
        for status in PUSH_STATUSES:
            metrics.push_notices.labels(status).set(notices.get(status, 0.0))
        events = by_metric.get("sync_events", {})
        for status in SYNC_STATUSES:
            metrics.sync_events.labels(status).set(events.get(status, 0.0))
        metrics.push_due.set(by_metric.get("push_due", {}).get("", 0.0))
        metrics.oldest_due_age.set(by_metric.get("oldest_due_age", {}).get("", 0.0))
        for slug, value in by_metric.get("cycle_last_success", {}).items():
            metrics.cycle_last_success.labels(slug).set(value)
        for status, value in by_metric.get("reregistrations_this_week", {}).items():
            metrics.reregistrations_this_week.labels(status).set(value)

    async def _read(
        self, statement: str, params: dict[str, Any], *, as_service: bool = False
    ) -> list[dict[str, Any]]:
        with translating():
            async with self._pool.connection() as conn:
                if as_service:
                    await conn.execute(_SERVICE_CLAIMS)
                cursor = await conn.execute(statement, params)
                rows: list[dict[str, Any]] = await cursor.fetchall()
                return rows
