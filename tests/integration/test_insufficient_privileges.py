"""`db migrate` and `db rollback` as a role without the privileges: one line that says
so and what to do, never a stack trace (a real database, a real throwaway role)."""

import asyncio

import pytest
from typer.testing import CliRunner, Result

from mentor_notify.cli import app
from mentor_notify.db import SupabaseLayout
from tests.conftest import CreateDatabase
from tests.roles import throwaway_role
from tests.support import run_migrations

runner = CliRunner()


async def cli(*args: str) -> Result:
    # The command calls asyncio.run(), which needs a thread with no running loop.
    return await asyncio.to_thread(runner.invoke, app, list(args))


def assert_one_line_about_privileges(result: Result, action: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    # Besides any JSON log entries, one line.
    [line] = [ln for ln in result.stderr.splitlines() if not ln.startswith("{")]
    assert line.startswith("error: the role mn_noprivs_"), line
    assert f"lacks the privileges to {action} this database" in line
    assert "connect as the role that owns the schema" in line


@pytest.mark.parametrize("migrated", [True, False], ids=["migrated", "empty"])
async def test_migrate_and_rollback_without_privileges_say_so_in_one_line(
    admin_url: str,
    create_database: CreateDatabase,
    supabase_layout: SupabaseLayout,
    migrated: bool,
) -> None:
    url = await create_database()
    if migrated:
        await run_migrations(url, supabase_layout)

    async with throwaway_role(admin_url, url) as as_nobody:
        migrate = await cli("--database-url", as_nobody, "db", "migrate")
        rollback = await cli("--database-url", as_nobody, "db", "rollback", "--all")

    # On the empty database the bootstrap is refused; on the migrated one, reading
    # what the bootstrap made (auth) and the migration history.
    assert_one_line_about_privileges(migrate, "migrate")
    if migrated:
        assert_one_line_about_privileges(rollback, "roll back migrations of")
    else:  # no history yet: nothing to roll back, nothing refused
        assert rollback.exit_code == 0, rollback.output
        assert "Nothing to roll back" in rollback.stdout
