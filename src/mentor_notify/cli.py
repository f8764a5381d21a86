"""The `mentor-notify` command line.

Commands get the shared state (settings, explicit database URL) from the
typer context, and run their async work through `run_with_database()`, which
picks the database (starting the embedded one if none is configured) and
turns the data layer's errors into a one-line message and exit status 1.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mentor_notify.config import Settings
from mentor_notify.db import (
    DatabaseError,
    Migration,
    MigrationRunner,
    SupabaseLayout,
    connect,
    find_supabase_dir,
    open_pool,
    use_database,
)
from mentor_notify.demo import OrganisationSummary, load_seed, summarize
from mentor_notify.logging import configure_logging
from mentor_notify.maintenance import PruneResult, RetentionPruner, parse_retention

T = TypeVar("T")

app = typer.Typer(
    name="mentor-notify",
    help="Notification engine for peer-mentor programmes (certification expiry, "
    "follow-ups, push delivery) on Supabase or plain PostgreSQL.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
db_app = typer.Typer(
    help="Manage the database schema: apply, undo and list the migrations in supabase/.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
maintenance_app = typer.Typer(
    help="Housekeeping: retention of delivery records.", no_args_is_help=True
)
app.add_typer(maintenance_app, name="maintenance")

stdout = Console()
stderr = Console(stderr=True)

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the result as JSON on stdout, for scripts.")
]


@dataclass(frozen=True)
class CliState:
    """What the global options resolved to, shared by every command."""

    settings: Settings
    database_url: str | None


@app.callback()
def main(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="DATABASE_URL",
            show_envvar=True,
            help="PostgreSQL URL to use, e.g. a Supabase project's connection string. "
            "Without it an embedded PostgreSQL is started in the per-user data directory "
            "(MENTOR_NOTIFY_DATA_DIR).",
        ),
    ] = None,
) -> None:
    """Notification engine for peer-mentor programmes."""
    try:
        settings = Settings()
    except ValidationError as exc:
        stderr.print(
            f"[red]error:[/red] invalid configuration: {escape(str(exc))}", highlight=False
        )
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, settings.log_format)
    ctx.obj = CliState(settings=settings, database_url=database_url)


def fail(message: str) -> typer.Exit:
    """Print `error: message` on stderr and return the exit to raise (status 1)."""
    stderr.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def run_with_database(ctx: typer.Context, work: Callable[[str], Coroutine[Any, Any, T]]) -> T:
    """Run `work(database_url)` on the configured (or embedded) database.

    Expected failures (any `DatabaseError`) end the command with a one-line
    message and exit status 1, never a stack trace.
    """
    state: CliState = ctx.obj
    try:
        with use_database(state.settings, state.database_url) as url:
            return asyncio.run(work(url))
    except DatabaseError as exc:
        raise fail(str(exc)) from exc


def _layout(ctx: typer.Context) -> SupabaseLayout:
    state: CliState = ctx.obj
    try:
        return find_supabase_dir(state.settings.supabase_dir)
    except DatabaseError as exc:
        raise fail(str(exc)) from exc


async def _with_runner(
    url: str, layout: SupabaseLayout, op: Callable[[MigrationRunner], Awaitable[T]]
) -> T:
    conn = await connect(url)
    try:
        return await op(MigrationRunner(conn, layout))
    finally:
        await conn.close()


def _describe(migrations: list[Migration]) -> list[dict[str, str]]:
    return [{"version": m.version, "name": m.name} for m in migrations]


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


@db_app.command("migrate")
def db_migrate(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Apply every pending migration, oldest first, each in its own transaction.

    On plain PostgreSQL the local Supabase bootstrap (roles, auth schema,
    grants) is applied first when missing; never on a real Supabase database.
    Running it again when nothing is pending changes nothing.
    """
    layout = _layout(ctx)
    result = run_with_database(ctx, lambda url: _with_runner(url, layout, MigrationRunner.migrate))
    if as_json:
        _print_json({"bootstrapped": result.bootstrapped, "applied": _describe(result.applied)})
        return
    if result.bootstrapped:
        stdout.print("Applied the local Supabase bootstrap.")
    if not result.applied:
        stdout.print("Database is up to date: no pending migrations.")
        return
    stdout.print(f"Applied {len(result.applied)} migration(s):")
    for migration in result.applied:
        stdout.print(f"  {migration.version}  {migration.name}", highlight=False)


