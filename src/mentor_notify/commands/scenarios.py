"""`mentor-notify scenarios ...`: follow-up scenario rules and the engine."""

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from mentor_notify.commands import common
from mentor_notify.db import connect
from mentor_notify.scenarios.rule_repository import ListedRule, ScenarioRuleRepository

app = typer.Typer(help="Follow-up scenarios: inactivity, milestones, expiry, welcome back.")

OrganisationOption = Annotated[
    list[str] | None,
    typer.Option(
        "--organization",
        "-o",
        metavar="ID|SLUG",
        help="Only this organisation (id or slug); repeat for several. Default: all.",
    ),
]


@app.callback(no_args_is_help=True)
def _scenarios() -> None:
    """Follow-up scenarios: inactivity, milestones, expiry, welcome back."""


@app.command("rules")
def scenarios_rules(
    ctx: typer.Context,
    organization: OrganisationOption = None,
    as_json: common.JsonOption = False,
) -> None:
    """List the scenario rules: organisation defaults, then chapter rules.

    A chapter's rule for a scenario replaces its organisation's default there;
    a disabled chapter rule switches the scenario off for that chapter.
    """

    async def work(url: str) -> list[ListedRule]:
        conn = await connect(url)
        try:
            return await ScenarioRuleRepository(conn).list_rules(organization)
        finally:
            await conn.close()

    rules = common.run_with_database(ctx, work)
    if as_json:
        common.print_json([r.model_dump(mode="json") for r in rules])
        return
    table = Table(title="Scenario rules", title_justify="left")
    for column in ("organisation", "chapter", "scenario", "parameters", "cooldown", "on"):
        table.add_column(column)
    for rule in rules:
        table.add_row(
            rule.organization_slug,
            rule.chapter_name or "(default)",
            rule.scenario_type,
            " ".join(_parameter(v) for v in rule.parameters.values()),
            _duration(rule.cooldown),
            "yes" if rule.enabled else "no",
        )
    common.stdout.print(table)
    if not rules:
        common.stdout.print("No scenario rules yet.")


def _parameter(value: object) -> str:
    if isinstance(value, list):
        return "/".join(str(v) for v in value)
    return str(value)


def _duration(value: timedelta) -> str:
    if value % timedelta(days=1) == timedelta(0):
        return f"{value.days} d"
    if value % timedelta(hours=1) == timedelta(0):
        return f"{int(value.total_seconds() // 3600)} h"
    return str(value)
