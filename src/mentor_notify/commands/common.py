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
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from mentor_notify.config import Settings, check_base_url
from mentor_notify.db import (
    DatabaseError,
    MigrationRunner,
    SupabaseLayout,
    connect,
    find_supabase_dir,
    use_database,
)
from mentor_notify.domain import (
    BUSINESS_DATE_MAX_YEARS,
    FarBusinessDate,
    SystemClock,
    check_business_date,
)

T = TypeVar("T")
_Moment = TypeVar("_Moment", bound=date)

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


def _emulator_url(url: str | None) -> str | None:
    # Checked while the options are parsed, so every command with --emulator
    # refuses a bad URL the same way, before it opens a database or a socket.
    if url is None:
        return None
    try:
        return check_base_url(url)
    except ValueError as exc:
        raise fail(f"--emulator: {exc}") from None


EmulatorOption = Annotated[
    str | None,
    typer.Option(
        "--emulator",
        metavar="URL",
        callback=_emulator_url,
        help="Send pushes to a `push emulator` at URL (e.g. http://127.0.0.1:8787) with "
        "throwaway credentials, instead of FCM and APNs.",
    ),
]

AllowFarDateOption = Annotated[
    bool,
    typer.Option(
        "--allow-far-date",
        help=f"Accept a date more than {BUSINESS_DATE_MAX_YEARS} years from today "
        "(refused by default as a likely typo).",
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


def testing_extra_missing(what: str, exc: ImportError) -> typer.Exit:
    """The one-line error (exit status 1) for `what` when the `testing` extra, which
    holds the push emulator, is not installed."""
    return fail(
        f"{what} needs the `testing` extra ({exc.name or exc} is missing): "
        "uv sync --extra testing, or pip install 'mentor-notify[testing]'"
    )


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


def parse_date(
    text: str | None, option: str = "--today", *, allow_far_date: bool = False
) -> date | None:
    """A date option's value (`--today`, `--date`) as a date, None when not given.

    Not a date: a usage error naming the option. More than
    `BUSINESS_DATE_MAX_YEARS` from the real today: a one-line error, unless
    `allow_far_date` (the operator's `--allow-far-date`).
    """
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-23",
            param_hint=option,
        ) from exc
    return _near(day, option, allow_far_date)


def parse_instant(
    text: str | None, option: str = "--now", *, allow_far_date: bool = False
) -> datetime | None:
    """An instant option's value (`--now`: ISO 8601 with a UTC offset), None when not given.

    Not such an instant: a usage error naming the option. Further than
    `BUSINESS_DATE_MAX_YEARS` from the real today: a one-line error, unless
    `allow_far_date`.
    """
    if text is None:
        return None
    try:
        instant: datetime | None = datetime.fromisoformat(text)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise typer.BadParameter(
            f"{text!r} is not an instant with a UTC offset; write e.g. 2026-11-23T07:00:00+01:00",
            param_hint=option,
        )
    return _near(instant, option, allow_far_date)


def _near(moment: _Moment, option: str, allow_far_date: bool) -> _Moment:
    # An unreadable date is a usage error (exit 2, above); a readable one far
    # from today is refused like other input the command will not act on
    # (exit 1, one line), saying how to insist.
    if allow_far_date:
        return moment
    try:
        return check_business_date(moment, SystemClock())
    except FarBusinessDate as exc:
        raise fail(f"{option} {exc}, or add --allow-far-date if you mean it") from exc
