"""`mentor-notify db ...` end to end, against a throwaway database."""

import asyncio
import json

from typer.testing import CliRunner, Result

from mentor_notify.cli import app
from mentor_notify.db import SupabaseLayout
from tests.conftest import CreateDatabase

runner = CliRunner()


async def cli(*args: str) -> Result:
    # The command calls asyncio.run(), which needs a thread with no running loop.
    return await asyncio.to_thread(runner.invoke, app, list(args))


async def test_db_commands_report_as_json(
    create_database: CreateDatabase, supabase_layout: SupabaseLayout
) -> None:
    url = await create_database()
    versions = [m.version for m in supabase_layout.migrations()]

    migrated = await cli("--database-url", url, "db", "migrate", "--json")
    again = await cli("--database-url", url, "db", "migrate", "--json")
    status = await cli("--database-url", url, "db", "status", "--json")
    rolled_back = await cli("--database-url", url, "db", "rollback", "--all", "--json")

    assert migrated.exit_code == 0, migrated.output
    assert [m["version"] for m in json.loads(migrated.stdout)["applied"]] == versions
    assert json.loads(again.stdout) == {"bootstrapped": False, "applied": []}
    assert [(s["version"], s["applied"]) for s in json.loads(status.stdout)] == [
        (v, True) for v in versions
    ]
    assert [m["version"] for m in json.loads(rolled_back.stdout)["rolled_back"]] == versions[::-1]


def test_unreachable_database_fails_with_a_message_not_a_traceback() -> None:
    result = runner.invoke(
        app, ["--database-url", "postgresql://postgres@127.0.0.1:1/postgres", "db", "status"]
    )

    assert result.exit_code == 1
    assert "error: cannot reach the database" in result.stderr
    assert "Traceback" not in result.output


def test_rollback_refuses_both_to_and_all() -> None:
    result = runner.invoke(app, ["db", "rollback", "--to", "1", "--all"])

    assert result.exit_code == 2
    assert "either --to VERSION or --all" in result.output
