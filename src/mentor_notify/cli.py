"""The `mentor-notify` command line: global options, and one sub-app per area.

Each area's commands live in `mentor_notify.commands.<area>`; shared plumbing
(the database to use, JSON output, errors) in `mentor_notify.commands.common`.

Start-up is kept short (a nightly cron job and every `--help` pay it): importing
this module and the command modules loads typer and little else. What a command
needs (the settings, the database driver, FastAPI, the push senders, rich
tables) is imported inside the command when it runs, and the help is plain
text rather than rich's (whose formatter alone takes about 0.2 s to import);
tests/unit/test_startup_imports.py holds the CLI to that.
"""

from typing import Annotated

import typer

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

app = typer.Typer(
    name="mentor-notify",
    help="Notification engine for peer-mentor programmes (certification expiry, "
    "follow-ups, push delivery) on Supabase or plain PostgreSQL.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
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
            metavar="URL",
            envvar="DATABASE_URL",
            show_envvar=True,
            help="PostgreSQL URL to use, e.g. a Supabase project's connection string. "
            "Without it an embedded PostgreSQL is started in the per-user data directory "
            "(MENTOR_NOTIFY_DATA_DIR).",
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="On a terminal, show every log entry (MENTOR_NOTIFY_LOG_LEVEL and up), not "
            "only warnings and errors. Logs that go to a pipe or a service manager are "
            "JSON at that level either way.",
        ),
    ] = False,
) -> None:
    """Notification engine for peer-mentor programmes."""
    ctx.obj = common.CliState(database_url=database_url, verbose=verbose)
