"""`mentor-notify scenarios ...`: follow-up scenario rules and the engine."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from mentor_notify.commands import common
from mentor_notify.domain import AsOf
from mentor_notify.domain.scenarios import ScenarioType

if TYPE_CHECKING:
    from mentor_notify.scenarios.engine import EngineResult
    from mentor_notify.scenarios.rule_repository import ListedRule

app = typer.Typer(help="Follow-up scenarios: inactivity, milestones, expiry, welcome back.")


@app.callback(no_args_is_help=True)
def _scenarios() -> None:
    """Follow-up scenarios: inactivity, milestones, expiry, welcome back."""


@app.command("run")
def scenarios_run(
    ctx: typer.Context,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            metavar="TIMESTAMP",
            help="Decide as of this instant (ISO 8601 with a UTC offset, e.g. "
            "2026-11-23T07:00:00+01:00). Default: the current time. Pushes are "
            "still made due, and rows stamped, in real time.",
        ),
    ] = None,
    allow_far_date: common.AllowFarDateOption = False,
    only: Annotated[
        list[ScenarioType] | None,
        typer.Option("--only", help="Only this scenario; repeat for several. Default: all four."),
    ] = None,
    organization: common.OrganisationOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be sent; write nothing.")
    ] = False,
    as_json: common.JsonOption = False,
) -> None:
    """Evaluate every active mentor against every enabled scenario rule.

    Inactivity, milestones, certification expiry and welcome back, each in one
    set-based statement. Each hit records a scenario notification, an in-app
    notification and a push per device. The database holds back anything inside
    its rule's cooldown (and milestones already celebrated), so running it again,
    or several copies at once, sends nothing twice.
    """
    from rich.table import Table

    from mentor_notify.composition import real_clock
    from mentor_notify.db import open_pool
    from mentor_notify.scenarios.engine import ScenarioEngine

    instant = common.parse_instant(now, allow_far_date=allow_far_date)
    as_of = None if instant is None else AsOf.at(instant)

    async def work(url: str) -> EngineResult:
        async with open_pool(url, common.state(ctx).settings) as pool:
            return await ScenarioEngine(pool, real_clock()).run(
                as_of=as_of, only=only, organisations=organization, dry_run=dry_run
            )

    result = common.run_with_database(ctx, work)
    if as_json:
        common.print_json(result.model_dump(mode="json"))
        return
    title = "Scenarios (dry run: nothing was written)" if result.dry_run else "Scenarios"
    table = Table(title=f"{title}, as of {result.as_of:%Y-%m-%d %H:%M %Z}", title_justify="left")
    for column in ("scenario", "mentors", "hits", "held back", "notified", "pushes"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for s in result.scenarios:
        table.add_row(
            s.scenario_type,
            str(s.mentors_evaluated),
            str(s.hits),
            str(s.held_back),
            str(s.notifications_created),
            str(s.pushes_queued),
        )
    common.stdout().print(table)


@app.command("rules")
def scenarios_rules(
    ctx: typer.Context,
    organization: common.OrganisationOption = None,
    as_json: common.JsonOption = False,
) -> None:
    """List the scenario rules: organisation defaults, then chapter rules.

    A chapter's rule for a scenario replaces its organisation's default there;
    a disabled chapter rule switches the scenario off for that chapter.
    """
    from rich.table import Table

    from mentor_notify.db import connect
    from mentor_notify.scenarios.rule_repository import ScenarioRuleRepository

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
    common.stdout().print(table)
    if not rules:
        common.stdout().print("No scenario rules yet.")


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
