"""Benchmark the expiry job (issue 3): the set-based sweep, the ticket-004 orchestrator,
and a faithful per-record implementation of ticket 004's design for comparison.

It makes (or reuses) two scratch databases on the server of ``--admin-url``:

* ``<prefix>_1m``: ``--certificates`` (default 1,000,000) certificates, one per mentor,
  in 3 organisations and 3,000 chapters (two coordinators and an admin each; 98 % of
  mentors have an assigned coordinator), one device per person, a directory listing
  per mentor. Expiry dates are spread evenly from 30 days ago to 669 days ahead, so on
  the benchmark day about 13 % of certificates are due a notice (61 days of warning
  window and 30 of lapse out of 700).
* ``<prefix>_10k``: the same shape with 10,000 certificates.

Measured (median of ``--runs``; the sweep state is reset, untimed, before each run):

1. the sweep over the 1M database: first run (writes everything), an immediate
   re-run (writes nothing) and the nightly run of the next business day (the clock
   one day on: the certificates entering a tier that day). Targets: under 20 s, under
   5 s and (issue 16) under 4.5 s.
2. on the 10k database: the set-based sweep's first run against the per-record
   implementation (fetch the expiring records with one query, then for each record,
   one at a time and in its own transaction: classify, check for a duplicate, find
   the coordinator, insert the notification, log it, queue the
   pushes, mark the tier sent). Target: the sweep at least 50 times faster.
3. the orchestrator on a batch of 200 due records with its PostgreSQL collaborators.
   Target: under 100 ms (ticket 004: 10 s).

Usage::

    uv run python bench/bench_expiry.py --admin-url postgresql://postgres@127.0.0.1:5432/postgres
    uv run python bench/bench_expiry.py --certificates 100000 --runs 3 --json out.json

Generation of the 1M database takes a few minutes and is skipped when it exists with
the same size (``--regenerate`` forces it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from mentor_notify.config import Settings
from mentor_notify.db import MigrationRunner, connect, open_pool
from mentor_notify.domain import (
    FixedClock,
    Tier,
    cert_log_key,
    classify_tier,
    expiry_notification_key,
)
from mentor_notify.domain.expiry_messages import (
    Audience,
    collapse_key,
    expiry_message,
    message_key,
)
from mentor_notify.expiry import DEFAULT_PARTITIONS, ExpirySweep, MentorRecord
from mentor_notify.expiry.repositories import postgres_orchestrator
from mentor_notify.logging import configure_logging

TODAY = date(2026, 11, 23)
CLOCK = FixedClock(datetime(2026, 11, 23, 5, 0, tzinfo=UTC))
NEXT_DAY = TODAY + timedelta(days=1)
NEXT_CLOCK = FixedClock(CLOCK.now() + timedelta(days=1))
CERT_TYPES = ("hlf_peer_mentor", "nhf_peer_mentor", "blindeforbundet_peer_mentor")


def generation_steps(n: int) -> list[tuple[str, str]]:
    """Set-based statements that build the benchmark world for `n` certificates."""
    chapters = max(3, n // 333)
    staff = 3 * chapters
    return [
        (
            "organisations",
            f"""insert into organizations (id, slug, name, certificate_type)
                select md5('o' || o)::uuid, 'bench-' || o, 'Bench organisation ' || o,
                       (array{list(CERT_TYPES)})[o]
                from generate_series(1, 3) o""",
        ),
        (
            "chapters",
            f"""insert into chapters (id, organization_id, name)
                select md5('c' || c)::uuid, md5('o' || (1 + c % 3))::uuid, 'Chapter ' || c
                from generate_series(1, {chapters}) c""",
        ),
        (
            "people",
            f"""insert into auth.users (id) select md5('u' || i)::uuid
                from generate_series(1, {n + staff}) i""",
        ),
        (
            "profiles",
            f"""insert into users (id, display_name, email, phone)
                select md5('u' || i)::uuid, 'Bench Person ' || i, 'person' || i || '@example.no',
                       '+47 4' || lpad(i::text, 7, '0')
                from generate_series(1, {n + staff}) i""",
        ),
        (
            "memberships",
            f"""insert into chapter_memberships (organization_id, chapter_id, user_id, role)
                select md5('o' || (1 + (1 + i % {chapters}) % 3))::uuid,
                       md5('c' || (1 + i % {chapters}))::uuid, md5('u' || i)::uuid, 'peer_mentor'
                from generate_series(1, {n}) i
                union all
                select md5('o' || (1 + c % 3))::uuid, md5('c' || c)::uuid,
                       md5('u' || ({n} + 3 * c - r))::uuid,
                       case r when 0 then 'chapter_admin' else 'coordinator' end
                from generate_series(1, {chapters}) c cross join generate_series(0, 2) r""",
        ),
        (
            "coordinator assignments (98 %)",
            f"""insert into coordinator_assignments
                  (organization_id, chapter_id, coordinator_id, peer_mentor_id)
                select md5('o' || (1 + (1 + i % {chapters}) % 3))::uuid,
                       md5('c' || (1 + i % {chapters}))::uuid,
                       md5('u' || ({n} + 3 * (1 + i % {chapters}) - 1 - i % 2))::uuid,
                       md5('u' || i)::uuid
                from generate_series(1, {n}) i
                where i % 50 <> 0""",
        ),
        (
            "certificates",
            f"""insert into peer_mentor_certifications
                  (id, organization_id, peer_mentor_id, certificate_type, issued_on, expiry_date)
                select md5('cert' || i)::uuid, md5('o' || o)::uuid, md5('u' || i)::uuid,
                       (array{list(CERT_TYPES)})[o],
                       e - 730, e
                from generate_series(1, {n}) i,
                     lateral (
                       select 1 + (1 + i % {chapters}) % 3 as o,
                              date '{TODAY}' - 30 + ((i::bigint * 7919) % 700)::integer as e
                     ) x""",
        ),
        (
            "devices",
            f"""insert into device_tokens (user_id, platform, provider, token)
                select md5('u' || i)::uuid,
                       case when i % 3 = 0 then 'ios' else 'android' end,
                       case when i % 6 = 0 then 'apns' else 'fcm' end,
                       'bench-token-' || i
                from generate_series(1, {n + staff}) i""",
        ),
        (
            "directory listings",
            f"""insert into mentor_directory
                  (organization_id, chapter_id, peer_mentor_id, display_name)
                select md5('o' || (1 + (1 + i % {chapters}) % 3))::uuid,
                       md5('c' || (1 + i % {chapters}))::uuid, md5('u' || i)::uuid,
                       'Bench Person ' || i
                from generate_series(1, {n}) i""",
        ),
    ]


RESET = [
    "truncate public.push_deliveries, public.push_notices, public.push_budget_days, "
    "public.cert_notification_log, public.follow_up_notification_log, public.notifications",
    """update public.certification_expiry_tracking
       set notification_thresholds_sent = '{}', last_notified_at = null
       where last_notified_at is not null or notification_thresholds_sent <> '{}'""",
    """update public.mentor_directory
       set suppression_status = 'active', suppression_reason = null, suppressed_at = null
       where suppression_status = 'suppressed'""",
]


def database_url(admin_url: str, name: str) -> str:
    return make_conninfo(admin_url, dbname=name)


def fresh_database(admin_url: str, name: str) -> str:
    """Database `name` dropped and created anew with the schema; its URL."""
    url = database_url(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))

    async def migrate() -> None:
        conn = await connect(url)
        try:
            await MigrationRunner(conn, _layout()).migrate()
        finally:
            await conn.close()

    asyncio.run(migrate())
    return url


def ensure_database(admin_url: str, name: str, n: int, regenerate: bool) -> str:
    """The benchmark database for `n` certificates, generated unless it already exists."""
    url = database_url(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute("select 1 from pg_database where datname = %s", [name]).fetchone()
        if exists and not regenerate:
            with psycopg.connect(url) as conn:
                row = conn.execute(
                    "select count(*) from pg_tables where tablename = 'mentor_directory'"
                ).fetchone()
                if row and row[0]:
                    row = conn.execute("select count(*) from mentor_directory").fetchone()
            if row and row[0] == n:
                print(f"{name}: reusing {n:,} certificates", file=sys.stderr)
                return url
    fresh_database(admin_url, name)
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        for label, statement in generation_steps(n):
            t0 = time.perf_counter()
            conn.execute(statement)
            print(f"{name}: {label} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    print(f"{name}: generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return url


def _layout() -> Any:
    from mentor_notify.db import find_supabase_dir

    return find_supabase_dir()


def reset(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in RESET:
            conn.execute(statement)
        conn.execute("vacuum analyze public.certification_expiry_tracking, public.mentor_directory")


async def timed_sweep(
    url: str, parallel: int, day: date = TODAY, clock: FixedClock = CLOCK
) -> tuple[float, int]:
    async with open_pool(url, Settings(pool_min_size=1, pool_max_size=parallel)) as pool:
        started = time.perf_counter()
        result = await ExpirySweep(pool, clock, partitions=parallel).run(today=day)
        elapsed = time.perf_counter() - started
    assert result.ok, result
    return elapsed, result.total("notifications_created")


def per_record(url: str) -> tuple[float, int]:
    """Ticket 004's design, one record at a time (the baseline)."""
    created = 0
    started = time.perf_counter()
    with psycopg.connect(url, row_factory=dict_row) as conn:
        records = conn.execute(
            """select t.certification_id, t.organization_id, t.peer_mentor_id, t.certificate_type,
                      t.expiry_date, t.notification_thresholds_sent, o.expiry_thresholds
               from certification_expiry_tracking t join organizations o on o.id = t.organization_id
               where t.expiry_date <= %s::date + 60""",
            [TODAY],
        ).fetchall()
        conn.commit()
        for r in records:
            tier = classify_tier(r["expiry_date"], TODAY, r["expiry_thresholds"])
            if tier is None or tier.days in r["notification_thresholds_sent"]:
                continue
            with conn.transaction():
                coordinators = [
                    row["coordinator_id"]
                    for row in conn.execute(
                        "select coordinator_id from coordinator_assignments a "
                        "join chapters c on c.id = a.chapter_id "
                        "where a.peer_mentor_id = %s and c.organization_id = %s",
                        [r["peer_mentor_id"], r["organization_id"]],
                    ).fetchall()
                ]
                recipients = [(r["peer_mentor_id"], Audience.MENTOR)] + [
                    (c, Audience.COORDINATOR) for c in coordinators
                ]
                for recipient, audience in recipients:
                    duplicate = conn.execute(
                        "select 1 from notifications where category = 'certification_expiry' "
                        "and subject_mentor_id = %s and certificate_type = %s "
                        "and threshold_tier = %s and notification_window_start = %s "
                        "and recipient_id = %s",
                        [
                            r["peer_mentor_id"],
                            r["certificate_type"],
                            tier.value,
                            r["expiry_date"],
                            recipient,
                        ],
                    ).fetchone()
                    if duplicate:
                        continue
                    created += _insert_one(conn, r, tier, recipient, audience)
                conn.execute(
                    "update certification_expiry_tracking "
                    "set notification_thresholds_sent = notification_thresholds_sent || %s, "
                    "last_notified_at = %s where certification_id = %s",
                    [tier.days, CLOCK.now(), r["certification_id"]],
                )
    return time.perf_counter() - started, created


