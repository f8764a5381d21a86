"""Scenario rules in the database: the CHECK agrees with Python; the repository saves
(replacing per scope) and lists; the CLI shows them."""

import json
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from typer.testing import CliRunner

from mentor_notify.cli import app
from mentor_notify.scenarios.rule_repository import ScenarioRuleRepository
from mentor_notify.scenarios.rules import RuleValidationError, ScenarioRule
from tests.scenario_rule_examples import BAD, GOOD
from tests.support import fetch_value

Conn = AsyncConnection[DictRow]


@pytest.mark.parametrize(
    ("scenario", "parameters", "messages", "good"),
    [(s, p, m, True) for s, p, m in GOOD] + [(s, p, m, False) for s, p, m, _ in BAD],
)
async def test_the_database_judges_rules_as_python_does(
    conn: Conn, scenario: str, parameters: dict[str, Any], messages: dict[str, str], good: bool
) -> None:
    problem = await fetch_value(
        conn,
        "select private.scenario_rule_problem(%s, %s, %s)",
        scenario,
        Jsonb(parameters),
        Jsonb(messages),
    )

    assert (problem is None) == good, problem


async def organisation(conn: Conn, slug: str) -> Any:
    org = uuid4()
    await conn.execute(
        "insert into public.organizations (id, slug, name, certificate_type) "
        "values (%s, %s, 'Test', 'hlf_peer_mentor')",
        [org, slug],
    )
    return org


async def test_save_validates_replaces_per_scope_and_lists(conn: Conn) -> None:
    repo = ScenarioRuleRepository(conn)
    org = await organisation(conn, f"rules-{uuid4().hex[:8]}")
    rule = ScenarioRule(
        organization_id=org,
        scenario_type="inactivity",
        parameters={"inactivity_days": 45},
        cooldown=timedelta(days=14),
        messages={"nb": "scenario.inactivity", "en": "scenario.inactivity"},
    )

    first = await repo.save(rule)
    again = await repo.save(rule.model_copy(update={"parameters": {"inactivity_days": 60}}))
    with pytest.raises(RuleValidationError, match=r"parameters\.inactivity_days"):
        await repo.save(rule.model_copy(update={"parameters": {"inactivity_days": 0}}))
    (listed,) = [r for r in await repo.list_rules() if r.organization_id == org]

    assert first == again
    assert listed.parameters == {"inactivity_days": 60}
    assert listed.chapter_name is None


def test_cli_lists_rules_as_json(own_database_url: str) -> None:
    runner = CliRunner()
    runner.invoke(app, ["--database-url", own_database_url, "demo"])

    result = runner.invoke(
        app, ["--database-url", own_database_url, "scenarios", "rules", "--json", "-o", "hlf"]
    )

    assert result.exit_code == 0, result.output
    rules = json.loads(result.stdout)
    assert {r["scenario_type"] for r in rules} == {
        "inactivity",
        "milestone",
        "certification_expiry",
        "welcome_back",
    }
    assert all(r["organization_slug"] == "hlf" for r in rules)
