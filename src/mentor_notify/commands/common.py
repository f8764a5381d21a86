"""Plumbing shared by every command: options, output, the database to use.

Commands get the shared state (settings, explicit database URL) from the
typer context, and run their async work through `run_with_database()`, which
picks the database (starting the embedded one if none is configured) and
turns the data layer's errors into a one-line message and exit status 1.

Importing it is cheap (every command module does, even for `--help`): the
settings, the database layer and rich are imported when first used.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from mentor_notify.domain import (
    BUSINESS_DATE_MAX_YEARS,
    FarBusinessDate,
    SystemClock,
    check_business_date,
)

if TYPE_CHECKING:
    from rich.console import Console

    from mentor_notify.config import Settings
    from mentor_notify.db import MigrationRunner, SupabaseLayout

T = TypeVar("T")
_Moment = TypeVar("_Moment", bound=date)


# Made on first use: rich's console is a tenth of a second to import, which
# `--help` should not pay.
@cache
def stdout() -> Console:
    """The console for results (stdout)."""
    from rich.console import Console

    return Console()


@cache
def stderr() -> Console:
    """The console for errors, warnings and progress (stderr)."""
    from rich.console import Console

    return Console(stderr=True)


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
    from mentor_notify.config import check_base_url

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


@dataclass
class CliState:
    """What the global options resolved to, shared by every command.

    The settings are read from the environment, and logging set up by them,
    when `state(ctx)` is first called by a command that runs: `--help` at any
    level never pays for that (nor fails on a bad setting).
    """

    database_url: str | None
    verbose: bool = False
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        """The settings from the environment (read on first use)."""
        return self.prepare()

    def prepare(self) -> Settings:
        """Read the settings and set up logging by them, once; a bad setting or a
        database URL that cannot be read ends the command with a one-line error (exit
        status 2), before anything slower is imported or tried."""
        if self._settings is None:
            # The URL given on the command line (or DATABASE_URL) first, before the
            # settings and logging are even imported.
            _check_database_url(self.database_url)
            self._settings = _load_settings(self.verbose)
            _check_database_url(self._settings.database_url)
        return self._settings


def terse_console(settings: Settings, verbose: bool) -> bool:
    """Whether log entries on a terminal are kept to warnings and errors: the progress and
    the results tell the story there, unless -v (`verbose`) or a log level set on
    purpose asks for more."""
    return not (verbose or "log_level" in settings.model_fields_set)


def _load_settings(verbose: bool) -> Settings:
    from pydantic import ValidationError
    from rich.markup import escape

    from mentor_notify.config import Settings
    from mentor_notify.logging import configure_logging

    try:
        settings = Settings()
    except ValidationError as exc:
        stderr().print(
            f"[red]error:[/red] invalid configuration: {escape(str(exc))}", highlight=False
        )
        raise typer.Exit(2) from exc
    # On a terminal the progress and the results tell the story: log entries there are
    # warnings and errors, unless -v or a log level set on purpose asks for more.
    configure_logging(
        settings.log_level,
        settings.log_format,
        terse_console=terse_console(settings, verbose),
        console=stderr(),
    )
    return settings


def _check_database_url(url: str | None) -> None:
    if url is None:
        return
    from mentor_notify.db import InvalidDatabaseUrl, check_database_url

    try:
        check_database_url(url)
    except InvalidDatabaseUrl as exc:
        fail(str(exc))
        raise typer.Exit(2) from exc


def state(ctx: typer.Context) -> CliState:
    """The global options of this invocation, with its settings read and logging set up
    (every command calls this before it works)."""
    result: CliState = ctx.obj
    result.prepare()
    return result


def fail(message: str) -> typer.Exit:
    """Print `error: message` on stderr and return the exit to raise (status 1)."""
    from rich.markup import escape

    stderr().print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def testing_extra_missing(what: str, exc: ImportError) -> typer.Exit:
    """The one-line error (exit status 1) for `what` when the `testing` extra, which
    holds the push emulator, is not installed."""
    return fail(
        f"{what} needs the `testing` extra ({exc.name or exc} is missing): "
        "uv sync --extra testing, or pip install 'mentor-notify[testing]'"
    )


def run_with_database(
    ctx: typer.Context,
    work: Callable[[str], Coroutine[Any, Any, T]],
    run: Callable[[Coroutine[Any, Any, T]], T] = asyncio.run,
) -> T:
    """Run `work(database_url)` on the configured (or embedded) database, its event
    loop started by `run`.

    Expected failures (any `DatabaseError`) end the command with a one-line
    message and exit status 1, never a stack trace (a database URL that cannot be
    read has been refused by `state` already).
    """
    from mentor_notify.db import DatabaseError, use_database

    current = state(ctx)
    try:
        with use_database(current.settings, current.database_url) as url:
            return run(work(url))
    except DatabaseError as exc:
        raise fail(str(exc)) from exc


def layout(ctx: typer.Context) -> SupabaseLayout:
    """The project's supabase/ folder, or a clean exit saying why it was not found."""
    from mentor_notify.db import DatabaseError, find_supabase_dir

    try:
        return find_supabase_dir(state(ctx).settings.supabase_dir)
    except DatabaseError as exc:
        raise fail(str(exc)) from exc


async def with_runner(
    url: str, supabase: SupabaseLayout, op: Callable[[MigrationRunner], Awaitable[T]]
) -> T:
    """Run `op` with a migration runner on a fresh connection to `url`."""
    from mentor_notify.db import MigrationRunner, connect

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
