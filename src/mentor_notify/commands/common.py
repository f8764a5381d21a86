"""Plumbing shared by every command: options, output, the database to use.

Commands get the shared state (settings, explicit database URL) from the
typer context, and run their async work through `run_with_database()`, which
picks the database (starting the embedded one if none is configured) and
turns the data layer's errors into a one-line message and exit status 1.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from mentor_notify.config import Settings
from mentor_notify.db import (
    DatabaseError,
    MigrationRunner,
    SupabaseLayout,
    connect,
    find_supabase_dir,
    use_database,
)

T = TypeVar("T")

stdout = Console()
stderr = Console(stderr=True)

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the result as JSON on stdout, for scripts.")
]

OrganisationOption = Annotated[
    list[str] | None,
    typer.Option(
        "--organization",
        "-o",
        metavar="ID|SLUG",
        help="Only this organisation (id or slug); repeat for several. Default: all.",
    ),
]

EmulatorOption = Annotated[
    str | None,
    typer.Option(
        "--emulator",
        metavar="URL",
        help="Send pushes to a `push emulator` at URL (e.g. http://127.0.0.1:8787) with "
        "throwaway credentials, instead of FCM and APNs.",
    ),
]


@dataclass(frozen=True)
class CliState:
    """What the global options resolved to, shared by every command."""

    settings: Settings
    database_url: str | None


def state(ctx: typer.Context) -> CliState:
    """The global options of this invocation."""
    result: CliState = ctx.obj
    return result


def fail(message: str) -> typer.Exit:
    """Print `error: message` on stderr and return the exit to raise (status 1)."""
    stderr.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def run_with_database(ctx: typer.Context, work: Callable[[str], Coroutine[Any, Any, T]]) -> T:
    """Run `work(database_url)` on the configured (or embedded) database.

    Expected failures (any `DatabaseError`) end the command with a one-line
    message and exit status 1, never a stack trace.
    """
    current = state(ctx)
    try:
        with use_database(current.settings, current.database_url) as url:
            return asyncio.run(work(url))
    except DatabaseError as exc:
        raise fail(str(exc)) from exc


def layout(ctx: typer.Context) -> SupabaseLayout:
    """The project's supabase/ folder, or a clean exit saying why it was not found."""
    try:
        return find_supabase_dir(state(ctx).settings.supabase_dir)
    except DatabaseError as exc:
        raise fail(str(exc)) from exc


async def with_runner(
    url: str, supabase: SupabaseLayout, op: Callable[[MigrationRunner], Awaitable[T]]
) -> T:
    """Run `op` with a migration runner on a fresh connection to `url`."""
    conn = await connect(url)
    try:
        return await op(MigrationRunner(conn, supabase))
    finally:
        await conn.close()


def print_json(value: Any) -> None:
    """Print `value` as indented JSON on stdout."""
    typer.echo(json.dumps(value, indent=2))


def parse_date(text: str | None) -> date | None:
    """A --today option's value as a date (None when not given); a clear error if it is not one."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-23",
            param_hint="--today",
        ) from exc
