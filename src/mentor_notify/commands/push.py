"""`mentor-notify push ...`: push delivery housekeeping."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from mentor_notify.commands import common
from mentor_notify.db import connect
from mentor_notify.push import DeviceTokenRepository, StaleToken

app = typer.Typer(help="Push delivery: device tokens.")


@app.callback(no_args_is_help=True)
def _push() -> None:
    """Push delivery: device tokens."""


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
