"""The scenarios' reaction to settled pushes: delivery status, cooldown release and
follow-up log, read from what the push queue settled (the push package writes none of
the scenarios' tables)."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from mentor_notify.db import Pool, translating
from mentor_notify.db.sql_files import load_sql

_PUSH_OUTCOMES = load_sql("mentor_notify.scenarios", "push_outcomes")


class ScenarioPushOutcomes:
    """Records on the scenario side what became of the pushes of scenario notices."""

    def __init__(self, pool: Pool) -> None:
        """Use `pool` for every call; each call is one statement."""
        self._pool = pool

    async def settled(self, notification_ids: Sequence[UUID], now: datetime) -> int:
        """React to the settled notifications `notification_ids` (any, scenario's or
        not); returns how many scenario notifications changed."""
        if not notification_ids:
            return 0
        return await self._record(list(notification_ids), catch_up=False, now=now)

    async def catch_up(self, now: datetime) -> int:
        """React to every settled push whose scenario notification is still pending (a
        dispatcher stopped between settling and reacting); returns how many changed."""
        return await self._record([], catch_up=True, now=now)

    async def _record(self, ids: list[UUID], *, catch_up: bool, now: datetime) -> int:
        params = {"ids": ids, "catch_up": catch_up, "now": now}
        with translating():
            async with self._pool.connection() as conn:
                row = await (await conn.execute(_PUSH_OUTCOMES, params)).fetchone()
        return int(row["changed"]) if row else 0
