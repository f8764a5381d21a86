"""The expiry sweep when things go wrong: a run killed half-way, logs that must stay
free of personal data, and the command line."""

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mentor_notify.cli import app
from mentor_notify.db import Pool
from mentor_notify.db.connect import APPLICATION_NAME
from mentor_notify.domain import SystemClock
from mentor_notify.expiry import ExpirySweep
from mentor_notify.logging import configure_logging
from tests.expiry_world import build_world
from tests.integration.test_expiry_sweep import CLOCK, TIER_OFFSETS, TODAY, counts
from tests.support import fetch_value

MENTOR_NOTIFY = Path(sys.executable).parent / "mentor-notify"


async def _wait_for(pool: Pool, query: str, *params: object) -> object:
    """Poll `query` until its value is truthy; return it. Gives up after 30 s."""
    async with asyncio.timeout(30):
        while True:
            async with pool.connection() as conn:
                value = await fetch_value(conn, query, *params)
            if value:
                return value
            await asyncio.sleep(0.05)


async def test_a_run_killed_half_way_is_completed_by_the_next(
    own_pool: Pool, own_database_url: str
) -> None:
    # The real today: --today refuses dates years away from it.
    today = SystemClock().now().date()
    async with own_pool.connection() as conn:
        first = await build_world(conn, today, TIER_OFFSETS, slug="a-first")
        second = await build_world(conn, today, TIER_OFFSETS, slug="b-second")
    blocker = second.mentors["d7"].certification_id
    async with own_pool.connection() as holder:
        # Hold one of the second organisation's sweep-state rows, so the sweep
        # stops inside that organisation's transaction, after writing its notices.
        await holder.execute(
            "select 1 from public.certification_expiry_tracking "
            "where certification_id = %s for update",
            [blocker],
        )
        process = subprocess.Popen(  # noqa: ASYNC220 - killed below, never awaited
            [
                str(MENTOR_NOTIFY),
                "--database-url",
                own_database_url,
                "expiry",
                "run",
                # The world is built around today; the process decides for it too.
                "--today",
                today.isoformat(),
                "--json",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=os.environ | {"MENTOR_NOTIFY_LOG_FORMAT": "json"},
        )
        try:
            blocked_pid = await _wait_for(
                own_pool,
                "select pid from pg_stat_activity "
                "where application_name = %s and wait_event_type = 'Lock'",
                APPLICATION_NAME,
            )
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        await holder.rollback()
    # The orphaned backend finishes its statement, finds its client gone and
    # rolls back; only then is the half-way state final.
    await _wait_for(
        own_pool, "select count(*) = 0 from pg_stat_activity where pid = %s", blocked_pid
    )
    async with own_pool.connection() as conn:
        committed = {
            org.slug: await fetch_value(
                conn,
                "select count(*) from public.notifications where organization_id = %s",
                org.organization_id,
            )
            for org in (first, second)
        }

    rerun = await ExpirySweep(own_pool, CLOCK).run(today=today)
    again = await ExpirySweep(own_pool, CLOCK).run(today=today)

    # The blocked slice of the second organisation had written its notices but
    # not committed: they never became visible, and the next run wrote them, and
    # only them. (The other slices run alongside, the first organisation's too,
    # and may commit up to the kill, so what is committed is read once the
    # killed run's backends are gone.)
    assert committed["b-second"] < 8
    assert [(o.slug, o.notifications_created) for o in rerun.organisations] == [
        ("a-first", 8 - committed["a-first"]),
        ("b-second", 8 - committed["b-second"]),
    ]
    assert again.total("notifications_created") == 0
    assert await counts(own_pool) == {
        "notifications": 16,
        "cert_notification_log": 16,
        "push_notices": 16,
    }


async def test_logs_carry_ids_and_tiers_never_names_emails_or_phones(
    own_pool: Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    async with own_pool.connection() as conn:
        world = await build_world(
            conn, TODAY, TIER_OFFSETS | {"alone": 30}, without_coordinator=("alone",)
        )
        # One failing certificate, so error entries are covered too.
        await conn.execute(
            f"""
            create function public.test_poison() returns trigger language plpgsql as $$
            begin
              if new.subject_mentor_id = '{world.mentors["d60"].person.id}' then
                raise exception 'injected failure' using errcode = 'check_violation';
              end if;
              return new;
            end $$;
            create trigger poison before insert on public.notifications
              for each row execute function public.test_poison();
            """
        )
    configure_logging("debug", "json")
    capsys.readouterr()

    await ExpirySweep(own_pool, CLOCK).run()

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    text = json.dumps(lines)
    events = {line["event"] for line in lines}
    assert {"expiry step done", "missing_coordinator_assignment", "expiry record failed"} <= events
    failed = next(line for line in lines if line["event"] == "expiry record failed")
    assert failed["mentor_id"] == str(world.mentors["d60"].person.id)
    assert failed["certificate_type"] == "hlf_peer_mentor"
    assert all("run_id" in line for line in lines)
    for person in world.people():
        for secret in (person.name, person.email, person.phone):
            assert secret not in text


def test_cli_runs_the_sweep_as_json_and_as_a_dry_run(own_database_url: str) -> None:
    # The real today: --today refuses dates years away from it.
    today = SystemClock().now().date()

    async def setup() -> None:
        import psycopg

        async with await psycopg.AsyncConnection.connect(own_database_url) as conn:
            await build_world(conn, today, TIER_OFFSETS, slug="cli-org")

    asyncio.run(setup())
    runner = CliRunner()
    base = ["--database-url", own_database_url, "expiry", "run", "--today", today.isoformat()]

    dry = runner.invoke(app, [*base, "--dry-run"])
    real = runner.invoke(app, [*base, "--json"])
    again = runner.invoke(app, [*base, "--json", "-o", "cli-org"])

    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.stdout
    assert "would send" in dry.stdout
    assert real.exit_code == 0, real.output
    result = json.loads(real.stdout)
    assert result["ok"] is True
    assert result["organisations"][0]["notifications_created"] == 8
    assert json.loads(again.stdout)["organisations"][0]["notifications_created"] == 0


def test_cli_explains_a_bad_date() -> None:
    result = CliRunner().invoke(app, ["expiry", "run", "--today", "23.11.2026"])

    assert result.exit_code == 2
    assert "write it as YYYY-MM-DD" in " ".join(result.output.replace("│", " ").split())
