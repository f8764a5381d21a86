"""Inbound certificate sync: ingest rate through the HTTP endpoint, and replay time.

1. **Ingest.** `mentor-notify serve` (one worker process) on a free port of
   127.0.0.1, over a scratch database with ``--mentors`` mapped mentors in two
   organisations: ``bench-held`` (sync off: events are stored and held) and
   ``bench-live`` (sync on: each event is also applied at once, through the
   certificate table, its triggers and the listing refresh). ``--clients``
   concurrent HTTP/1.1 clients (closed loop) post ``--events`` Dataverse-shaped
   webhook bodies (Update of a certificate row, the shape the tests use) to each,
   side by side in the same run; reported: events/s, p50/p99 latency, non-202
   answers, and the server process's CPU time per event.
2. **Replay.** ``--replay-events`` held events (five successive modifications per
   certificate, inserted set-based) applied by ``CertificateSync.replay`` once the
   organisation's switch is turned on; reported: seconds and events/s.
3. **Burst** (issue 24). ``--burst`` deliveries posted at once, each on a
   connection of its own, to ``bench-live`` on a server with the API's default
   in-flight limit (the webhooks have their own budget), with as many processes as
   the largest ``--workers``: answers by status (0 5xx
   wanted), events stored (0 lost), and the time until every one was applied by
   the server's applier. Reported: held ingest (deliveries / seconds until the
   last answer) and applied throughput (deliveries / seconds until the last was
   applied), both from the first request sent.

Each is run ``--runs`` times; the summary is the median.

Usage::

    uv run python bench/bench_sync.py --runs 3 --json sync.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg

from bench_api_load import (
    RawClient,
    busy_cpu_seconds,
    cpu_seconds,
    cpu_since,
    machine,
    percentile,
    postgres_pids,
    server_pids,
)
from bench_expiry import checkout_database, fresh_database
from bench_push import MENTOR_NOTIFY, free_port, wait_until_answering
from mentor_notify.api.api_keys import key_sha256
from mentor_notify.config import Settings
from mentor_notify.db import open_pool
from mentor_notify.domain import SystemClock
from mentor_notify.sync import CertificateSync

# The Dataverse payload shape is written once, for the tests; the benchmark
# posts the same bodies.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.sync.payloads import Holder, dataverse

SECRET = "bench-jwt-secret-long-enough-for-hs256-signatures"
API_KEY = "bench-api-key-long-enough-0123456789abcdef"
ORGS = {"bench-held": False, "bench-live": True}
# Each organisation's own webhook key (a key admits only to its organisation).
SYNC_KEYS = {slug: f"bench-sync-key-of-{slug}-long-enough-0123456789" for slug in ORGS}


def prepare(admin_url: str, name: str, mentors: int, checkout: Path | None = None) -> str:
    """A scratch database with `mentors` listed, certified and mapped mentors in each
    organisation of ORGS; its schema is this checkout's, or `checkout`'s migrations
    (another checkout with its .venv, whose server will use it)."""
    if checkout is None:
        url = fresh_database(admin_url, name)
    else:
        url = checkout_database(admin_url, name, checkout)
    with psycopg.connect(url) as conn:
        for slug, enabled in ORGS.items():
            org = uuid4()
            conn.execute(
                "insert into public.organizations (id, slug, name, certificate_type) "
                "values (%s, %s, %s, 'hlf_peer_mentor')",
                [org, slug, slug],
            )
            conn.execute(
                "insert into public.chapters (organization_id, name) values (%s, 'Bench')", [org]
            )
            conn.execute(
                "insert into public.certificate_sync_settings values (%s, %s)", [org, enabled]
            )
            conn.execute(
                "insert into public.certificate_sync_keys (organization_id, key_sha256) "
                "values (%s, %s)",
                [org, key_sha256(SYNC_KEYS[slug])],
            )
            conn.execute(
                "insert into public.certificate_sync_types "
                "(organization_id, external_type, certificate_type) "
                "values (%s, '100000000', 'hlf_peer_mentor')",
                [org],
            )
            conn.execute(
                """
                with people as (
                  select gen_random_uuid() as id, gen_random_uuid() as contact, n
                  from generate_series(1, %(n)s) n
                ),
                a as (insert into auth.users (id) select id from people),
                u as (insert into public.users (id, display_name)
                      select id, 'Mentor ' || n from people),
                m as (insert into public.chapter_memberships
                        (organization_id, chapter_id, user_id, role)
                      select %(org)s, c.id, p.id, 'peer_mentor' from people p
                      cross join public.chapters c where c.organization_id = %(org)s),
                s as (insert into public.certificate_sync_people
                        (organization_id, external_person_id, user_id)
                      select %(org)s, p.contact::text, p.id from people p)
                insert into public.peer_mentor_certifications
                  (organization_id, peer_mentor_id, certificate_type, issued_on, expiry_date)
                select %(org)s, p.id, 'hlf_peer_mentor', current_date - 700, current_date + 30
                from people p
                """,
                {"n": mentors, "org": org},
            )
            conn.execute(
                "insert into public.mentor_directory "
                "(organization_id, chapter_id, peer_mentor_id, display_name) "
                "select m.organization_id, m.chapter_id, m.user_id, 'Mentor' "
                "from public.chapter_memberships m where m.organization_id = %s",
                [org],
            )
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    return url


def contacts(url: str, slug: str) -> list[UUID]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select p.external_person_id from public.certificate_sync_people p "
            "join public.organizations o on o.id = p.organization_id where o.slug = %s",
            [slug],
        ).fetchall()
    return [UUID(r[0]) for r in rows]


def bodies(people: list[UUID], events: int, rng: random.Random) -> list[bytes]:
    """Dataverse Update calls, each a new modification of one mentor's certificate."""
    start = datetime.now(UTC) - timedelta(hours=1)
    certificates = {p: uuid4() for p in people}
    out = []
    for i in range(events):
        person = rng.choice(people)
        holder = Holder(person, "Bench Mentor", "bench@example.no", "+47 000 00 000")
        expiry = date.today() + timedelta(days=rng.randint(30, 900))
        modified = start + timedelta(milliseconds=i)
        out.append(dataverse("Update", certificates[person], holder, modified, expiry=expiry))
    return out


