"""The scenario engine: every active mentor against every enabled rule, in set-based SQL.

Once per run, one grouped pass totals every mentor's activity
(`mentor_activity`). Then for each scenario type, one transaction: resolve
each mentor's governing rule (`scenario_mentors`), find the hits with one
statement (`hits_<type>.sql`), and record them with one statement
(`deliver_hits.sql`): scenario notification, in-app notification and pushes.
No per-mentor round trips.

Cooldowns are the database's: each scenario notification carries its rule's
`cooldown_until`, and a trigger claims the person's cooldown for the scenario
in `scenario_cooldowns` with a conditional upsert (which locks that row, so a
concurrent writer waits and then sees the claim), dropping the notification
when an earlier cooldown has not ended. Milestones are unique per person,
organisation and value. So
concurrent or retried runs can never notify anyone twice inside a cooldown,
and a second run in the same window records nothing.
"""

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import structlog
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from pydantic import BaseModel, ConfigDict, Field

from mentor_notify.db import Pool, translating
from mentor_notify.db.sql_files import load_sql
from mentor_notify.domain import AsOf, Clock
from mentor_notify.domain.scenarios import ScenarioType
from mentor_notify.organisations import covered_organisations

log = structlog.get_logger(__name__)


_MENTORS = load_sql("mentor_notify.scenarios", "scenario_mentors")
_ACTIVITY = load_sql("mentor_notify.scenarios", "mentor_activity")
_DROP_ACTIVITY = load_sql("mentor_notify.scenarios", "drop_mentor_activity")
_ANALYZE_ACTIVITY = load_sql("mentor_notify.scenarios", "analyze_mentor_activity")
_ANALYZE_MENTORS = load_sql("mentor_notify.scenarios", "analyze_scenario_mentors")
_COUNT_ENABLED = load_sql("mentor_notify.scenarios", "count_enabled_mentors")
_ANALYZE_HITS = load_sql("mentor_notify.scenarios", "analyze_scenario_hits")
_DELIVER = load_sql("mentor_notify.scenarios", "deliver_hits")
_HITS = {t: load_sql("mentor_notify.scenarios", f"hits_{t.value}") for t in ScenarioType}
_NEEDS_ACTIVITY = {ScenarioType.INACTIVITY, ScenarioType.MILESTONE, ScenarioType.WELCOME_BACK}


class ScenarioOutcome(BaseModel):
    """What one scenario type's evaluation found and wrote."""

    model_config = ConfigDict(frozen=True)

    scenario_type: ScenarioType
    mentors_evaluated: int = Field(description="Mentors with an enabled rule for the scenario.")
    hits: int = Field(description="Mentors the scenario applied to.")
    recorded: int = Field(description="Scenario notifications written.")
    held_back: int = Field(
        description="Hits the database dropped: inside a cooldown, or a "
        "milestone already celebrated."
    )
    notifications_created: int
    notifications_by_organisation: dict[UUID, int] = Field(
        default_factory=dict, description="Notifications created, per organisation id."
    )
    pushes_queued: int
    duration_ms: float


class EngineResult(BaseModel):
    """One engine run."""

    model_config = ConfigDict(frozen=True)

    run_id: UUID
    as_of: datetime = Field(description="The business moment the run decided for.")
    dry_run: bool
    scenarios: list[ScenarioOutcome]

    def total(self, field: str) -> int:
        """Sum of an integer field over the scenarios."""
        return sum(int(getattr(s, field)) for s in self.scenarios)

    def notifications_for(self, organization_id: UUID) -> int:
        """Notifications created for one organisation, over the scenarios."""
        return sum(s.notifications_by_organisation.get(organization_id, 0) for s in self.scenarios)


class ScenarioEngine:
    """Evaluates scenario rules for every mentor and records the notifications due."""

    def __init__(self, pool: Pool, clock: Clock) -> None:
        """Use `pool` for connections and the real `clock` to stamp what is written."""
        self._pool = pool
        self._clock = clock

    async def run(
        self,
        *,
        as_of: AsOf | None = None,
        only: Sequence[ScenarioType] | None = None,
        organisations: Sequence[str] | None = None,
        dry_run: bool = False,
        run_id: UUID | None = None,
    ) -> EngineResult:
        """Evaluate every scenario (or `only` these) for every organisation (or those
        whose id or slug is in `organisations`), deciding as of `as_of` (by default
        the present moment). Rows are stamped and pushes made due on the real clock
        whatever `as_of` says. With `dry_run` everything runs and is rolled back;
        the counts say what would have been written. `run_id` (by default a new
        one) is on every log entry of the run. Raises `UnknownOrganisation` for an
        id or slug that matches no organisation, and `NoOrganisationVisible` when
        it could see no organisation at all."""
        run_id = run_id or uuid4()
        as_of = as_of or AsOf.current(self._clock)
        scenarios = list(only or ScenarioType)
        params: dict[str, Any] = {
            "as_of": as_of.instant,
            "today": as_of.day,
            "now": self._clock.now(),
            "organizations": list(organisations) if organisations else None,
        }
        outcomes = []
        with (
            structlog.contextvars.bound_contextvars(run_id=str(run_id), job="scenarios"),
            translating(),
        ):
            async with self._pool.connection() as conn:
                # Refuses an unknown organisation, and a run that could see none.
                await covered_organisations(conn, organisations)
                await conn.commit()
                if _NEEDS_ACTIVITY.intersection(scenarios):
                    await conn.execute(_DROP_ACTIVITY)
                    await conn.execute(_ACTIVITY, params)
                    await conn.execute(_ANALYZE_ACTIVITY)
                    await conn.commit()
                try:
                    for scenario in scenarios:
                        outcomes.append(await self._evaluate(conn, scenario, params, dry_run))
                finally:
                    await conn.execute(_DROP_ACTIVITY)
                    await conn.commit()
        return EngineResult(run_id=run_id, as_of=as_of.instant, dry_run=dry_run, scenarios=outcomes)

    async def _evaluate(
        self,
        conn: AsyncConnection[DictRow],
        scenario: ScenarioType,
        run_params: dict[str, Any],
        dry_run: bool,
    ) -> ScenarioOutcome:
        started = time.perf_counter()
        params = run_params | {"scenario_type": scenario.value}
        async with conn.transaction(force_rollback=dry_run):
            await conn.execute(_MENTORS, params)
            await conn.execute(_ANALYZE_MENTORS)
            cur = await conn.execute(_COUNT_ENABLED)
            evaluated = (await cur.fetchone() or {"n": 0})["n"]
            await conn.execute(_HITS[scenario], params)
            await conn.execute(_ANALYZE_HITS)
            counts = await (await conn.execute(_DELIVER, params)).fetchone()
        assert counts is not None  # the final SELECT always returns one row
        outcome = ScenarioOutcome(
            scenario_type=scenario,
            mentors_evaluated=evaluated,
            hits=counts["hits"],
            recorded=counts["recorded"],
            held_back=counts["hits"] - counts["recorded"],
            notifications_created=counts["notifications"],
            notifications_by_organisation=counts["by_organisation"],
            pushes_queued=counts["pushes"],
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        log.info(
            "scenario evaluated",
            scenario_type=scenario.value,
            mentors=evaluated,
            hits=outcome.hits,
            recorded=outcome.recorded,
            held_back=outcome.held_back,
            pushes=outcome.pushes_queued,
            dry_run=dry_run,
        )
        return outcome
