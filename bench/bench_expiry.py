"""Benchmark the expiry job (issues 3 and 28): the set-based sweep against the bare
floor of what it writes, against a faithful per-record implementation of ticket 004's
design writing exactly the same rows, and the ticket-004 orchestrator.

It makes (or reuses) two scratch databases on the server of ``--admin-url``:

* ``<prefix>_big``: ``--certificates`` (default 1,000,000) certificates, one per mentor,
  in 3 organisations and 3,000 chapters (two coordinators and an admin each; 98 % of
  mentors have an assigned coordinator, the others' chapter admins stand in), one
  device per person, a directory listing per mentor. Expiry dates are spread evenly
  from 30 days ago to 669 days ahead, so on the benchmark day about 13 % of
  certificates are due a notice (61 days of warning window and 30 of lapse out of 700).
* ``<prefix>_small``: the same shape with ``--small`` (default 10,000) certificates.

Measured in rounds (the sweep state is reset, untimed, before each run; the machine is
shared, so what is compared is measured in the same round, in alternating order):

1. small: the sweep's first run (wall time, the Python process's CPU time and its
   server backends' CPU time, read from /proc, so only with the server on this
   machine), and the per-record implementation (fetch the certificates with one query,
   then for each one, one at a time and in its own transaction: classify, find the
   coordinators or else the chapter admins, check each notice for a duplicate, insert
   the notification, log it, queue its push, mark the tier sent with the business day;
   then hide and show directory listings one at a time). The two databases' rows are
   compared by fingerprint (every column but the notices' random ids) and must be
   equal. Target (issue 28): the sweep at least 15 times faster, its client CPU at most
   25 % of its server CPU.
2. big (unless ``--certificates 0``): the sweep's first run, the bare floor (the same
   rows inserted into unlogged copies of the four tables without indexes, foreign keys
   or triggers, the tier marks applied to an unlogged copy of the sweep state, split
   over as many connections as the sweep uses), an immediate re-run (writes nothing)
   and the nightly run of the next business day. Targets (issue 28): first run at most
   2.0 times the floor, the next day at most 5 % of the first run.
3. the orchestrator on a batch of 200 due records with its PostgreSQL collaborators.

Usage::

    uv run python bench/bench_expiry.py --admin-url postgresql://postgres@127.0.0.1:5432/postgres
    uv run python bench/bench_expiry.py --certificates 0 --runs 5 --json small.json

Generation of the big database takes a few minutes and is skipped when it exists with
the same size (``--regenerate`` forces it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from mentor_notify.config import Settings
from mentor_notify.db import MigrationRunner, connect, open_pool
from mentor_notify.domain import (
    AsOf,
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
       set notification_thresholds_sent = '{}', last_notified_at = null, last_notified_on = null
       where last_notified_at is not null or notification_thresholds_sent <> '{}'
          or last_notified_on is not null""",
    """update public.mentor_directory
       set suppression_status = 'active', suppression_reason = null, suppressed_at = null
       where suppression_status = 'suppressed'""",
]


def database_url(admin_url: str, name: str) -> str:
    return make_conninfo(admin_url, dbname=name)