def _insert_one(
    conn: psycopg.Connection[Any], r: dict[str, Any], tier: Tier, recipient: Any, audience: Audience
) -> int:
    message = expiry_message(
        audience,
        r["peer_mentor_id"],
        r["certification_id"],
        r["certificate_type"],
        tier,
        r["expiry_date"],
    )
    row = conn.execute(
        "insert into notifications (organization_id, recipient_id, subject_mentor_id, category, "
        "certificate_type, threshold_tier, notification_window_start, message_key, data, "
        "idempotency_key) values (%s, %s, %s, 'certification_expiry', %s, %s, %s, %s, %s, %s) "
        "returning id",
        [
            r["organization_id"],
            recipient,
            r["peer_mentor_id"],
            r["certificate_type"],
            tier.value,
            r["expiry_date"],
            message_key(audience, tier),
            json.dumps(message.data),
            expiry_notification_key(r["certification_id"], tier, r["expiry_date"], recipient),
        ],
    ).fetchone()
    assert row is not None
    conn.execute(
        "insert into cert_notification_log (certification_id, notification_type, recipient_id, "
        "idempotency_key, organization_id) values (%s, %s, %s, %s, %s)",
        [
            r["certification_id"],
            tier.value,
            recipient,
            cert_log_key(r["certification_id"], tier, r["expiry_date"], recipient),
            r["organization_id"],
        ],
    )
    conn.execute(
        "insert into push_notices (organization_id, notification_id, recipient_id, payload, "
        "collapse_key) values (%s, %s, %s, %s, %s)",
        [
            r["organization_id"],
            row["id"],
            recipient,
            json.dumps(message.push_payload(row["id"])),
            collapse_key(r["certification_id"]),
        ],
    )
    return 1


