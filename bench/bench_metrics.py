"""Benchmark what a Prometheus scrape of the worker or `push dispatch` costs the
database (issue 27): the per-scrape figures statement (queue by status, pushes
due, the oldest due push, sync events, last cycles, this week's re-registration
pushes) and the data-quality findings (the whole report, read at most every
5 minutes), side by side on the same world.

The world is built in a scratch database of its own (created, migrated, filled,
dropped at the end unless --keep): --people people (100,000) in 300 chapters of
three organisations, none with a coordinator (every membership is a
data-quality finding), one device each (a third stale), and --notices push
notices (260,000: a first day's queue at a million certificates), 20 % of them
due, 1 % dead. No certificates: the report's renewal-history part reads none.

Each round times --iterations refreshes of each kind through `DatabaseGauges`
(the code the processes run); the report is the median over --runs rounds of
each round's median, with the load average before and after.

Usage::

    uv run python bench/bench_metrics.py --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from mentor_notify.config import Settings
from mentor_notify.db import open_pool
from mentor_notify.domain import FixedClock
from mentor_notify.metrics import DatabaseGauges, Metrics

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime.now(UTC)

FILL = [
    # Three organisations of 100 chapters; every person a peer mentor in one.
    """
    insert into organizations (slug, name, certificate_type)
    select 'org-' || g, 'Org ' || g, 'hlf_peer_mentor' from generate_series(1, 3) g
    """,
    """
    insert into chapters (organization_id, name)
    select o.id, 'chapter ' || g from organizations o, generate_series(1, 100) g
    """,
    """
    insert into auth.users (id)
    select md5('person' || g)::uuid from generate_series(1, %(people)s) g
    """,
    """
    insert into users (id, display_name)
    select md5('person' || g)::uuid, 'Person ' || g from generate_series(1, %(people)s) g
    """,
    """
    insert into chapter_memberships (organization_id, chapter_id, user_id, role)
    select c.organization_id, c.id, md5('person' || g)::uuid, 'peer_mentor'
    from generate_series(1, %(people)s) g
    join (select id, organization_id, row_number() over (order by id) - 1 as n from chapters) c
      on c.n = g %% 300
    """,
    # One device per person, a third of them not refreshed for 40 days.
    """
    insert into device_tokens (user_id, platform, provider, token, last_refreshed_at)
    select md5('person' || g)::uuid, 'android', 'fcm', 'bench-token-' || g,
           case when g %% 3 = 0 then %(now)s - interval '40 days' else %(now)s end
    from generate_series(1, %(people)s) g
    """,
    # The notifications the notices announce.
    """
    insert into notifications (organization_id, recipient_id, subject_mentor_id, category,
                               message_key, idempotency_key, status)
    select m.organization_id, m.user_id, m.user_id, 'inactivity', 'inactivity_nudge',
           md5(g::text || 'a') || md5(g::text || 'b'), 'pending'
    from generate_series(1, %(notices)s) g
    join chapter_memberships m on m.user_id = md5('person' || (1 + g %% %(people)s))::uuid
    """,
    # The notices: 20 % due (up to an hour ago), 1 % dead, the rest sent.
    """
    insert into push_notices (organization_id, notification_id, recipient_id, payload, status,
                              available_at, settled_at)
    select n.organization_id, n.id, n.recipient_id,
           '{"title_key": "t", "body_key": "b"}'::jsonb,
           case when r %% 100 < 20 then 'pending' when r %% 100 = 20 then 'dead' else 'sent' end,
           %(now)s - (r %% 3600) * interval '1 second',
           case when r %% 100 < 20 then null else %(now)s end
    from (select id, organization_id, recipient_id, row_number() over (order by id) as r
          from notifications) n
    """,
    "analyze",
]


def build(admin_url: str, name: str, people: int, notices: int) -> str:
    """A scratch database `name`, migrated and filled; its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = make_conninfo(admin_url, dbname=name)
    cli = str(Path(sys.executable).parent / "mentor-notify")
    run = [cli, "--database-url", url, "db", "migrate"]
    subprocess.run(run, check=True, cwd=ROOT, capture_output=True)
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in FILL:
            params = {"now": NOW, "notices": notices, "people": people}
            conn.execute(statement, params if "%(" in statement else None)
    return url


async def measure(url: str, runs: int, iterations: int) -> dict[str, float]:
    """Median over rounds of each round's median refresh time, per kind, in ms."""
    medians: dict[str, list[float]] = {"figures": [], "figures_and_findings": []}
    async with open_pool(url, Settings(pool_min_size=1, pool_max_size=2)) as pool:
        clock = FixedClock(NOW)
        for _ in range(runs):
            for kind in medians:
                times = []
                for _ in range(iterations):
                    # A new reader per refresh reads the findings too; a kept one
                    # (what a process does between two 5-minute reads) does not.
                    gauges = DatabaseGauges(pool, clock)
                    if kind == "figures":
                        await gauges.refresh(Metrics())
                    metrics = Metrics()
                    started = time.perf_counter()
                    await gauges.refresh(metrics)
                    times.append((time.perf_counter() - started) * 1000)
                    assert metrics.render()
                medians[kind].append(statistics.median(times))
    return {kind: round(statistics.median(values), 1) for kind, values in medians.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--name", default="bench_metrics")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--notices", type=int, default=260_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    url = build(args.admin_url, args.name, args.people, args.notices)
    print(f"world built in {time.perf_counter() - started:.0f} s", flush=True)
    before = os.getloadavg()
    try:
        figures = asyncio.run(measure(url, args.runs, args.iterations))
    finally:
        after = os.getloadavg()
        if not args.keep:
            with psycopg.connect(args.admin_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("drop database if exists {} with (force)").format(
                        sql.Identifier(args.name)
                    )
                )
    print(f"notices {args.notices:,}, people {args.people:,}")
    print(f"scrape, figures only (every scrape):        {figures['figures']} ms (median)")
    print(f"scrape with the data-quality findings:     {figures['figures_and_findings']} ms")
    ratio = figures["figures_and_findings"] / max(figures["figures"], 0.001)
    print(f"ratio findings scrape / figures scrape:    {ratio:.1f}x")
    print(f"load average before {before[0]:.2f}, after {after[0]:.2f} (1 min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