def empty_database(admin_url: str, name: str) -> str:
    """Database `name` dropped and created anew, empty; its URL."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return database_url(admin_url, name)


def fresh_database(admin_url: str, name: str) -> str:
    """Database `name` dropped and created anew with the schema; its URL."""
    url = empty_database(admin_url, name)

    async def migrate() -> None:
        conn = await connect(url)
        try:
            await MigrationRunner(conn, _layout()).migrate()
        finally:
            await conn.close()

    asyncio.run(migrate())
    return url


def checkout_database(admin_url: str, name: str, checkout: Path) -> str:
    """Database `name` dropped and created anew with the schema of another checkout's
    migrations, applied by that checkout's own `mentor-notify db migrate` (its .venv):
    for a side-by-side run, where a migration of ours must not count for both; its URL."""
    url = empty_database(admin_url, name)
    made = subprocess.run(
        [str(checkout / ".venv/bin/mentor-notify"), "--database-url", url, "db", "migrate"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        raise RuntimeError(f"migrating {name} with {checkout}: {made.stderr[-2000:]}")
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


def backend_cpu(pids: list[int]) -> float | None:
    """CPU seconds (user + system) the server backends `pids` have used so far; None
    when they are not processes of this machine."""
    total = 0.0
    try:
        for pid in pids:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None
    return total


@dataclass
class Run:
    """One timed run: wall time, what it produced, and CPU time on both sides."""

    seconds: float
    produced: int
    client_cpu: float | None = None
    server_cpu: float | None = None


async def timed_sweep(url: str, parallel: int, day: date = TODAY, clock: FixedClock = CLOCK) -> Run:
    """The sweep over every organisation, on a pool of exactly `parallel` connections
    (whose backends' CPU time is read before and after)."""
    settings = Settings(pool_min_size=parallel, pool_max_size=parallel)
    async with open_pool(url, settings) as pool:
        pids: list[int] = []
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(parallel):
                conn = await stack.enter_async_context(pool.connection())
                pids.append(conn.info.backend_pid)
        server_before = backend_cpu(pids)
        cpu = time.process_time()
        started = time.perf_counter()
        result = await ExpirySweep(pool, clock, partitions=parallel).run(today=day)
        elapsed = time.perf_counter() - started
        client = time.process_time() - cpu
        server_after = backend_cpu(pids)
    assert result.ok, result
    server = (
        server_after - server_before
        if server_before is not None and server_after is not None
        else None
    )
    return Run(elapsed, result.total("notifications_created"), client, server)


# The per-record implementation's statements: ticket 004 one record at a time.
_COORDINATORS = """select distinct coordinator_id from coordinator_assignments
                   where peer_mentor_id = %s and organization_id = %s order by 1"""
_ADMINS = """select distinct a.user_id from chapter_memberships m
             join chapter_memberships a on a.chapter_id = m.chapter_id and a.role = 'chapter_admin'
             where m.user_id = %(mentor)s and m.organization_id = %(org)s
               and m.role = 'peer_mentor' and a.user_id <> %(mentor)s
             order by 1"""
_DUPLICATE = """select 1 from notifications where category = 'certification_expiry'
                and subject_mentor_id = %s and certificate_type = %s and threshold_tier = %s
                and notification_window_start = %s and recipient_id = %s"""
_MARK = """update certification_expiry_tracking
           set notification_thresholds_sent = notification_thresholds_sent || %(days)s,
               last_notified_at = %(now)s, last_notified_on = %(day)s
           where certification_id = %(id)s and expiry_date = %(expiry)s"""


def per_record(url: str) -> Run:
    """Ticket 004's design, one record at a time (the baseline), writing the rows the
    sweep writes."""
    created = 0
    now = CLOCK.now()
    cpu = time.process_time()
    started = time.perf_counter()
    with psycopg.connect(url, row_factory=dict_row) as conn:
        records = conn.execute(
            """select t.certification_id, t.organization_id, t.peer_mentor_id, t.certificate_type,
                      t.expiry_date, t.notification_thresholds_sent, o.expiry_thresholds
               from certification_expiry_tracking t join organizations o on o.id = t.organization_id
               where t.expiry_date <= %s::date + 90""",
            [TODAY],
        ).fetchall()
        conn.commit()
        for r in records:
            tier = classify_tier(r["expiry_date"], TODAY, r["expiry_thresholds"])
            if tier is None or tier.days in r["notification_thresholds_sent"]:
                continue
            mentor, org = r["peer_mentor_id"], r["organization_id"]
            with conn.transaction():
                coordinators = [
                    row["coordinator_id"]
                    for row in conn.execute(_COORDINATORS, [mentor, org]).fetchall()
                ]
                admins = (
                    []
                    if coordinators
                    else [
                        row["user_id"]
                        for row in conn.execute(_ADMINS, {"mentor": mentor, "org": org})
                    ]
                )
                recipients = [(mentor, Audience.MENTOR)]
                recipients += [(c, Audience.COORDINATOR) for c in coordinators]
                recipients += [(a, Audience.CHAPTER_ADMIN) for a in admins]
                for recipient, audience in recipients:
                    duplicate = conn.execute(
                        _DUPLICATE,
                        [mentor, r["certificate_type"], tier.value, r["expiry_date"], recipient],
                    ).fetchone()
                    if duplicate:
                        continue
                    created += _insert_one(conn, r, tier, recipient, audience)
                conn.execute(
                    _MARK,
                    {
                        "days": tier.days,
                        "now": now,
                        "day": TODAY,
                        "id": r["certification_id"],
                        "expiry": r["expiry_date"],
                    },
                )
        _directory_one_by_one(conn, now)
    return Run(time.perf_counter() - started, created, time.process_time() - cpu)


def _directory_one_by_one(conn: psycopg.Connection[Any], now: datetime) -> None:
    """The directory step one listing at a time: hide a lapsed one, list again one
    the sweep hid whose certificate was renewed."""
    listings = conn.execute(
        """select id, suppression_status, certification_expiry_date from mentor_directory
           where (suppression_status = 'active' and certification_expiry_date < %(day)s)
              or (suppression_status = 'suppressed'
                  and suppression_reason = 'certification_lapsed'
                  and certification_expiry_date >= %(day)s)""",
        {"day": TODAY},
    ).fetchall()
    conn.commit()
    for listing in listings:
        with conn.transaction():
            if listing["suppression_status"] == "active":
                conn.execute(
                    "update mentor_directory set suppression_status = 'suppressed', "
                    "suppression_reason = 'certification_lapsed', suppressed_at = %s, "
                    "updated_at = %s where id = %s",
                    [now, now, listing["id"]],
                )
            else:
                conn.execute(
                    "update mentor_directory set suppression_status = 'active', "
                    "suppression_reason = null, suppressed_at = null, updated_at = %s "
                    "where id = %s",
                    [now, listing["id"]],
                )


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
    now = CLOCK.now()
    row = conn.execute(
        "insert into notifications (organization_id, recipient_id, subject_mentor_id, category, "
        "certificate_type, threshold_tier, notification_window_start, message_key, data, "
        "status, idempotency_key, created_at) "
        "values (%s, %s, %s, 'certification_expiry', %s, %s, %s, %s, %s, 'pending', %s, %s) "
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
            now,
        ],
    ).fetchone()
    assert row is not None
    conn.execute(
        "insert into cert_notification_log (certification_id, notification_type, sent_at, "
        "recipient_id, idempotency_key, organization_id) values (%s, %s, %s, %s, %s, %s)",
        [
            r["certification_id"],
            tier.value,
            now,
            recipient,
            cert_log_key(r["certification_id"], tier, r["expiry_date"], recipient),
            r["organization_id"],
        ],
    )
    # The payload from its one builder (private.expiry_push_payload over
    # private.push_payload), as the sweep's statement gets it.
    conn.execute(
        "insert into push_notices (organization_id, notification_id, recipient_id, payload, "
        "collapse_key, status, available_at, created_at) "
        "values (%s, %s, %s, private.expiry_push_payload(%s, %s, %s, %s, %s, %s, %s, %s), "
        "%s, 'pending', %s, %s)",
        [
            r["organization_id"],
            row["id"],
            recipient,
            row["id"],
            audience.value,
            tier.value,
            message.certificate_type,
            message.certification_id,
            message.mentor_id,
            message.expiry_date,
            message.deep_link,
            collapse_key(r["certification_id"]),
            now,
            now,
        ],
    )
    return 1


