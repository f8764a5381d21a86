"""`mentor-notify demo`: migrate, seed, summarise; safe to run twice."""

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from psycopg import AsyncConnection
from psycopg.rows import DictRow

from mentor_notify.db import SupabaseLayout, connect
from mentor_notify.demo import load_seed, summarize
from mentor_notify.demo.seed import SeedError
from mentor_notify.domain import SystemClock
from tests.conftest import CreateDatabase
from tests.integration.test_cli import cli
from tests.support import run_migrations

_TABLES = (
    "organizations",
    "chapters",
    "users",
    "chapter_memberships",
    "coordinator_assignments",
    "peer_mentor_certifications",
    "certification_expiry_tracking",
    "device_tokens",
    "activities",
    "scenario_rules",
    "scenario_notifications",
    "mentor_directory",
    "notifications",
    "push_notices",
)


async def _row_counts(conn: AsyncConnection[DictRow]) -> dict[str, int]:
    counts = {}
    for table in _TABLES:
        row = await (await conn.execute(f"select count(*) as n from public.{table}")).fetchone()
        assert row is not None
        counts[table] = row["n"]
    return counts


async def seeded_with_open_windows(
    create_database: CreateDatabase, supabase_layout: SupabaseLayout
) -> str:
    """A database the demo has nothing left to set up in, whose organisations send at
    any hour: send windows follow the real clock, and the tests run at any hour."""
    url = await create_database()
    await run_migrations(url, supabase_layout)
    conn = await connect(url)
    try:
        await load_seed(conn, supabase_layout)
        await conn.execute("update public.organizations set push_window_start = push_window_end")
        await conn.commit()
    finally:
        await conn.close()
    return url


async def test_demo_seeds_runs_the_cycle_shows_what_was_received_and_is_repeatable(
    create_database: CreateDatabase, supabase_layout: SupabaseLayout
) -> None:
    url = await seeded_with_open_windows(create_database, supabase_layout)

    first = await cli("--database-url", url, "demo", "--json")
    conn = await connect(url)
    try:
        counts_after_first = await _row_counts(conn)
        second = await cli("--database-url", url, "demo", "--json")
        counts_after_second = await _row_counts(conn)
    finally:
        await conn.close()

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    report: dict[str, Any] = json.loads(first.stdout)
    summaries: list[dict[str, Any]] = report["organisations"]
    assert sorted(s["slug"] for s in summaries) == ["blindeforbundet", "hlf", "nhf"]
    assert sum(s["peer_mentors"] for s in summaries) >= 50
    assert all(s["chapters"] >= 3 and s["coordinators"] >= 1 for s in summaries)
    for s in summaries:
        assert sum(s["tiers"].values()) == s["certificates"]
        tiers_in_use = {f"expiry_warning_{t}d" for t in s["thresholds"]} | {"expired", "none"}
        # every tier the organisation warns at has certificates in it, and no other tier
        assert set(s["tiers"]) == tiers_in_use, s["slug"]
    nhf = next(s for s in summaries if s["slug"] == "nhf")
    assert nhf["thresholds"] == [90, 30, 7]
    assert counts_after_first == counts_after_second
    assert counts_after_first["device_tokens"] > 0
    assert counts_after_first["activities"] > 0

    cycle, again = report["cycles"]["first"], report["cycles"]["second"]
    received = cycle["received"]
    assert cycle["cycle"]["failed_steps"] == []
    # What the inboxes gained is what the cycle reports creating.
    expiry = sum(o["notifications_created"] for o in cycle["cycle"]["expiry"]["organisations"])
    follow_ups = sum(s["notifications_created"] for s in cycle["cycle"]["scenarios"]["scenarios"])
    assert expiry > 0
    assert follow_ups > 0
    assert len(received) == expiry + follow_ups == counts_after_first["notifications"]
    roles = {r["role"] for r in received}
    assert {"mentor", "coordinator"} <= roles
    assert all(r["about"] != r["recipient"] for r in received if r["role"] != "mentor")
    # Every push the database calls delivered reached the emulator, once.
    delivered = cycle["delivered_fcm"] + cycle["delivered_apns"]
    assert (
        delivered == sum(r["pushes_sent"] for r in received) == cycle["cycle"]["dispatch"]["sent"]
    )
    assert delivered > 0
    assert cycle["duplicate_deliveries"] == 0
    # Nobody got more pushes than the daily budget (one): the rest was folded into it.
    pushes_per_person = Counter(
        (r["organisation"], r["recipient"]) for r in received if r["pushes_sent"]
    )
    assert set(pushes_per_person.values()) == {1}
    assert any(r["folded"] for r in received)
    # The second run, and a second demo on the same database, send nothing.
    repeated = json.loads(second.stdout)["cycles"]
    for run in (again, repeated["first"], repeated["second"]):
        assert run["received"] == []
        assert run["delivered_fcm"] + run["delivered_apns"] == 0
        assert run["cycle"]["dispatch"]["claimed"] == 0


