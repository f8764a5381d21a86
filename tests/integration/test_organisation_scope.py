"""Commands that run over organisations refuse to do nothing quietly: an organisation
that does not exist, or a run that can see none at all, is an error (exit 1, one line)."""

import asyncio

import psycopg
import pytest
from typer.testing import CliRunner, Result

from mentor_notify.cli import app
from mentor_notify.domain import SystemClock
from tests.expiry_world import build_world
from tests.roles import throwaway_role

runner = CliRunner()

# Every command that runs over the organisations, as the operator types it.
RUNS = {
    "expiry run": ["expiry", "run"],
    "scenarios run": ["scenarios", "run"],
    "daily": ["daily"],
}
# Every command that takes --organization.
NARROWED = {
    "expiry run": ["expiry", "run"],
    "scenarios run": ["scenarios", "run"],
    "scenarios rules": ["scenarios", "rules"],
}


async def cli(*args: str) -> Result:
    # The command calls asyncio.run(), which needs a thread with no running loop.
    return await asyncio.to_thread(runner.invoke, app, list(args))


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    [line] = [ln for ln in result.stderr.splitlines() if not ln.startswith("{")]
    assert line.startswith("error: "), line
    return line


async def with_an_organisation(url: str, slug: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await build_world(conn, SystemClock().now().date(), {"a": 30}, slug=slug)


@pytest.mark.parametrize("command", RUNS.values(), ids=RUNS.keys())
async def test_a_role_that_can_see_no_organisation_is_an_error(
    admin_url: str, own_database_url: str, command: list[str]
) -> None:
    await with_an_organisation(own_database_url, "hidden-org")

    # Allowed to read the table, but not exempt from row-level security, which
    # shows an organisation only to its members.
    async with throwaway_role(
        admin_url, own_database_url, tables=["public.organizations"]
    ) as as_outsider:
        result = await cli("--database-url", as_outsider, *command)

    line = one_error_line(result)
    assert "can see no organisation: row-level security hides them all" in line
    assert "as the database owner or a role with BYPASSRLS" in line


@pytest.mark.parametrize("command", RUNS.values(), ids=RUNS.keys())
async def test_a_database_without_organisations_is_an_error(
    own_database_url: str, command: list[str]
) -> None:
    result = await cli("--database-url", own_database_url, *command)

    assert "the database has no organisation" in one_error_line(result)


@pytest.mark.parametrize("command", NARROWED.values(), ids=NARROWED.keys())
async def test_an_organisation_that_does_not_exist_is_refused(
    own_database_url: str, command: list[str]
) -> None:
    await with_an_organisation(own_database_url, "real-org")
    base = ["--database-url", own_database_url, *command]

    alone = await cli(*base, "--organization", "no-such-org")
    beside_a_real_one = await cli(*base, "-o", "real-org", "-o", "no-such-org", "--json")
    real = await cli(*base, "-o", "real-org", "--json")

    for refused in (alone, beside_a_real_one):
        line = one_error_line(refused)
        assert line.startswith("error: no organisation matches no-such-org;"), line
        assert "real-org" not in line
    assert beside_a_real_one.stdout == ""  # refused before anything ran
    assert real.exit_code == 0, real.output