# What both implementations must have written, every column but the notices' random
# ids (a push is named by its notification's key, and its payload's notification id
# must be that notification's).
_FINGERPRINTS = {
    "notifications": """
        select count(*), md5(coalesce(string_agg(concat_ws('|', organization_id, recipient_id,
                 subject_mentor_id, category, certificate_type, threshold_tier,
                 notification_window_start, message_key, data::text, status, idempotency_key,
                 created_at), E'\\n' order by idempotency_key), ''))
        from notifications""",
    "cert_notification_log": """
        select count(*), md5(coalesce(string_agg(concat_ws('|', certification_id,
                 notification_type, sent_at, recipient_id, idempotency_key, organization_id),
                 E'\\n' order by idempotency_key), ''))
        from cert_notification_log""",
    "push_notices": """
        select count(*), md5(coalesce(string_agg(concat_ws('|', p.organization_id,
                 n.idempotency_key, p.recipient_id, (p.payload #- '{data,notification_id}')::text,
                 p.payload -> 'data' ->> 'notification_id' = n.id::text, p.collapse_key,
                 p.status, p.available_at, p.created_at), E'\\n' order by n.idempotency_key), ''))
        from push_notices p join notifications n on n.id = p.notification_id""",
    "certification_expiry_tracking": """
        select count(*), md5(coalesce(string_agg(concat_ws('|', certification_id,
                 notification_thresholds_sent, last_notified_at, last_notified_on),
                 E'\\n' order by certification_id), ''))
        from certification_expiry_tracking where last_notified_at is not null""",
    "mentor_directory": """
        select count(*), md5(coalesce(string_agg(concat_ws('|', id, suppression_status,
                 suppression_reason, suppressed_at), E'\\n' order by id), ''))
        from mentor_directory where suppression_status <> 'active'""",
}


def fingerprint(url: str) -> dict[str, str]:
    """Row count and digest of what the expiry job wrote, per table."""
    with psycopg.connect(url) as conn:
        prints = {}
        for table, query in _FINGERPRINTS.items():
            row = conn.execute(query).fetchone()
            assert row is not None
            prints[table] = f"{row[0]} rows, {row[1]}"
    return prints