@contextmanager
def serving(
    url: str, workers: int, in_flight_limit: bool = False, command: Path = MENTOR_NOTIFY
) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = os.environ | {
        "MENTOR_NOTIFY_JWT_SECRET": SECRET,
        "MENTOR_NOTIFY_API_KEYS": API_KEY,
        "MENTOR_NOTIFY_LOG_LEVEL": "error",
    }
    if not in_flight_limit:
        env["MENTOR_NOTIFY_API_MAX_IN_FLIGHT"] = "0"
    argv = [str(command), "--database-url", url, "serve", "--port", str(port)]
    argv += ["--workers", str(workers)]
    process = subprocess.Popen(argv, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}/livez")
        time.sleep(2 + workers)
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def raw_request(host: str, slug: str, body: bytes) -> bytes:
    """A whole webhook request as Dataverse sends it (HttpHeader authentication)."""
    head = (
        f"POST /v1/sync/{slug}/dataverse HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        f"apikey: {SYNC_KEYS[slug]}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def post_all(
    base: str, slug: str, payloads: list[bytes], clients: int, limit_s: float = 30.0
) -> dict[str, Any]:
    """Post every payload from `clients` concurrent keep-alive connections (closed loop:
    each sends its next request when the last is answered); rate and latencies.

    The lean client of bench_api_load, since httpx's own CPU per request would take
    the cores the server is measured on."""
    host, port = base.removeprefix("http://").split(":")
    raw = RawClient(host, int(port), limit_s, max_connections=clients)
    requests = [raw_request(host, slug, body) for body in payloads]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    queue = list(reversed(requests))

    async def worker() -> None:
        while queue:
            request = queue.pop()
            began = time.perf_counter()
            try:
                status = await raw.request(request)
            except (TimeoutError, OSError) as exc:
                status = type(exc).__name__
            latencies.append(time.perf_counter() - began)
            statuses[status] = statuses.get(status, 0) + 1

    client_cpu = time.process_time()
    began = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(clients)))
    finally:
        raw.close()
    elapsed = time.perf_counter() - began
    return {
        "events": len(payloads),
        "seconds": round(elapsed, 3),
        "events_per_s": round(len(payloads) / elapsed, 1),
        "p50_ms": round(1000 * (percentile(latencies, 0.50) or 0), 2),
        "p99_ms": round(1000 * (percentile(latencies, 0.99) or 0), 2),
        "not_202": sum(n for code, n in statuses.items() if code != "202"),
        "answers": statuses,
        "client_cpu_ms_per_event": round(
            1000 * (time.process_time() - client_cpu) / len(payloads), 3
        ),
    }


