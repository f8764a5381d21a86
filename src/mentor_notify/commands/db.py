"""`mentor-notify db ...`: apply, undo and list the schema migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mentor_notify.commands import common

if TYPE_CHECKING:
    from mentor_notify.db import Migration

app = typer.Typer(
    help="Manage the database schema: apply, undo and list the migrations in supabase/.",
    no_args_is_help=True,
)


def _describe(migrations: list[Migration]) -> list[dict[str, str]]:
    return [{"version": m.version, "name": m.name} for m in migrations]


@app.command("migrate")
def db_migrate(ctx: typer.Context, as_json: common.JsonOption = False) -> None:
    """Apply every pending migration, oldest first, each in its own transaction.

    On plain PostgreSQL the local Supabase bootstrap (roles, auth schema,
    grants) is applied first when missing; never on a real Supabase database.
    Running it again when nothing is pending changes nothing.
    """
    from mentor_notify.db import MigrationRunner

    layout = common.layout(ctx)
    result = common.run_with_database(
        ctx, lambda url: common.with_runner(url, layout, MigrationRunner.migrate)
    )
    if as_json:
        common.print_json(
            {"bootstrapped": result.bootstrapped, "applied": _describe(result.applied)}
        )
        return
    if result.bootstrapped:
        common.stdout().print("Applied the local Supabase bootstrap.")
    if not result.applied:
        common.stdout().print("Database is up to date: no pending migrations.")
        return
    common.stdout().print(f"Applied {len(result.applied)} migration(s):")
    for migration in result.applied:
        common.stdout().print(f"  {migration.version}  {migration.name}", highlight=False)


@app.command("rollback")
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
    as_json: common.JsonOption = False,
) -> None:
    """Undo applied migrations, newest first, using supabase/rollbacks/.

    Without --to or --all only the newest applied migration is undone.
    """
    if to is not None and everything:
        raise typer.BadParameter("give either --to VERSION or --all, not both")
    layout = common.layout(ctx)
    undone = common.run_with_database(
        ctx,
        lambda url: common.with_runner(
            url, layout, lambda runner: runner.rollback(to=to, all=everything)
        ),
    )
    if as_json:
        common.print_json({"rolled_back": _describe(undone)})
        return
    if not undone:
        common.stdout().print("Nothing to roll back.")
        return
    common.stdout().print(f"Rolled back {len(undone)} migration(s):")
    for migration in undone:
        common.stdout().print(f"  {migration.version}  {migration.name}", highlight=False)


@app.command("status")
def db_status(ctx: typer.Context, as_json: common.JsonOption = False) -> None:
    """List every migration and whether it is applied to the database."""
    from rich.table import Table

    from mentor_notify.db import MigrationRunner

    layout = common.layout(ctx)
    statuses = common.run_with_database(
        ctx, lambda url: common.with_runner(url, layout, MigrationRunner.status)
    )
    if as_json:
        common.print_json(
            [{"version": s.version, "name": s.name, "applied": s.applied} for s in statuses]
        )
        return
    table = Table("Version", "Name", "Applied")
    for s in statuses:
        table.add_row(s.version, s.name, "yes" if s.applied else "[yellow]pending[/yellow]")
    common.stdout().print(table)
    pending = sum(not s.applied for s in statuses)
    common.stdout().print(f"{len(statuses) - pending} applied, {pending} pending.")
