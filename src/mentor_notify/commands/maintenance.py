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
    notifications_older_than: Annotated[
        str | None,
        typer.Option(
            "--notifications-older-than",
            metavar="PERIOD",
            help="Also delete settled notifications (sent, failed, skipped) created before this "
            "(at least 90 days). Without it the inbox is kept: how long is the organisation's "
            "choice.",
        ),
    ] = None,
    pushes_older_than: Annotated[
        str,
        typer.Option(
            "--pushes-older-than",
            metavar="PERIOD",
            help="Delete pushes settled (sent, failed, dead, skipped, folded) longer ago than "
            "this, with their per-device deliveries, and the daily push budget's days older "
            "than this. At least 7 days.",
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
    (by delivered_at) past --older-than, settled pushes (push_notices by
    settled_at, their push_deliveries with them) and the push budget's days
    (push_budget_days by local_day) past --pushes-older-than, and, only when
    --notifications-older-than is given, settled notifications past it (by
    created_at, with their pushes). Scenario history is kept: milestones are
    once ever and cooldowns look back through it. Safe to run at any time and
    to run again.
    """
    from mentor_notify.db import DatabaseError, open_pool
    from mentor_notify.maintenance import RetentionPruner, parse_retention

    state = common.state(ctx)
    try:
        period = parse_retention(older_than)
    except DatabaseError as exc:
        raise typer.BadParameter(str(exc), param_hint="--older-than") from exc
    try:
        pushes = parse_retention(pushes_older_than, "push_notices")
        retention = {"push_notices": pushes, "push_budget_days": pushes}
    except DatabaseError as exc:
        raise typer.BadParameter(str(exc), param_hint="--pushes-older-than") from exc
    if notifications_older_than is not None:
        try:
            retention["notifications"] = parse_retention(notifications_older_than, "notifications")
        except DatabaseError as exc:
            raise typer.BadParameter(str(exc), param_hint="--notifications-older-than") from exc

    async def work(url: str) -> PruneResult:
        async with open_pool(url, state.settings) as pool:
            pruner = RetentionPruner(pool, batch_size=batch_size)
            return await pruner.prune(
                datetime.now(UTC), period, retention=retention, dry_run=dry_run
            )

    result = common.run_with_database(ctx, work)
    if as_json:
        common.print_json(result.model_dump(mode="json") | {"total": result.total})
        return
    verb = "would delete" if dry_run else "deleted"
    for table, rows in result.deleted.items():
        before = result.cutoffs[table]
        common.stdout().print(
            f"  {table}: {verb} {rows} (before {before:%Y-%m-%d %H:%M} UTC)", highlight=False
        )
