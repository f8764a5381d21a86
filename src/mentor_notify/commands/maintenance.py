"""`mentor-notify maintenance ...`: housekeeping jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from mentor_notify.commands import common

if TYPE_CHECKING:
    from mentor_notify.maintenance import PruneResult

app = typer.Typer(help="Housekeeping: retention of delivery records.", no_args_is_help=True)


@app.command("prune")
def maintenance_prune(
    ctx: typer.Context,
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            metavar="PERIOD",
            help="Delete records older than this: a number and d, w, mo or y (e.g. 400d, 1y). "
            "At least 90 days.",
        ),
    ] = "1y",
    pushes_older_than: Annotated[
        str,
        typer.Option(
            "--pushes-older-than",
            metavar="PERIOD",
            help="Delete pushes settled (sent, failed, dead, skipped) longer ago than this, "
            "with their deliveries. At least 7 days.",
        ),
    ] = "30d",
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", min=1, help="Rows deleted per transaction (short locks)."),
    ] = 5000,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")
    ] = False,
    as_json: common.JsonOption = False,
) -> None:
    """Delete delivery records past retention, in small batches.

    Prunes cert_notification_log (by sent_at) and follow_up_notification_log
    (by delivered_at), and settled pushes (push_notices by settled_at, their
    push_deliveries with them) after --pushes-older-than. Scenario history is
    kept: milestones are once ever and cooldowns look back through it. Safe to
    run at any time and to run again.
    """
    from mentor_notify.db import DatabaseError, open_pool
    from mentor_notify.maintenance import RetentionPruner, parse_push_retention, parse_retention

    state = common.state(ctx)
    try:
        period = parse_retention(older_than)
    except DatabaseError as exc:
        raise typer.BadParameter(str(exc), param_hint="--older-than") from exc
    try:
        push_period = parse_push_retention(pushes_older_than)
    except DatabaseError as exc:
        raise typer.BadParameter(str(exc), param_hint="--pushes-older-than") from exc

    async def work(url: str) -> PruneResult:
        async with open_pool(url, state.settings) as pool:
            pruner = RetentionPruner(pool, batch_size=batch_size)
            return await pruner.prune(
                datetime.now(UTC), period, pushes_older_than=push_period, dry_run=dry_run
            )

    result = common.run_with_database(ctx, work)
    if as_json:
        common.print_json(result.model_dump(mode="json") | {"total": result.total})
        return
    verb = "would delete" if dry_run else "deleted"
    common.stdout().print(f"Records before {result.cutoff:%Y-%m-%d %H:%M} UTC:", highlight=False)
    for table, rows in result.deleted.items():
        common.stdout().print(f"  {table}: {verb} {rows}", highlight=False)
    common.stdout().print(
        f"(push_notices: settled before {result.push_cutoff:%Y-%m-%d %H:%M} UTC)",
        highlight=False,
    )