def switch(url: str, slug: str, enabled: bool) -> None:
    """Turn the organisation's sync on or off."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "update public.certificate_sync_settings s set enabled = %s "
            "from public.organizations o where o.id = s.organization_id and o.slug = %s",
            [enabled, slug],
        )


def ingest(url: str, args: Any, rng: random.Random) -> dict[str, dict[str, Any]]:
    """One ingest run into each organisation, on a server of each worker count."""
    results = {}
    for slug, enabled in ORGS.items():
        switch(url, slug, enabled)
    for workers in args.workers:
        with serving(url, workers) as (base, pid):
            for slug in ORGS:
                payloads = bodies(contacts(url, slug), args.events, rng)
                pids = server_pids(pid)
                database = args.database
                pg = postgres_pids(database)
                before, pg_before = cpu_seconds(pids), cpu_seconds(pg)
                busy_before, wall = busy_cpu_seconds(), time.perf_counter()
                result = asyncio.run(post_all(base, slug, payloads, args.clients))
                if ORGS[slug]:
                    # The applier applies in the background: until it is done.
                    applied_s = until_applied(url, slug, wall)
                    result["applied_events_per_s"] = round(args.events / applied_s, 1)
                server = cpu_since(before, pids)
                postgres = cpu_since(pg_before, postgres_pids(database))
                busy = busy_cpu_seconds() - busy_before
                client = result["client_cpu_ms_per_event"] * args.events / 1000
                result["server_cpu_ms_per_event"] = round(1000 * server / args.events, 3)
                result["postgres_cpu_ms_per_event"] = round(1000 * postgres / args.events, 3)
                # Cores other processes (other users of the machine) kept busy meanwhile.
                result["other_load_cores"] = round(
                    (busy - server - postgres - client) / (time.perf_counter() - wall), 2
                )
                results[f"{slug}/{workers}w"] = result
                print(slug, workers, result, flush=True)
    return results


def live_events(url: str, slug: str = "bench-live") -> dict[str, int]:
    """The organisation's stored events by status."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select e.status, count(*) from public.certificate_sync_events e "
            "join public.organizations o on o.id = e.organization_id "
            "where o.slug = %s group by e.status",
            [slug],
        ).fetchall()
    return {status: n for status, n in rows}


def until_applied(url: str, slug: str, since: float, limit_s: float = 120.0) -> float:
    """Seconds from `since` until the organisation holds no pending event (the
    server's applier caught up), at most `limit_s`."""
    while live_events(url, slug).get("pending", 0) and time.perf_counter() - since < limit_s:
        time.sleep(0.05)
    return time.perf_counter() - since


def burst(
    url: str,
    deliveries: int,
    workers: int,
    rng: random.Random,
    database: str,
    command: Path = MENTOR_NOTIFY,
) -> dict[str, Any]:
    """`deliveries` posted at once to bench-live on a server of `workers` processes
    (`command`'s `serve`) with the default in-flight limit; then wait (up to two
    minutes) until all are applied. Also the CPU the server and PostgreSQL spent
    per delivery, from the first request until all were applied."""
    switch(url, "bench-live", True)
    with serving(url, workers, in_flight_limit=True, command=command) as (base, pid):
        payloads = bodies(contacts(url, "bench-live"), deliveries, rng)
        before = sum(live_events(url).values())
        pids, pg = server_pids(pid), postgres_pids(database)
        cpu_before, pg_before = cpu_seconds(pids), cpu_seconds(pg)
        began = time.perf_counter()
        posted = asyncio.run(post_all(base, "bench-live", payloads, deliveries, limit_s=60.0))
        answered = time.perf_counter() - began
        settled = until_applied(url, "bench-live", began)
        server = cpu_since(cpu_before, pids)
        postgres = cpu_since(pg_before, postgres_pids(database))
        events = live_events(url)
    stored = sum(events.values()) - before
    return {
        "load_average_1m": os.getloadavg()[0],
        "workers": workers,
        "deliveries": deliveries,
        "answers": posted["answers"],
        "answered_5xx": sum(n for code, n in posted["answers"].items() if not code.startswith("2")),
        "stored": stored,
        "lost": deliveries - stored,
        "still_pending": events.get("pending", 0),
        "answered_s": round(answered, 3),
        "applied_s": round(settled, 3),
        "held_ingest_per_s": round(deliveries / answered, 1),
        "applied_per_s": round(deliveries / settled, 1),
        "p99_answer_ms": posted["p99_ms"],
        "server_cpu_ms_per_event": round(1000 * server / deliveries, 3),
        "postgres_cpu_ms_per_event": round(1000 * postgres / deliveries, 3),
    }


