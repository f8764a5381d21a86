"""`mentor-notify daily`: the whole daily cycle."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mentor_notify.commands import common
from mentor_notify.domain import AsOf

if TYPE_CHECKING:
    from mentor_notify.daily import DailyResult


def daily(
    ctx: typer.Context,
    today: Annotated[
        str | None,
        typer.Option(
            "--today",
            metavar="DATE",
            help="Decide as if it were this date (YYYY-MM-DD) in every organisation; "
            "pushes still go out, and are stamped, in real time.",
        ),
    ] = None,
    allow_far_date: common.AllowFarDateOption = False,
    emulator: common.EmulatorOption = None,
    as_json: common.JsonOption = False,
) -> None:
    """Run the daily cycle: expiry sweep (with the directory), scenarios, delivery.

    Each step runs even if an earlier one failed; exit status 1 when any did
    (or an organisation or certificate failed in the sweep), or when no
    organisation can be seen at all. Running it again
    the same day sends nothing new. Without push credentials (and without
    --emulator) the pushes stay queued for `push dispatch`.
    """
    from mentor_notify.commands.progress import StepProgress
    from mentor_notify.composition import open_runtime
    from mentor_notify.config import ConfigurationError
    from mentor_notify.organisations import covered_organisations

    day = common.parse_date(today, allow_far_date=allow_far_date)
    settings = common.state(ctx).settings
    as_of = None if day is None else AsOf.on(day)

    async def work(url: str) -> DailyResult:
        async with open_runtime(url, settings, "daily", emulator=emulator) as runtime:
            # Checked before the cycle, whose steps each catch their own failure:
            # a cycle that can see no organisation is one error, said once.
            async with runtime.pool.connection() as conn:
                await covered_organisations(conn)
            dispatcher = runtime.dispatcher_if_configured()
            with StepProgress(quiet=as_json) as progress:
                return await runtime.daily_cycle(dispatcher, progress).run(as_of)

    try:
        result = common.run_with_database(ctx, work)
    except ConfigurationError as exc:
        raise common.fail(str(exc)) from exc
    if as_json:
        common.print_json(result.model_dump(mode="json") | {"ok": result.ok})
    else:
        print_cycle(result)
    if not result.ok:
        raise typer.Exit(1)


def print_cycle(result: DailyResult, title: str = "Daily cycle") -> None:
    """The summary table: per organisation, what the cycle created and delivered."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    columns = (
        "organisation",
        "expiry notices",
        "follow-ups",
        "pushes sent",
        "pushes failed",
        "mentors hidden",
        "shown again",
        "data warnings",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "organisation" else "right")
    pushes = result.dispatch.by_organisation if result.dispatch else {}
    for org in result.expiry.organisations if result.expiry else []:
        tally = pushes.get(org.organization_id)
        table.add_row(
            org.slug,
            str(org.notifications_created),
            str(result.scenarios.notifications_for(org.organization_id))
            if result.scenarios
            else "-",
            str(tally.sent if tally else 0) if result.dispatch else "-",
            str(tally.failed if tally else 0) if result.dispatch else "-",
            str(org.mentors_suppressed),
            str(org.mentors_restored),
            str(len(org.missing_coordinator) + len(org.large_renewal_histories)),
            style="red" if org.error or org.failed else None,
        )
    common.stdout().print(table)
    common.stdout().print(
        "data warnings: mentors without a coordinator (their chapter admins were told) "
        "and certificates with an unusually long renewal history.",
        style="dim",
        highlight=False,
    )
    if result.dispatch is not None:
        d = result.dispatch
        common.stdout().print(
            f"pushes: {d.sent} sent, {d.failed} failed, {d.dead} dead, {d.retrying} to retry, "
            f"{d.held} held for the send window, {d.skipped} skipped (opted out)",
            highlight=False,
        )
    else:
        common.stdout().print(
            "pushes: not sent (no push service configured; they stay queued)", highlight=False
        )
    for name in result.failed_steps:
        common.stderr().print(f"error: the {name} step failed (see the log)", highlight=False)
