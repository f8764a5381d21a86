"""`ScenarioRuleRepository`: reading and writing scenario rules, validated on the way in."""

from collections.abc import Sequence
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from mentor_notify.db import translating
from mentor_notify.db.sql_files import load_sql
from mentor_notify.organisations import covered_organisations
from mentor_notify.scenarios.rules import ScenarioRule, validate_rule

_LIST = load_sql("mentor_notify.scenarios", "list_rules")
_SAVE = load_sql("mentor_notify.scenarios", "save_rule")


class ListedRule(ScenarioRule):
    """A stored rule with the names a person reads it by."""

    organization_slug: str
    chapter_name: str | None = None


class ScenarioRuleRepository:
    """Scenario rules through one connection."""

    def __init__(self, conn: AsyncConnection[DictRow]) -> None:
        """Use `conn` for every call."""
        self._conn = conn

    async def list_rules(self, organisations: Sequence[str] | None = None) -> list[ListedRule]:
        """Every rule (or those of the given organisation ids or slugs), defaults first.

        An id or slug that matches no organisation raises `UnknownOrganisation`
        (an empty list would read as "no rules there").
        """
        if organisations:
            await covered_organisations(self._conn, organisations)
        with translating():
            cur = await self._conn.execute(
                _LIST, {"only": list(organisations) if organisations else None}
            )
            rows = await cur.fetchall()
        return [ListedRule.model_validate(row) for row in rows]

    async def save(self, rule: ScenarioRule) -> UUID:
        """Validate and store the rule of its scope and scenario (replacing any); return its id."""
        checked = validate_rule(
            organization_id=rule.organization_id,
            chapter_id=rule.chapter_id,
            scenario_type=rule.scenario_type,
            parameters=rule.parameters,
            cooldown=rule.cooldown,
            messages=rule.messages,
            enabled=rule.enabled,
        )
        params = checked.model_dump()
        params["parameters"] = Jsonb(checked.parameters)
        params["messages"] = Jsonb(checked.messages)
        with translating():
            async with self._conn.transaction():
                row = await (await self._conn.execute(_SAVE, params)).fetchone()
        assert row is not None  # INSERT ... ON CONFLICT DO UPDATE always returns the row
        rule_id: UUID = row["id"]
        return rule_id