@pytest.mark.parametrize("days_from_today", [-7, 30], ids=["week-ago", "month-ahead"])
async def test_demo_for_another_date_delivers_every_push_over_fcm_and_apns(
    create_database: CreateDatabase, supabase_layout: SupabaseLayout, days_from_today: int
) -> None:
    url = await seeded_with_open_windows(create_database, supabase_layout)
    day = SystemClock().now().date() + timedelta(days=days_from_today)

    result = await cli("--database-url", url, "demo", "--date", day.isoformat(), "--json")

    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    assert [s["local_today"] for s in report["organisations"]] == [day.isoformat()] * 3
    first = report["cycles"]["first"]
    received = first["received"]
    assert received
    # Every push went out, none waits or failed: the provider tokens were signed
    # in real time, whatever date the cycle decided for.
    assert sum(r["pushes_waiting"] + r["pushes_not_sent"] for r in received) == 0
    assert first["delivered_fcm"] > 0
    assert first["delivered_apns"] > 0
    assert (
        first["delivered_fcm"] + first["delivered_apns"]
        == sum(r["pushes_sent"] for r in received)
        == first["cycle"]["dispatch"]["sent"]
    )
    assert first["cycle"]["dispatch"]["retrying"] == 0


async def test_summary_counts_a_lapsed_mentor_as_hidden(
    own_database_url: str, supabase_layout: SupabaseLayout
) -> None:
    conn = await connect(own_database_url)
    try:
        await load_seed(conn, supabase_layout)
        now = datetime.now(UTC)
        before = {s.slug: s for s in await summarize(conn, now)}
        # Lapse one listed HLF mentor's certificate: the listing must count as hidden.
        await conn.execute(
            """
            update public.peer_mentor_certifications c
            set expiry_date = current_date - 1
            where c.id = (
              select c2.id from public.peer_mentor_certifications c2
              join public.mentor_directory d
                on d.peer_mentor_id = c2.peer_mentor_id and d.organization_id = c2.organization_id
              join public.organizations o on o.id = c2.organization_id
              where o.slug = 'hlf' and c2.issued_on < current_date - 1
                and d.suppression_status = 'active' and d.lapses_at > now()
              order by c2.id limit 1)
            """
        )
        after = {s.slug: s for s in await summarize(conn, now)}
    finally:
        await conn.close()

    assert after["hlf"].hidden >= before["hlf"].hidden + 1
    assert after["hlf"].listed <= before["hlf"].listed - 1
    assert after["hlf"].tiers["expired"] == before["hlf"].tiers["expired"] + 1
    assert after["nhf"] == before["nhf"]


async def test_a_missing_seed_file_is_a_clear_error(database_url: str, tmp_path: Path) -> None:
    conn = await connect(database_url)
    try:
        with pytest.raises(SeedError, match="no seed file"):
            await load_seed(conn, SupabaseLayout(tmp_path))
    finally:
        await conn.close()


async def test_summary_needs_an_aware_instant(database_url: str) -> None:
    conn = await connect(database_url)
    try:
        with pytest.raises(ValueError, match="timezone-aware"):
            await summarize(conn, datetime(2026, 11, 22))
    finally:
        await conn.close()