async def timed_orchestrator(url: str, batch_size: int) -> tuple[float, int]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute(
            """select t.certification_id, t.organization_id, t.peer_mentor_id, t.certificate_type,
                      t.expiry_date,
                      array(select a.coordinator_id from coordinator_assignments a
                            where a.peer_mentor_id = t.peer_mentor_id) as coordinators
               from certification_expiry_tracking t
               where t.expiry_date between %s::date and %s::date + 60
               order by t.certification_id limit %s""",
            [TODAY, TODAY, batch_size],
        ).fetchall()
    records = [
        MentorRecord(
            mentor_id=r["peer_mentor_id"],
            certification_id=r["certification_id"],
            organization_id=r["organization_id"],
            certificate_type=r["certificate_type"],
            expiry_date=r["expiry_date"],
            coordinator_ids=tuple(r["coordinators"]),
        )
        for r in rows
    ]
    settings = Settings(pool_min_size=1, pool_max_size=1)
    async with open_pool(url, settings) as pool, pool.connection() as conn:
        await conn.execute("select 1")
        await conn.commit()
        orchestrator = postgres_orchestrator(conn, CLOCK)
        started = time.perf_counter()
        result = await orchestrator.process(records)
        elapsed = time.perf_counter() - started
    assert result.failed == 0, result
    return elapsed, result.created


