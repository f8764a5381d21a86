"""`ScenarioNotificationRepository` (ticket 003): the scenario engine's memory.

Every lookup has a batch form answering for many people in one statement, so
an engine cycle never queries per person. Every database error comes out as
`ScenarioRepositoryError`, naming the operation and, through the data layer's
translation, the table, column and rule; the original is its `__cause__`.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from pydantic import ValidationError

from mentor_notify.db import DatabaseError, translating
from mentor_notify.db.sql_files import load_sql
from mentor_notify.domain.problems import problem_path
from mentor_notify.domain.scenarios import ScenarioType
from mentor_notify.privacy import PersonalDataError, ensure_no_personal_data
from mentor_notify.scenarios.models import (
    NewScenarioNotification,
    ScenarioNotification,
)

_INSERT = load_sql("mentor_notify.scenarios", "insert_notification")
_LAST_SENT_MANY = load_sql("mentor_notify.scenarios", "last_sent_many")
_MILESTONES_MANY = load_sql("mentor_notify.scenarios", "milestones_many")


class ScenarioRepositoryError(DatabaseError):
    """A scenario repository operation failed; the message says which and why."""

    def __init__(self, operation: str, cause: DatabaseError | PersonalDataError) -> None:
        message = cause.message if isinstance(cause, DatabaseError) else str(cause)
        super().__init__(
            f"{operation}: {message}",
            sqlstate=getattr(cause, "sqlstate", None),
            table=getattr(cause, "table", None),
            columns=getattr(cause, "columns", ()),
            constraint=getattr(cause, "constraint", None),
            rule=getattr(cause, "rule", None),
        )
        self.operation = operation


class CooldownActive(ScenarioRepositoryError):
    """The notification falls inside the cooldown of an earlier one; nothing was written."""


def _stored(operation: str, row: DictRow) -> ScenarioNotification:
    """A stored row as the model; a row the model cannot read is this layer's error."""
    try:
        return ScenarioNotification.model_validate(row)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = problem_path(problem, "")
        raise ScenarioRepositoryError(
            operation,
            DatabaseError(
                f"a stored scenario notification could not be read ({where}: "
                f"{problem['msg']}); the code and the schema disagree"
            ),
        ) from exc


class ScenarioNotificationRepository:
    """Reads and writes `scenario_notifications` through one connection."""

    def __init__(self, conn: AsyncConnection[DictRow]) -> None:
        """Use `conn` for every call; each call runs in its own transaction (or a
        savepoint inside the caller's), so a failed call leaves the connection usable."""
        self._conn = conn

    @asynccontextmanager
    async def _operation(self, name: str) -> AsyncIterator[AsyncConnection[DictRow]]:
        try:
            with translating():
                async with self._conn.transaction():
                    yield self._conn
        except DatabaseError as exc:
            raise ScenarioRepositoryError(name, exc) from exc

    async def insert_notification(
        self, notification: NewScenarioNotification
    ) -> ScenarioNotification:
        """Record a scenario notification; return it as stored (id, time).

        Raises `CooldownActive` when the database drops it for falling inside
        an earlier notification's cooldown.
        """
        try:
            ensure_no_personal_data(notification.metadata, "metadata")
        except PersonalDataError as exc:
            raise ScenarioRepositoryError("insert_notification", exc) from exc
        params = notification.model_dump()
        params["metadata"] = None if notification.metadata is None else Jsonb(notification.metadata)
        async with self._operation("insert_notification") as conn:
            row = await (await conn.execute(_INSERT, params)).fetchone()
        if row is None:
            raise CooldownActive(
                "insert_notification",
                DatabaseError(
                    f"{notification.scenario_type} for this person is still cooling down "
                    "from an earlier notification; nothing was written"
                ),
            )
        return _stored("insert_notification", row)

    async def get_last_sent_at(self, user_id: UUID, scenario_type: ScenarioType) -> datetime | None:
        """When this scenario last reached the person (not counting failed
        deliveries), or None when it never has."""
        return (await self.get_last_sent_at_many([user_id], scenario_type))[user_id]

    async def get_last_sent_at_many(
        self, user_ids: Sequence[UUID], scenario_type: ScenarioType
    ) -> dict[UUID, datetime | None]:
        """`get_last_sent_at` for many people in one query."""
        async with self._operation("get_last_sent_at") as conn:
            cur = await conn.execute(
                _LAST_SENT_MANY,
                {"user_ids": list(dict.fromkeys(user_ids)), "scenario_type": scenario_type},
            )
            rows = await cur.fetchall()
        return {row["user_id"]: row["last_sent_at"] for row in rows}

    async def has_been_sent_since_threshold(
        self, user_id: UUID, scenario_type: ScenarioType, cutoff: datetime
    ) -> bool:
        """True when the scenario reached the person at or after `cutoff`."""
        sent = await self.have_been_sent_since_threshold([user_id], scenario_type, cutoff)
        return user_id in sent

    async def have_been_sent_since_threshold(
        self, user_ids: Sequence[UUID], scenario_type: ScenarioType, cutoff: datetime
    ) -> set[UUID]:
        """Of `user_ids`, those the scenario reached at or after `cutoff` (one query)."""
        if cutoff.tzinfo is None:
            raise ValueError("cutoff must be timezone-aware")
        last = await self.get_last_sent_at_many(user_ids, scenario_type)
        return {user for user, at in last.items() if at is not None and at >= cutoff}

    async def get_milestone_record(
        self, user_id: UUID, milestone_value: int
    ) -> ScenarioNotification | None:
        """The person's notification for this milestone, or None if never sent."""
        return (await self.get_milestone_records_many([user_id], milestone_value)).get(user_id)

    async def get_milestone_records_many(
        self, user_ids: Sequence[UUID], milestone_value: int
    ) -> dict[UUID, ScenarioNotification]:
        """Milestone records of many people in one query; people without one are absent."""
        async with self._operation("get_milestone_record") as conn:
            cur = await conn.execute(
                _MILESTONES_MANY,
                {"user_ids": list(dict.fromkeys(user_ids)), "milestone_value": milestone_value},
            )
            rows = await cur.fetchall()
        return {row["user_id"]: _stored("get_milestone_record", row) for row in rows}