def hold(url: str, events: int) -> None:
    """`events` held events of bench-held: five successive modifications per certificate
    of its first events/5 mentors, set-based."""
    with psycopg.connect(url) as conn:
        conn.execute("delete from public.certificate_sync_events")
        conn.execute("delete from public.certificate_sync_certificates")
        conn.execute(
            """
            insert into public.certificate_sync_events
              (organization_id, source, source_event_id, event_type, external_person_id,
               external_certificate_id, external_type, expiry_date, source_modified_at,
               body_sha256)
            select p.organization_id, 'v1', gen_random_uuid()::text, 'renewed',
                   p.external_person_id, 'cert-' || p.external_person_id, '100000000',
                   current_date + 100 + k * 30 + (random() * 20)::int,
                   now() - interval '1 hour' + k * interval '1 second',
                   encode(sha256(gen_random_uuid()::text::bytea), 'hex')
            from (select p.* from public.certificate_sync_people p
                  join public.organizations o on o.id = p.organization_id
                  where o.slug = 'bench-held' order by p.external_person_id
                  limit %(certs)s) p
            cross join generate_series(1, 5) k
            """,
            {"certs": events // 5},
        )
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze public.certificate_sync_events")


def replay(url: str) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async with open_pool(url, Settings(pool_min_size=1, pool_max_size=2)) as pool:
            began = time.perf_counter()
            result = await CertificateSync(pool, SystemClock()).replay(["bench-held"])
            elapsed = time.perf_counter() - began
        counts = result.organisations["bench-held"]
        total = counts.applied + counts.superseded + counts.dead
        return {
            "events": total,
            "applied": counts.applied,
            "dead": counts.dead,
            "seconds": round(elapsed, 3),
            "events_per_s": round(total / elapsed, 1),
        }

    return asyncio.run(run())


def side_by_side(url: str, args: Any, rng: random.Random) -> int:
    """The burst alone, `--runs` times; with `--before`, each run bursts that
    checkout's server and then this one's, so both meet the same machine load."""
    servers = {"this": (MENTOR_NOTIFY, url, args.database)}
    if args.before:
        # Its own database, migrated by its own migrations: its SQL is part of
        # what is compared.
        checkout = args.before.resolve()
        name = f"{args.database}_before"
        before_url = prepare(args.admin_url, name, args.mentors, checkout)
        servers = {"before": (checkout / ".venv/bin/mentor-notify", before_url, name)} | servers
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    for _ in range(args.runs):
        for name, (command, db_url, database) in servers.items():
            result = burst(db_url, args.burst, max(args.workers), rng, database, command)
            print(name, result, flush=True)
            runs[name].append(result)
    keys: tuple[str, ...] = ("held_ingest_per_s", "applied_per_s", "answered_5xx", "lost")
    keys += ("still_pending",)
    keys += ("server_cpu_ms_per_event", "postgres_cpu_ms_per_event", "load_average_1m")
    summary = {
        name: {key: statistics.median(r[key] for r in results) for key in keys}
        for name, results in runs.items()
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        report = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "args": {k: str(v) for k, v in vars(args).items() if k != "admin_url"},
            "runs": runs,
            "summary": summary,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="mentor_notify_bench_sync")
    parser.add_argument("--mentors", type=int, default=2000)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--workers",
        type=lambda t: [int(w) for w in t.split(",")],
        default=[1, 2],
        help="serve --workers counts to compare, comma-separated",
    )
    parser.add_argument("--replay-events", type=int, default=10_000)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--burst-only",
        action="store_true",
        help="only the burst (no closed loop, no replay)",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="another checkout (with its .venv) whose server takes the burst in turn with "
        "this one's, side by side in the same run (alternating; needs --burst-only)",
    )
    args = parser.parse_args(argv)
    rng = random.Random(19)
    url = prepare(args.admin_url, args.database, args.mentors)
    if args.burst_only:
        return side_by_side(url, args, rng)
    runs = []
    for run in range(args.runs):
        ingested = ingest(url, args, rng)
        switch(url, "bench-held", False)
        hold(url, args.replay_events)
        switch(url, "bench-held", True)
        replayed = replay(url)
        print("replay", replayed, flush=True)
        bursted = burst(url, args.burst, max(args.workers), rng, args.database)
        print("burst", bursted, flush=True)
        runs.append({"run": run + 1, "ingest": ingested, "replay": replayed, "burst": bursted})
    configs = list(runs[0]["ingest"])
    summary = (
        {
            key: {c: statistics.median(r["ingest"][c][key] for r in runs) for c in configs}
            for key in (
                "events_per_s",
                "p50_ms",
                "p99_ms",
                "server_cpu_ms_per_event",
                "postgres_cpu_ms_per_event",
                "other_load_cores",
            )
        }
        | {
            "replay_seconds": statistics.median(r["replay"]["seconds"] for r in runs),
            "replay_events_per_s": statistics.median(r["replay"]["events_per_s"] for r in runs),
        }
        | {
            f"burst_{key}": statistics.median(r["burst"][key] for r in runs)
            for key in (
                "held_ingest_per_s",
                "applied_per_s",
                "answered_5xx",
                "lost",
                "still_pending",
            )
        }
    )
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average": os.getloadavg(),
        "args": {k: str(v) for k, v in vars(args).items() if k != "admin_url"},
        "runs": runs,
        "summary": summary,
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
