"""The `mentor-notify` command line: global options, and one sub-app per area.

Each area's commands live in `mentor_notify.commands.<area>`; shared plumbing
(the database to use, JSON output, errors) in `mentor_notify.commands.common`.
"""

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from mentor_notify.commands import (
    common,
    config,
    daily,
    db,
    demo,
    expiry,
    maintenance,
    push,
    scenarios,
    serve,
    sync,
    worker,
)
from mentor_notify.config import Settings
from mentor_notify.logging import configure_logging

app = typer.Typer(
    name="mentor-notify",
    help="Notification engine for peer-mentor programmes (certification expiry, "
    "follow-ups, push delivery) on Supabase or plain PostgreSQL.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(expiry.app, name="expiry")
app.add_typer(maintenance.app, name="maintenance")
app.add_typer(scenarios.app, name="scenarios")
app.add_typer(push.app, name="push")
app.add_typer(sync.app, name="sync")
app.command("demo")(demo.demo)
app.command("config")(config.config)
app.command("serve")(serve.serve)
app.command("daily")(daily.daily)
app.command("worker")(worker.worker)


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
        common.stderr.print(
            f"[red]error:[/red] invalid configuration: {escape(str(exc))}", highlight=False
        )
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, settings.log_format)
    ctx.obj = common.CliState(settings=settings, database_url=database_url)