class Timing:
    """Median and all runs of one measurement, and what the last run produced."""

    def __init__(self, runs: list[float], produced: int) -> None:
        self.runs = runs
        self.median = statistics.median(runs)
        self.produced = produced

    def as_dict(self, certificates: int) -> dict[str, Any]:
        return {
            "certificates": certificates,
            "notifications": self.produced,
            "median_s": self.median,
            "runs_s": self.runs,
        }


def median_of(runs: int, url: str, fn: Any) -> Timing:
    """Run `fn` `runs` times, each on freshly reset sweep state."""
    times: list[float] = []
    produced = 0
    for _ in range(runs):
        reset(url)
        elapsed, produced = fn()
        times.append(elapsed)
    return Timing(times, produced)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a role that may create databases",
    )
    parser.add_argument("--prefix", default="bench_expiry")
    parser.add_argument("--certificates", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000, help="certificates for the ratio")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=DEFAULT_PARTITIONS, help="sweep slices")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    configure_logging("error")

    big = ensure_database(args.admin_url, f"{args.prefix}_big", args.certificates, args.regenerate)
    small = ensure_database(args.admin_url, f"{args.prefix}_small", args.small, args.regenerate)

    first: list[float] = []
    rerun: list[float] = []
    nightly: list[float] = []
    created = next_day_created = 0
    for n in range(args.runs):
        reset(big)
        elapsed, created = asyncio.run(timed_sweep(big, args.parallel))
        first.append(elapsed)
        elapsed, again = asyncio.run(timed_sweep(big, args.parallel))
        assert again == 0, again
        rerun.append(elapsed)
        elapsed, next_day_created = asyncio.run(
            timed_sweep(big, args.parallel, NEXT_DAY, NEXT_CLOCK)
        )
        nightly.append(elapsed)
        print(
            f"run {n + 1}: first {first[-1]:.2f} s, re-run {rerun[-1]:.2f} s, "
            f"next day {nightly[-1]:.2f} s ({next_day_created} notifications)",
            file=sys.stderr,
        )
    set_based = median_of(args.runs, small, lambda: asyncio.run(timed_sweep(small, args.parallel)))
    looped = median_of(args.runs, small, lambda: per_record(small))
    orchestrated = median_of(args.runs, small, lambda: asyncio.run(timed_orchestrator(small, 200)))

    figures: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "python": platform.python_version(),
        "runs": args.runs,
        "parallel": args.parallel,
        "sweep_first_run": {
            "certificates": args.certificates,
            "notifications": created,
            "median_s": statistics.median(first),
            "runs_s": first,
            "target_s": 20.0,
        },
        "sweep_rerun": {"median_s": statistics.median(rerun), "runs_s": rerun, "target_s": 5.0},
        "sweep_next_day": {
            "notifications": next_day_created,
            "median_s": statistics.median(nightly),
            "runs_s": nightly,
            "target_s": 4.5,
        },
        "small_set_based": set_based.as_dict(args.small),
        "small_per_record": looped.as_dict(args.small),
        "ratio_per_record_over_set_based": looped.median / set_based.median,
        "orchestrator_200": orchestrated.as_dict(200) | {"target_s": 0.1},
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)
    missed = [
        name
        for name, ok in (
            ("sweep first run < 20 s", figures["sweep_first_run"]["median_s"] < 20),
            ("sweep re-run < 5 s", figures["sweep_rerun"]["median_s"] < 5),
            ("sweep next day < 4.5 s", figures["sweep_next_day"]["median_s"] < 4.5),
            ("set-based >= 50x per-record", figures["ratio_per_record_over_set_based"] >= 50),
            ("orchestrator 200 records < 100 ms", orchestrated.median < 0.1),
        )
        if not ok
    ]
    print("all targets met" if not missed else f"MISSED: {', '.join(missed)}", file=sys.stderr)
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