# The bare floor: the rows a first run wrote, inserted again into unlogged copies of
# their tables that have no index, foreign key, trigger, default or check, and the tier
# marks applied to an unlogged copy of the sweep state; each of the `parallel`
# connections does its share of every table, as the sweep's slices do.
_FLOOR_SETUP = [
    "drop table if exists floor_notifications, floor_log, floor_pushes, floor_tracking, "
    "floor_marks",
    "create unlogged table floor_notifications (like public.notifications)",
    "create unlogged table floor_log (like public.cert_notification_log)",
    "create unlogged table floor_pushes (like public.push_notices)",
    """create unlogged table floor_tracking as
       select * from public.certification_expiry_tracking""",
    """create unlogged table floor_marks as
       select certification_id, notification_thresholds_sent, last_notified_at, last_notified_on
       from public.certification_expiry_tracking where last_notified_at is not null""",
    "vacuum analyze floor_tracking, floor_marks",
]
_SHARE = "mod(hashtext({}::text) & 2147483647, %(parts)s) = %(part)s"
_FLOOR_WRITES = [
    "insert into floor_notifications select * from public.notifications where "
    + _SHARE.format("id"),
    "insert into floor_log select * from public.cert_notification_log where " + _SHARE.format("id"),
    "insert into floor_pushes select * from public.push_notices where " + _SHARE.format("id"),
    """update floor_tracking f
       set notification_thresholds_sent = m.notification_thresholds_sent,
           last_notified_at = m.last_notified_at, last_notified_on = m.last_notified_on
       from floor_marks m
       where f.certification_id = m.certification_id and """
    + _SHARE.format("m.certification_id"),
]


