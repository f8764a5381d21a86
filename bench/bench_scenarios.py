"""Benchmark the scenario engine (issue 4).

Builds (or reuses) a scratch database ``<prefix>`` on the server of ``--admin-url``:
the expiry benchmark's world for ``--mentors`` mentors (default 100,000: three
organisations, a chapter per 333 mentors, a certificate and a device each), plus

* the four scenario rules as organisation defaults (inactivity 30 days, milestones
  10/25/50/100, the 30-day certificate tier, welcome back after 30 days), cooldown
  14 days (milestones none);
* a year of activity: 1 to 59 activities per mentor, 3 million in all; every seventh
  mentor has been quiet for the last 45 days, every 53rd came back yesterday after
  two months away;
* 1,000,000 earlier scenario notifications, ten per mentor over the past year, as a
  daily engine would have left them: every milestone reached already celebrated
  (except for every 97th mentor), an inactivity nudge ten days ago whose 14-day
  cooldown still runs (twenty days ago, so due again, for every 89th), older nudges
  and welcome backs before that.

So a run finds what a daily run finds: a few thousand people due, and many more
held back by their cooldowns.

Each measured run works on a fresh copy of that database (``CREATE DATABASE ...
TEMPLATE``, untimed), so every run starts from the same state:

1. all four scenarios evaluated for every mentor, first run (writes the hits);
   target under 10 s;
2. the same again straight after (finds the same hits, the database holds them back);
3. the repository's batch cooldown lookup (``get_last_sent_at_many``) for 1,000
   people in one call, 200 calls with different people; target median under 20 ms.

Usage::

    uv run python bench/bench_scenarios.py --runs 3 --json scenario-results.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from bench_expiry import database_url, ensure_database
from mentor_notify.config import Settings
from mentor_notify.db import connect, open_pool
from mentor_notify.domain import FixedClock
from mentor_notify.logging import configure_logging
from mentor_notify.scenarios import ScenarioNotificationRepository, ScenarioType
from mentor_notify.scenarios.engine import ScenarioEngine

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
NOW_SQL = "timestamptz '2026-11-23 06:00:00+00'"


def scenario_steps(n: int) -> list[tuple[str, str]]:
    """The scenario world on top of the expiry benchmark's."""
    chapters = max(3, n // 333)
    mentor = "md5('u' || i)::uuid"
    org = f"md5('o' || (1 + (1 + i % {chapters}) % 3))::uuid"
    chapter = f"md5('c' || (1 + i % {chapters}))::uuid"
    return [
        (
            "scenario rules",
            """insert into scenario_rules
                 (organization_id, scenario_type, parameters, cooldown, messages)
               select md5('o' || o)::uuid, r.t, r.p::jsonb, r.c::interval,
                      jsonb_build_object('nb', 'scenario.' || r.t, 'en', 'scenario.' || r.t)
               from generate_series(1, 3) o
               cross join (values
                 ('inactivity', '{"inactivity_days": 30}', '14 days'),
                 ('milestone', '{"milestones": [10, 25, 50, 100]}', '0'),
                 ('certification_expiry', '{"tier": "expiry_warning_30d"}', '14 days'),
                 ('welcome_back', '{"inactive_days_before_return": 30}', '14 days')
               ) as r (t, p, c)""",
        ),
        (
            "activities (a year, about 3 million)",
            f"""insert into activities
                  (organization_id, chapter_id, peer_mentor_id, activity_type,
                   occurred_at, created_at)
                select {org}, {chapter}, {mentor}, 'conversation', x.at, x.at
                from generate_series(1, {n}) i
                cross join lateral generate_series(1, 1 + i % 59) k
                cross join lateral (
                  select {NOW_SQL} - make_interval(
                    days => case
                      when i % 53 = 0 and k = 1 then 1
                      when i % 53 = 0 then 62 + ((i::bigint * 7919 + k * 104729) % 300)::integer
                      when i % 7 = 0 then 45 + ((i::bigint * 7919 + k * 104729) % 320)::integer
                      else ((i::bigint * 7919 + k * 104729) % 365)::integer
                    end,
                    hours => k % 24) as at
                ) x""",
        ),
        (
            "earlier scenario notifications (1 million)",
            f"""insert into scenario_notifications
                  (user_id, organization_id, scenario_type, triggered_at, delivery_status,
                   milestone_value, metadata, cooldown_until)
                select {mentor}, {org}, x.t, x.at, 'sent', x.milestone,
                       jsonb_build_object('bench', k),
                       case when x.t = 'inactivity' then x.at + interval '14 days' end
                from generate_series(1, {n}) i
                cross join lateral generate_series(1, 10) k
                cross join lateral (
                  select case when k <= 3 and i % 97 <> 0
                                   and (array[10, 25, 50])[k] <= 1 + i % 59
                              then (array[10, 25, 50])[k]
                         end as milestone
                ) m
                cross join lateral (
                  select case when m.milestone is not null then 'milestone'
                              when k = 9 then 'welcome_back'
                              else 'inactivity' end as t,
                         m.milestone,
                         case when k = 10
                              then {NOW_SQL}
                                   - make_interval(days => case when i % 89 = 0 then 20 else 10 end)
                              else {NOW_SQL} - make_interval(days => 365 - k * 33 + i % 30)
                         end as at
                ) x
                order by x.at""",
        ),
    ]


def ensure_world(admin_url: str, name: str, n: int, regenerate: bool) -> str:
    url = ensure_database(admin_url, name, n, regenerate)
    with psycopg.connect(url) as conn:
        row = conn.execute("select count(*) from scenario_rules").fetchone()
        if row and row[0]:
            return url
        for label, statement in scenario_steps(n):
            started = time.perf_counter()
            conn.execute(statement)
            print(f"{name}: {label} ({time.perf_counter() - started:.1f} s)", file=sys.stderr)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    return url


def fresh_copy(admin_url: str, template: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )
        admin.execute(
            sql.SQL("create database {} template {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    return database_url(admin_url, name)


async def timed_engine(url: str) -> tuple[float, float, dict[str, Any]]:
    async with open_pool(url, Settings(pool_min_size=1, pool_max_size=2)) as pool:
        engine = ScenarioEngine(pool, FixedClock(NOW))
        started = time.perf_counter()
        first = await engine.run()
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        again = await engine.run()
        again_s = time.perf_counter() - started
    assert again.total("recorded") == 0, again
    return (
        first_s,
        again_s,
        {s.scenario_type.value: s.model_dump(mode="json") for s in first.scenarios},
    )


async def timed_lookups(url: str, calls: int, batch: int) -> list[float]:
    conn = await connect(url)
    try:
        users = [
            r["id"]
            for r in await (
                await conn.execute(
                    "select user_id as id from scenario_notifications group by user_id"
                )
            ).fetchall()
        ]
        await conn.commit()
        rnd = random.Random(1)
        repo = ScenarioNotificationRepository(conn)
        times = []
        for _ in range(calls):
            sample = rnd.sample(users, batch)
            started = time.perf_counter()
            found = await repo.get_last_sent_at_many(sample, ScenarioType.INACTIVITY)
            times.append(time.perf_counter() - started)
            assert len(found) == batch
        return times
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--prefix", default="bench_scenarios")
    parser.add_argument("--mentors", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    configure_logging("error")

    template = ensure_world(args.admin_url, args.prefix, args.mentors, args.regenerate)
    with psycopg.connect(template) as conn:
        counts = {
            t: conn.execute(
                sql.SQL("select count(*) from {}").format(sql.Identifier(t))
            ).fetchone()[0]  # type: ignore[index]
            for t in ("activities", "scenario_notifications", "chapter_memberships")
        }
    first: list[float] = []
    again: list[float] = []
    outcome: dict[str, Any] = {}
    for n in range(args.runs):
        url = fresh_copy(args.admin_url, args.prefix, f"{args.prefix}_run")
        first_s, again_s, outcome = asyncio.run(timed_engine(url))
        first.append(first_s)
        again.append(again_s)
        print(f"run {n + 1}: first {first_s:.2f} s, again {again_s:.2f} s", file=sys.stderr)
    lookups = asyncio.run(timed_lookups(template, 200, 1000))
    figures = {
        "date": datetime.now(UTC).date().isoformat(),
        "mentors": args.mentors,
        "rows": counts,
        "engine_first_run": {"median_s": statistics.median(first), "runs_s": first, "target_s": 10},
        "engine_second_run": {"median_s": statistics.median(again), "runs_s": again},
        "outcome_per_scenario": outcome,
        "batch_cooldown_lookup_1000": {
            "median_ms": statistics.median(lookups) * 1000,
            "p95_ms": sorted(lookups)[int(len(lookups) * 0.95)] * 1000,
            "calls": len(lookups),
            "target_ms": 20,
        },
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)
    ok = figures["engine_first_run"]["median_s"] < 10 and statistics.median(lookups) < 0.02
    print("all targets met" if ok else "TARGET MISSED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
