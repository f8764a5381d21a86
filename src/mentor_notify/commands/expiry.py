"""`mentor-notify expiry ...`: the certificate-expiry job."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mentor_notify.commands import common
from mentor_notify.domain import Tier

if TYPE_CHECKING:
    from mentor_notify.expiry import OrganisationSweep, SweepResult

app = typer.Typer(help="Certificate expiry: warnings, lapse notices, directory visibility.")

_PLANNED_SHOWN = 20


@app.callback(no_args_is_help=True)
def _expiry() -> None:
    """Certificate expiry: warnings, lapse notices, directory visibility."""


@app.command("run")
def expiry_run(
    ctx: typer.Context,
    today: Annotated[
        str | None,
        typer.Option(
            "--today",
            metavar="YYYY-MM-DD",
            help="Run as if it were this date in every organisation (catch-up runs, "
            "rehearsals). Default: each organisation's own local date.",
        ),
    ] = None,
    allow_far_date: common.AllowFarDateOption = False,
    organization: common.OrganisationOption = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what would be sent; change nothing."),
    ] = False,
    parallel: Annotated[
        int | None,
        typer.Option(
            "--parallel",
            min=1,
            max=32,
            help="Slices of each organisation swept at once, on as many connections "
            "(about one per database server core). Copies of the job running at the "
            "same time must use the same value. Default: the sweep's own "
            "(mentor_notify.expiry.DEFAULT_PARTITIONS).",
        ),
    ] = None,
    as_json: common.JsonOption = False,
) -> None:
    """Run the daily expiry sweep over every certificate.

    For each certificate inside a warning window (the organisation's 90/60/30/7
    days) or lapsed, and not yet notified in that tier for its current expiry
    date: an in-app notification to the mentor and to their coordinator (the
    chapter admins when no coordinator is assigned), a log entry, and a push
    queued for each of their devices. Lapsed mentors are hidden in the mentor
    directory and renewed ones shown again. Exactly once: running it again, or
    several copies at once, sends nothing twice. Exit status 1 if any
    organisation or certificate failed.
    """
    from mentor_notify.commands.progress import progress_bars
    from mentor_notify.composition import expiry_job, real_clock
    from mentor_notify.db import open_pool
    from mentor_notify.expiry import DEFAULT_PARTITIONS

    # Resolved here rather than as the option's default, which would import the
    # sweep (and the database driver) for every `--help`.
    partitions = parallel or DEFAULT_PARTITIONS
    day = common.parse_date(today, allow_far_date=allow_far_date)
    only = organization or None
    show_progress = not as_json and common.stderr().is_terminal

    settings = common.state(ctx).settings
    settings = settings.model_copy(
        update={"pool_max_size": max(settings.pool_max_size, partitions)}
    )

    async def work(url: str) -> SweepResult:
        async with open_pool(url, settings) as pool:
            clock = real_clock()
            if not show_progress:
                return await expiry_job(pool, clock, partitions=partitions).run(
                    today=day, organisations=only, dry_run=dry_run
                )
            with progress_bars() as progress:
                total = len(await expiry_job(pool, clock).organisations(only))
                task = progress.add_task("expiry sweep", total=total)

                def advance(result: OrganisationSweep) -> None:
                    progress.update(task, advance=1, description=result.slug)

                sweep = expiry_job(pool, clock, on_progress=advance, partitions=partitions)
                return await sweep.run(today=day, organisations=only, dry_run=dry_run)

    result = common.run_with_database(ctx, work)
    if as_json:
        common.print_json(result.model_dump(mode="json") | {"ok": result.ok})
    else:
        _print_result(result)
    if not result.ok:
        raise typer.Exit(1)


def _print_result(result: SweepResult) -> None:
    from rich.table import Table

    title = "Expiry sweep (dry run: nothing was written)" if result.dry_run else "Expiry sweep"
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for org in result.organisations:
        table.add_column(org.slug, justify="right")

    def row(label: str, values: list[str], style: str | None = None) -> None:
        table.add_row(label, *values, style=style)

    orgs = result.organisations
    row("local date", [o.today.isoformat() for o in orgs])
    row("certificates due", [str(o.certificates_due) for o in orgs], style="bold")
    for tier in Tier:
        row(f"  {tier.value}", [str(o.due_by_tier.get(tier.value, 0)) for o in orgs])
    verb = "would be " if result.dry_run else ""
    row(f"notifications {verb}created", [str(o.notifications_created) for o in orgs])
    row(f"pushes {verb}queued", [str(o.pushes_queued) for o in orgs])
    row(f"mentors {verb}hidden (lapsed)", [str(o.mentors_suppressed) for o in orgs])
    row(f"mentors {verb}listed again", [str(o.mentors_restored) for o in orgs])
    row("no coordinator assigned", [str(len(o.missing_coordinator)) for o in orgs])
    row("renewal history > 500", [str(len(o.large_renewal_histories)) for o in orgs])
    row("failed", [str(len(o.failed)) + (" + error" if o.error else "") for o in orgs])
    common.stdout().print(table)
    for org in orgs:
        _print_details(org, result.dry_run)


def _print_details(org: OrganisationSweep, dry_run: bool) -> None:
    if org.error:
        common.stderr().print(f"[red]{org.slug}: failed:[/red] {org.error}", highlight=False)
    for failed in org.failed:
        common.stderr().print(
            f"[red]{org.slug}:[/red] certificate {failed.certification_id} "
            f"({failed.certificate_type}, {failed.tier}): {failed.reason}",
            highlight=False,
        )
    for finding in org.missing_coordinator:
        common.stdout().print(
            f"{org.slug}: mentor {finding.mentor_id} has no coordinator assigned "
            f"(told {finding.fallback_recipients} chapter admin(s) instead)",
            highlight=False,
            soft_wrap=True,
        )
    if dry_run and org.planned:
        common.stdout().print(f"{org.slug}: would send", highlight=False)
        for notice in org.planned[:_PLANNED_SHOWN]:
            common.stdout().print(
                f"  {notice.tier:<19} certificate {notice.certification_id} "
                f"-> {notice.audience} {notice.recipient_id}",
                highlight=False,
                soft_wrap=True,
            )
        if len(org.planned) > _PLANNED_SHOWN:
            common.stdout().print(
                f"  ... and {len(org.planned) - _PLANNED_SHOWN} more (--json lists all)",
                highlight=False,
            )