async def timed_floor(url: str, parallel: int) -> Run:
    """The bare floor of the rows the last first run wrote (see _FLOOR_WRITES)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in _FLOOR_SETUP:
            conn.execute(statement)
    conns = [await psycopg.AsyncConnection.connect(url) for _ in range(parallel)]
    try:
        pids = [c.info.backend_pid for c in conns]
        before = backend_cpu(pids)

        async def share(conn: psycopg.AsyncConnection[Any], part: int) -> None:
            async with conn.transaction():
                for statement in _FLOOR_WRITES:
                    await conn.execute(statement, {"parts": parallel, "part": part})

        started = time.perf_counter()
        await asyncio.gather(*(share(c, i) for i, c in enumerate(conns)))
        elapsed = time.perf_counter() - started
        after = backend_cpu(pids)
    finally:
        for c in conns:
            await c.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_FLOOR_SETUP[0])
    server = after - before if before is not None and after is not None else None
    return Run(elapsed, 0, None, server)


async def timed_orchestrator(url: str, batch_size: int) -> Run:
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
        result = await orchestrator.process(records, as_of=AsOf.on(TODAY))
        elapsed = time.perf_counter() - started
    assert result.failed == 0, result
    return Run(elapsed, result.created)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _median(runs: list[Run], field: str) -> float | None:
    values = [getattr(r, field) for r in runs]
    return statistics.median(values) if all(v is not None for v in values) else None


def _summary(runs: list[Run]) -> dict[str, Any]:
    return {
        "median_s": _median(runs, "seconds"),
        "runs_s": [round(r.seconds, 3) for r in runs],
        "produced": runs[-1].produced,
        "median_client_cpu_s": _median(runs, "client_cpu"),
        "median_server_cpu_s": _median(runs, "server_cpu"),
    }


def small_rounds(url: str, rounds: int, parallel: int) -> dict[str, Any]:
    """The sweep against the per-record baseline, alternating which goes first."""
    sweeps: list[Run] = []
    loops: list[Run] = []
    ratios: list[float] = []
    cpu_shares: list[float] = []
    for n in range(rounds):
        order = ("sweep", "per_record") if n % 2 == 0 else ("per_record", "sweep")
        prints = {}
        for name in order:
            reset(url)
            if name == "sweep":
                sweeps.append(asyncio.run(timed_sweep(url, parallel)))
            else:
                loops.append(per_record(url))
            prints[name] = fingerprint(url)
        if prints["sweep"] != prints["per_record"]:
            raise SystemExit(f"the two implementations wrote different rows: {prints}")
        ratios.append(loops[-1].seconds / sweeps[-1].seconds)
        if sweeps[-1].server_cpu:
            cpu_shares.append((sweeps[-1].client_cpu or 0.0) / sweeps[-1].server_cpu)
        print(
            f"small round {n + 1}: sweep {sweeps[-1].seconds:.3f} s "
            f"(client cpu {sweeps[-1].client_cpu:.3f} s, server cpu {sweeps[-1].server_cpu} s), "
            f"per-record {loops[-1].seconds:.2f} s, ratio {ratios[-1]:.1f}x, "
            f"load {load_average()}",
            file=sys.stderr,
        )
    return {
        "sweep_first_run": _summary(sweeps),
        "per_record": _summary(loops),
        "rows_identical": True,
        "rows": prints["sweep"],
        "median_ratio_per_record_over_sweep": statistics.median(ratios),
        "ratios": [round(r, 2) for r in ratios],
        "median_client_over_server_cpu": statistics.median(cpu_shares) if cpu_shares else None,
    }


def big_rounds(url: str, rounds: int, parallel: int) -> dict[str, Any]:
    """First run, its bare floor, re-run and next day, each round on a fresh state."""
    first: list[Run] = []
    floors: list[Run] = []
    reruns: list[Run] = []
    nights: list[Run] = []
    for n in range(rounds):
        reset(url)
        first.append(asyncio.run(timed_sweep(url, parallel)))
        floors.append(asyncio.run(timed_floor(url, parallel)))
        reruns.append(asyncio.run(timed_sweep(url, parallel)))
        assert reruns[-1].produced == 0, reruns[-1]
        nights.append(asyncio.run(timed_sweep(url, parallel, NEXT_DAY, NEXT_CLOCK)))
        print(
            f"big round {n + 1}: first {first[-1].seconds:.2f} s "
            f"(server cpu {first[-1].server_cpu}), floor {floors[-1].seconds:.2f} s "
            f"(server cpu {floors[-1].server_cpu}), re-run {reruns[-1].seconds:.2f} s, "
            f"next day {nights[-1].seconds:.2f} s ({nights[-1].produced} notifications), "
            f"load {load_average()}",
            file=sys.stderr,
        )
    return {
        "sweep_first_run": _summary(first),
        "bare_floor": _summary(floors),
        "sweep_rerun": _summary(reruns),
        "sweep_next_day": _summary(nights),
        "median_first_over_floor": statistics.median(
            f.seconds / b.seconds for f, b in zip(first, floors, strict=True)
        ),
        "median_next_day_over_first": statistics.median(
            x.seconds / f.seconds for x, f in zip(nights, first, strict=True)
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a role that may create databases",
    )
    parser.add_argument("--prefix", default="bench_expiry")
    parser.add_argument(
        "--certificates", type=int, default=1_000_000, help="big database (0: skip it)"
    )
    parser.add_argument("--small", type=int, default=10_000, help="certificates for the ratio")
    parser.add_argument("--runs", type=int, default=3, help="rounds")
    parser.add_argument("--parallel", type=int, default=DEFAULT_PARTITIONS, help="sweep slices")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    configure_logging("error")

    small = ensure_database(args.admin_url, f"{args.prefix}_small", args.small, args.regenerate)
    figures: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "runs": args.runs,
        "parallel": args.parallel,
        "load_average_before": load_average(),
        "small": {"certificates": args.small} | small_rounds(small, args.runs, args.parallel),
    }
    orchestrated = []
    for _ in range(args.runs):
        reset(small)
        orchestrated.append(asyncio.run(timed_orchestrator(small, 200)))
    figures["orchestrator_200"] = _summary(orchestrated)
    if args.certificates:
        big = ensure_database(
            args.admin_url, f"{args.prefix}_big", args.certificates, args.regenerate
        )
        figures["big"] = {"certificates": args.certificates} | big_rounds(
            big, args.runs, args.parallel
        )
    figures["load_average_after"] = load_average()
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)
    checks = [
        (
            "small: sweep >= 15x per-record",
            figures["small"]["median_ratio_per_record_over_sweep"] >= 15,
        ),
        (
            "small: client CPU <= 25 % of server CPU",
            (figures["small"]["median_client_over_server_cpu"] or 1.0) <= 0.25,
        ),
    ]
    if "big" in figures:
        checks += [
            ("big: first run <= 2.0x floor", figures["big"]["median_first_over_floor"] <= 2.0),
            ("big: next day <= 5 % of first", figures["big"]["median_next_day_over_first"] <= 0.05),
        ]
    missed = [name for name, ok in checks if not ok]
    print("all targets met" if not missed else f"MISSED: {', '.join(missed)}", file=sys.stderr)
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