@db_app.command("rollback")
def db_rollback(
    ctx: typer.Context,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="VERSION",
            help="Undo every migration newer than VERSION; VERSION itself stays applied.",
        ),
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Undo every applied migration.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Undo applied migrations, newest first, using supabase/rollbacks/.

    Without --to or --all only the newest applied migration is undone.
    """
    if to is not None and everything:
        raise typer.BadParameter("give either --to VERSION or --all, not both")
    layout = _layout(ctx)
    undone = run_with_database(
        ctx,
        lambda url: _with_runner(
            url, layout, lambda runner: runner.rollback(to=to, all=everything)
        ),
    )
    if as_json:
        _print_json({"rolled_back": _describe(undone)})
        return
    if not undone:
        stdout.print("Nothing to roll back.")
        return
    stdout.print(f"Rolled back {len(undone)} migration(s):")
    for migration in undone:
        stdout.print(f"  {migration.version}  {migration.name}", highlight=False)


@db_app.command("status")
def db_status(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List every migration and whether it is applied to the database."""
    layout = _layout(ctx)
    statuses = run_with_database(ctx, lambda url: _with_runner(url, layout, MigrationRunner.status))
    if as_json:
        _print_json(
            [{"version": s.version, "name": s.name, "applied": s.applied} for s in statuses]
        )
        return
    table = Table("Version", "Name", "Applied")
    for s in statuses:
        table.add_row(s.version, s.name, "yes" if s.applied else "[yellow]pending[/yellow]")
    stdout.print(table)
    pending = sum(not s.applied for s in statuses)
    stdout.print(f"{len(statuses) - pending} applied, {pending} pending.")


_TIER_COLUMNS = [
    ("none", "  not yet due"),
    ("expiry_warning_90d", "  90-day window"),
    ("expiry_warning_60d", "  60-day window"),
    ("expiry_warning_30d", "  30-day window"),
    ("expiry_warning_7d", "  7-day window"),
    ("expired", "  lapsed"),
]


async def _demo(url: str, layout: SupabaseLayout) -> list[OrganisationSummary]:
    conn = await connect(url)
    try:
        await MigrationRunner(conn, layout).migrate()
        await load_seed(conn, layout)
        return await summarize(conn, datetime.now(UTC))
    finally:
        await conn.close()


def _print_demo(summaries: list[OrganisationSummary]) -> None:
    # One column per organisation keeps the table readable on an 80-column terminal.
    table = Table(title="What the demo database holds", title_justify="left")
    table.add_column("")
    for s in summaries:
        table.add_column(s.slug, justify="right")

    def row(label: str, values: list[str], style: str | None = None) -> None:
        table.add_row(label, *values, style=style)

    row("time zone", [s.timezone for s in summaries])
    row("local today", [s.local_today.isoformat() for s in summaries])
    row("warns at (days)", ["/".join(map(str, s.thresholds)) for s in summaries])
    row("chapters", [str(s.chapters) for s in summaries], style="dim")
    row("coordinators", [str(s.coordinators) for s in summaries])
    row("chapter admins", [str(s.chapter_admins) for s in summaries])
    row("peer mentors", [str(s.peer_mentors) for s in summaries])
    row("devices", [str(s.devices) for s in summaries])
    row("activities (30 d)", [str(s.activities_30d) for s in summaries])
    row("certificates", [str(s.certificates) for s in summaries], style="bold")
    for key, label in _TIER_COLUMNS:
        row(label, [str(s.tiers.get(key, 0)) for s in summaries])
    row("listed in directory", [str(s.listed) for s in summaries], style="bold")
    row("  hidden (lapsed/suppr.)", [str(s.hidden) for s in summaries])
    stdout.print(table)
    for s in summaries:
        stdout.print(f"  {s.slug}: {s.name}", highlight=False)


@app.command("demo")
def demo(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Set up the demo and show what it holds.

    Migrates the database (the embedded one unless --database-url or
    DATABASE_URL is given), loads supabase/seed.sql (three organisations
    modelled on HLF, NHF and Blindeforbundet, their chapters, coordinators and
    about fifty mentors with certificates in every expiry tier) and prints a
    summary per organisation. Safe to run again: the seed is idempotent.
    """
    layout = _layout(ctx)
    summaries = run_with_database(ctx, lambda url: _demo(url, layout))
    if as_json:
        _print_json([s.model_dump(mode="json") for s in summaries])
        return
    _print_demo(summaries)


@maintenance_app.command("prune")
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
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", min=1, help="Rows deleted per transaction (short locks)."),
    ] = 5000,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete delivery records past retention, in small batches.

    Prunes cert_notification_log (by sent_at) and follow_up_notification_log
    (by delivered_at). Scenario history is kept: milestones are once ever and
    cooldowns look back through it. Safe to run at any time and to run again.
    """
    state: CliState = ctx.obj
    try:
        period = parse_retention(older_than)
    except DatabaseError as exc:
        raise typer.BadParameter(str(exc), param_hint="--older-than") from exc

    async def work(url: str) -> PruneResult:
        async with open_pool(url, state.settings) as pool:
            pruner = RetentionPruner(pool, batch_size=batch_size)
            return await pruner.prune(datetime.now(UTC), period, dry_run=dry_run)

    result = run_with_database(ctx, work)
    if as_json:
        _print_json(result.model_dump(mode="json") | {"total": result.total})
        return
    verb = "would delete" if dry_run else "deleted"
    stdout.print(f"Records before {result.cutoff:%Y-%m-%d %H:%M} UTC:", highlight=False)
    for table, rows in result.deleted.items():
        stdout.print(f"  {table}: {verb} {rows}", highlight=False)
