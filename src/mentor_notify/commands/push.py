"""`mentor-notify push ...`: push delivery housekeeping."""

import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

import typer
from rich.table import Table

from mentor_notify.commands import common
from mentor_notify.db import connect, open_pool
from mentor_notify.push import DeviceTokenRepository, StaleToken
from mentor_notify.push.outbox import DeadPush, Outbox

app = typer.Typer(help="Push delivery: device tokens, dead pushes.")


@app.callback(no_args_is_help=True)
def _push() -> None:
    """Push delivery: device tokens, dead pushes."""


@app.command("stale-tokens")
def push_stale_tokens(
    ctx: typer.Context,
    days: Annotated[
        int,
        typer.Option("--days", min=1, max=3650, help="Not refreshed for at least this many days."),
    ] = 30,
    as_json: common.JsonOption = False,
) -> None:
    """List device tokens the app has not refreshed for a while.

    The app registers its token at every launch, so a token left unrefreshed
    usually belongs to an app that was removed or a phone no longer used:
    pushes to it are likely lost (ticket 000's contingency). Lists ids, owners,
    platforms and dates; never the tokens themselves.
    """

    async def work(url: str) -> list[StaleToken]:
        conn = await connect(url)
        try:
            return await DeviceTokenRepository(conn).stale(timedelta(days=days), datetime.now(UTC))
        finally:
            await conn.close()

    stale = common.run_with_database(ctx, work)
    if as_json:
        common.print_json([t.model_dump(mode="json") for t in stale])
        return
    if not stale:
        common.stdout.print(f"No device token has gone {days} days without a refresh.")
        return
    table = Table(title=f"Device tokens not refreshed for {days} days", title_justify="left")
    for column in ("token id", "user", "platform", "provider", "last refreshed"):
        table.add_column(column)
    for token in stale:
        table.add_row(
            str(token.id),
            str(token.user_id),
            token.platform,
            token.provider,
            f"{token.last_refreshed_at:%Y-%m-%d}",
        )
    common.stdout.print(table)


@app.command("dead")
def push_dead(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="List at most this many.")] = 100,
    as_json: common.JsonOption = False,
) -> None:
    """List pushes whose retries are exhausted (newest first).

    Re-queue them with `mentor-notify push retry ID...` once the cause (for
    instance a push service outage) is over.
    """

    async def work(url: str) -> list[DeadPush]:
        async with open_pool(url, common.state(ctx).settings) as pool:
            return await Outbox(pool, _worker_name()).dead(limit)

    dead = common.run_with_database(ctx, work)
    if as_json:
        common.print_json([d.model_dump(mode="json") for d in dead])
        return
    if not dead:
        common.stdout.print("No dead pushes.")
        return
    table = Table(title="Dead pushes", title_justify="left")
    for column in ("push id", "recipient", "provider", "attempts", "last error", "queued"):
        table.add_column(column)
    for push in dead:
        table.add_row(
            str(push.id),
            str(push.recipient_id),
            push.provider,
            str(push.attempts),
            push.last_error or "",
            f"{push.created_at:%Y-%m-%d %H:%M}",
        )
    common.stdout.print(table)


@app.command("retry")
def push_retry(
    ctx: typer.Context,
    ids: Annotated[list[UUID], typer.Argument(metavar="ID...", help="Push ids (see push dead).")],
    as_json: common.JsonOption = False,
) -> None:
    """Queue dead or failed pushes again, due now, with their attempts reset."""

    async def work(url: str) -> list[UUID]:
        async with open_pool(url, common.state(ctx).settings) as pool:
            return await Outbox(pool, _worker_name()).retry(ids, datetime.now(UTC))

    requeued = common.run_with_database(ctx, work)
    missing = [i for i in ids if i not in set(requeued)]
    if as_json:
        common.print_json(
            {"requeued": [str(i) for i in requeued], "not_found": [str(i) for i in missing]}
        )
    else:
        common.stdout.print(f"Re-queued {len(requeued)} push(es).")
        for push_id in missing:
            common.stderr.print(f"not dead or failed, left alone: {push_id}", highlight=False)
    if missing:
        raise typer.Exit(1)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
