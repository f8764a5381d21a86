"""Benchmark the tickets' queries against data made by ``bench/generate.py``.

Each query runs ``--iterations`` times per round (after ``--warmup`` untimed runs) as a
server-side prepared statement (psycopg 3, ``prepare=True``), with parameters drawn from
the generated data; ``--repeat`` rounds run, and the summary is the median over rounds
of each round's median and p95. Times are measured in the client around execute +
fetch, so they include the round trip to the server, as the application sees them.

Targets are 20 times stricter than the tickets' performance requirements (issue 2):

====================================  ===============================  ======  ======
query                                 table, volume                    target  ticket
====================================  ===============================  ======  ======
60/30/7-day window (000)              certification_expiry_tracking    5 ms    100 ms
                                      10,000 rows
idempotency-key lookup (001)          cert_notification_log 50,000     1 ms    5 ms
cooldown lookup (003)                 scenario_notifications 1 M       2 ms    50 ms
coordinator reads (002), also as      follow_up_notification_log       5 ms    50 ms
the coordinator through RLS
====================================  ===============================  ======  ======

A few more ticket queries without a number in their ticket are measured for
information. EXPLAIN (ANALYZE, BUFFERS) of every query is printed, so a reader sees
which index serves it.

Usage::

    uv run python bench/bench_queries.py --database-url postgresql://postgres@127.0.0.1/bench
    uv run python bench/bench_queries.py --database-url ... --repeat 7 --json results.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg.rows import TupleRow

Params = tuple[Any, ...]
Sampler = Callable[[psycopg.Connection[TupleRow], random.Random, int], list[Params]]


@dataclass(frozen=True)
class QuerySpec:
    """One benchmarked query.

    ``sample`` returns parameter tuples; when ``impersonate`` is set, the first element
    of each tuple is the user id to impersonate (PostgREST style: role authenticated,
    ``request.jwt.claims``) and the rest are the query's parameters.
    """

    name: str
    ticket: str
    description: str
    sql: str
    sample: Sampler
    target_ms: float | None = None
    ticket_ms: float | None = None
    impersonate: bool = False


@dataclass
class RoundStats:
    median_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    mean_rows: float


@dataclass
class QueryResult:
    name: str
    ticket: str
    description: str
    sql: str
    impersonate: bool
    target_ms: float | None
    ticket_ms: float | None
    median_ms: float
    p95_ms: float
    rounds: list[RoundStats]
    mean_rows: float
    passed: bool | None
    explain: str = ""
    explain_execution_ms: float | None = None
    indexes_used: list[str] = field(default_factory=list)
    seq_scans: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- samplers
# Generated ids are md5-derived, so "order by id limit n" is a deterministic yet
# well-spread sample; Python's seeded Random then draws from it.


def _fetch(conn: psycopg.Connection[TupleRow], sql: str, *args: Any) -> list[Params]:
    return [tuple(row) for row in conn.execute(sql, args or None).fetchall()]


def sample_window(conn: psycopg.Connection[TupleRow], rnd: random.Random, n: int) -> list[Params]:
    """Sweep dates within a month of today: the window moves with the calendar."""
    row = conn.execute("select current_date").fetchone()
    today: dt.date = row[0] if row else dt.date.today()
    return [(today + dt.timedelta(days=rnd.randint(-30, 30)),) for _ in range(n)]


def sample_idempotency(
    conn: psycopg.Connection[TupleRow], rnd: random.Random, n: int
) -> list[Params]:
    """Nine in ten keys exist (a re-run); one in ten is new (a first send)."""
    keys = _fetch(
        conn, "select idempotency_key from public.cert_notification_log order by id limit %s", n
    )
    fresh = [(f"{rnd.getrandbits(256):064x}",) for _ in range(max(1, n // 10))]
    return _draw(rnd, keys, n, fresh)


def sample_cooldown(conn: psycopg.Connection[TupleRow], rnd: random.Random, n: int) -> list[Params]:
    users = _fetch(conn, "select id from auth.users order by id limit %s", n)
    kinds = ["inactivity", "milestone", "certification_expiry", "welcome_back"]
    return [(rnd.choice(users)[0], rnd.choice(kinds)) for _ in range(n)]


def sample_mentor_in_chapter(
    conn: psycopg.Connection[TupleRow], rnd: random.Random, n: int
) -> list[Params]:
    rows = _fetch(
        conn,
        "select peer_mentor_id, chapter_id from public.follow_up_notification_log"
        " order by log_id limit %s",
        n,
    )
    return _draw(rnd, rows, n)


def sample_chapter(conn: psycopg.Connection[TupleRow], rnd: random.Random, n: int) -> list[Params]:
    rows = _fetch(
        conn,
        "select chapter_id from public.follow_up_notification_log group by chapter_id"
        " order by chapter_id limit %s",
        n,
    )
    return _draw(rnd, rows, n)


_COORDINATOR = """
(select m.user_id from public.chapter_memberships m
 where m.chapter_id = {chapter} and m.role = 'coordinator'
 order by m.user_id limit 1)
"""


def sample_coordinator_mentor(
    conn: psycopg.Connection[TupleRow], rnd: random.Random, n: int
) -> list[Params]:
    """(coordinator, mentor, chapter): a coordinator of the chapter reads a mentor's rows."""
    rows = _fetch(
        conn,
        "select coordinator, peer_mentor_id, chapter_id from ("
        " select " + _COORDINATOR.format(chapter="f.chapter_id") + " as coordinator,"
        " f.peer_mentor_id, f.chapter_id from public.follow_up_notification_log f"
        " order by f.log_id limit %s) s where coordinator is not null",
        n,
    )
    return _draw(rnd, rows, n)


def sample_coordinator_chapter(
    conn: psycopg.Connection[TupleRow], rnd: random.Random, n: int
) -> list[Params]:
    rows = _fetch(
        conn,
        "select coordinator, id from ("
        " select " + _COORDINATOR.format(chapter="c.id") + " as coordinator, c.id"
        " from public.chapters c order by c.id limit %s) s where coordinator is not null",
        n,
    )
    return _draw(rnd, rows, n)


def sample_mentor(conn: psycopg.Connection[TupleRow], rnd: random.Random, n: int) -> list[Params]:
    rows = _fetch(
        conn,
        "select peer_mentor_id from public.certification_expiry_tracking"
        " order by certification_id limit %s",
        n,
    )
    return _draw(rnd, rows, n)


def sample_certificate_tier(
    conn: psycopg.Connection[TupleRow], rnd: random.Random, n: int
) -> list[Params]:
    rows = _fetch(
        conn,
        "select certification_id, notification_type from public.cert_notification_log"
        " order by id limit %s",
        n,
    )
    return _draw(rnd, rows, n)


def sample_listing_chapter(
    conn: psycopg.Connection[TupleRow], rnd: random.Random, n: int
) -> list[Params]:
    rows = _fetch(
        conn,
        "select " + _COORDINATOR.format(chapter="c.id") + ", c.id from public.chapters c"
        " order by c.id limit %s",
        n,
    )
    return _draw(rnd, [r for r in rows if r[0] is not None], n)


def _draw(
    rnd: random.Random, rows: list[Params], n: int, extra: list[Params] | None = None
) -> list[Params]:
    if not rows:
        raise SystemExit("No data to sample parameters from: run bench/generate.py first.")
    drawn = [rnd.choice(rows) for _ in range(n)]
    if extra:
        for i in range(0, n, 10):
            drawn[i] = rnd.choice(extra)
    return drawn


# --------------------------------------------------------------------------- queries

QUERIES: tuple[QuerySpec, ...] = (
    QuerySpec(
        name="expiry_window",
        ticket="000",
        description="60/30/7-day window: certificates expiring in the next 60 days",
        sql=(
            "select id, certification_id, peer_mentor_id, certificate_type, expiry_date,"
            " notification_thresholds_sent"
            " from public.certification_expiry_tracking"
            " where expiry_date between %s::date and %s::date + 60"
            " order by expiry_date, peer_mentor_id"
        ),
        sample=lambda conn, rnd, n: [(d, d) for (d,) in sample_window(conn, rnd, n)],
        target_ms=5.0,
        ticket_ms=100.0,
    ),
    QuerySpec(
        name="idempotency_key_lookup",
        ticket="001",
        description="dedup check: SELECT 1 by idempotency_key (90% hits)",
        sql="select 1 from public.cert_notification_log where idempotency_key = %s",
        sample=sample_idempotency,
        target_ms=1.0,
        ticket_ms=5.0,
    ),
    QuerySpec(
        name="cooldown_lookup",
        ticket="003",
        description="last triggered_at for (user, scenario type)",
        sql=(
            "select triggered_at from public.scenario_notifications"
            " where user_id = %s and scenario_type = %s"
            " order by triggered_at desc limit 1"
        ),
        sample=sample_cooldown,
        target_ms=2.0,
        ticket_ms=50.0,
    ),
    QuerySpec(
        name="coordinator_mentor_log",
        ticket="002",
        description="a mentor's deliveries in a chapter, newest first (service role)",
        sql=(
            "select log_id, scenario_rule_id, delivered_at, delivery_channel, status"
            " from public.follow_up_notification_log"
            " where peer_mentor_id = %s and chapter_id = %s"
            " order by delivered_at desc limit 50"
        ),
        sample=sample_mentor_in_chapter,
        target_ms=5.0,
        ticket_ms=50.0,
    ),
    QuerySpec(
        name="coordinator_chapter_recent",
        ticket="002",
        description="a chapter's 50 latest deliveries (service role)",
        sql=(
            "select log_id, peer_mentor_id, scenario_rule_id, delivered_at, delivery_channel,"
            " status from public.follow_up_notification_log"
            " where chapter_id = %s order by delivered_at desc limit 50"
        ),
        sample=sample_chapter,
        target_ms=5.0,
        ticket_ms=50.0,
    ),
    QuerySpec(
        name="coordinator_mentor_log_rls",
        ticket="002",
        description="as the chapter's coordinator through RLS: a mentor's deliveries",
        sql=(
            "select log_id, scenario_rule_id, delivered_at, delivery_channel, status"
            " from public.follow_up_notification_log"
            " where peer_mentor_id = %s and chapter_id = %s"
            " order by delivered_at desc limit 50"
        ),
        sample=sample_coordinator_mentor,
        target_ms=5.0,
        ticket_ms=50.0,
        impersonate=True,
    ),
    QuerySpec(
        name="coordinator_chapter_recent_rls",
        ticket="002",
        description="as the chapter's coordinator through RLS: 50 latest deliveries",
        sql=(
            "select log_id, peer_mentor_id, scenario_rule_id, delivered_at, delivery_channel,"
            " status from public.follow_up_notification_log"
            " where chapter_id = %s order by delivered_at desc limit 50"
        ),
        sample=sample_coordinator_chapter,
        target_ms=5.0,
        ticket_ms=50.0,
        impersonate=True,
    ),
    QuerySpec(
        name="tracking_per_mentor",
        ticket="000",
        description="per-mentor lookup (ticket: index scan, no number)",
        sql=(
            "select id, certificate_type, expiry_date, notification_thresholds_sent"
            " from public.certification_expiry_tracking where peer_mentor_id = %s"
        ),
        sample=sample_mentor,
    ),
    QuerySpec(
        name="cert_log_by_certificate_tier",
        ticket="001",
        description="batch check by (certification_id, notification_type)",
        sql=(
            "select id, sent_at from public.cert_notification_log"
            " where certification_id = %s and notification_type = %s"
        ),
        sample=sample_certificate_tier,
    ),
    QuerySpec(
        name="directory_listing_rls",
        ticket="000 risk",
        description="coordinator's contact list through RLS (active, certified now)",
        sql=(
            "select peer_mentor_id, display_name, certification_expiry_date"
            " from public.mentor_directory where chapter_id = %s order by display_name"
        ),
        sample=sample_listing_chapter,
        impersonate=True,
    ),
)


# --------------------------------------------------------------------------- measuring


def _claims(user_id: Any) -> str:
    return json.dumps({"sub": str(user_id), "role": "authenticated"})


def _impersonate(cur: psycopg.Cursor[TupleRow], user_id: Any) -> None:
    """What PostgREST does per request, inside the request's transaction."""
    cur.execute(
        "select set_config('role', 'authenticated', true),"
        " set_config('request.jwt.claims', %s, true)",
        [_claims(user_id)],
    )


def time_one(
    conn: psycopg.Connection[TupleRow], spec: QuerySpec, params: Params
) -> tuple[float, int]:
    """Run the query once; return (milliseconds, rows). Only the query is timed."""
    with conn.cursor() as cur:
        if spec.impersonate:
            with conn.transaction(force_rollback=True):
                _impersonate(cur, params[0])
                t0 = time.perf_counter_ns()
                cur.execute(spec.sql, params[1:], prepare=True)
                rows = cur.fetchall()
                t1 = time.perf_counter_ns()
        else:
            t0 = time.perf_counter_ns()
            cur.execute(spec.sql, params, prepare=True)
            rows = cur.fetchall()
            t1 = time.perf_counter_ns()
    return (t1 - t0) / 1e6, len(rows)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def measure_round(
    conn: psycopg.Connection[TupleRow],
    spec: QuerySpec,
    params: list[Params],
    iterations: int,
    warmup: int,
) -> RoundStats:
    for i in range(warmup):
        time_one(conn, spec, params[i % len(params)])
    times: list[float] = []
    rows = 0
    for i in range(iterations):
        ms, n = time_one(conn, spec, params[i % len(params)])
        times.append(ms)
        rows += n
    times.sort()
    return RoundStats(
        median_ms=statistics.median(times),
        p95_ms=percentile(times, 0.95),
        p99_ms=percentile(times, 0.99),
        mean_ms=statistics.fmean(times),
        min_ms=times[0],
        max_ms=times[-1],
        mean_rows=rows / iterations,
    )


_INDEX_RE = re.compile(
    r"(?:Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\S+)"
)
_SEQ_RE = re.compile(r"Seq Scan on (\S+)")
_EXEC_RE = re.compile(r"Execution Time: ([0-9.]+) ms")


def explain(
    conn: psycopg.Connection[TupleRow], spec: QuerySpec, params: Params
) -> tuple[str, float | None, list[str], list[str]]:
    with conn.cursor() as cur, conn.transaction(force_rollback=True):
        query_params = params
        if spec.impersonate:
            _impersonate(cur, params[0])
            query_params = params[1:]
        cur.execute("explain (analyze, buffers) " + spec.sql, query_params)
        text = "\n".join(str(row[0]) for row in cur.fetchall())
    found = _EXEC_RE.search(text)
    return (
        text,
        float(found.group(1)) if found else None,
        sorted(set(_INDEX_RE.findall(text))),
        sorted(set(_SEQ_RE.findall(text))),
    )


# --------------------------------------------------------------------------- reporting


def machine_info(conn: psycopg.Connection[TupleRow]) -> dict[str, Any]:
    cpu = "unknown"
    ram_gib: float | None = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
                    break
    except OSError:
        pass
    settings = {
        name: value
        for name, value in conn.execute(
            "select name, current_setting(name) from pg_settings where name in"
            " ('shared_buffers', 'work_mem', 'effective_cache_size', 'jit',"
            " 'random_page_cost', 'max_parallel_workers_per_gather') order by name"
        ).fetchall()
    }
    version = conn.execute("select version()").fetchone()
    counts = {
        table: row[0] if (row := conn.execute(f"select count(*) from {table}").fetchone()) else 0
        for table in (
            "public.certification_expiry_tracking",
            "public.cert_notification_log",
            "public.scenario_notifications",
            "public.follow_up_notification_log",
            "public.mentor_directory",
            "auth.users",
        )
    }
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": ram_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "psycopg": psycopg.__version__,
        "postgresql": version[0] if version else "unknown",
        "settings": settings,
        "row_counts": counts,
    }


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def render_table(results: Sequence[QueryResult]) -> str:
    header = (
        f"{'query':32} {'ticket':8} {'rows':>6} {'median ms':>10} {'p95 ms':>9} "
        f"{'target':>7} {'ticket':>7}  result  index"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        verdict = "info" if r.passed is None else ("PASS" if r.passed else "FAIL")
        target = "-" if r.target_ms is None else f"{r.target_ms:g} ms"
        ticket = "-" if r.ticket_ms is None else f"{r.ticket_ms:g} ms"
        index = ", ".join(r.indexes_used) or "-"
        if r.seq_scans:
            index += " | SEQ SCAN " + ", ".join(r.seq_scans)
        lines.append(
            f"{r.name:32} {r.ticket:8} {r.mean_rows:>6.1f} {r.median_ms:>10.3f} "
            f"{r.p95_ms:>9.3f} {target:>7} {ticket:>7}  {verdict:6}  {index}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    selected = [q for q in QUERIES if not args.query or q.name in args.query]
    unknown = set(args.query or ()) - {q.name for q in QUERIES}
    if unknown:
        raise SystemExit(f"unknown query: {', '.join(sorted(unknown))}")
    out = sys.stderr if args.json == "-" else sys.stdout
    rnd = random.Random(args.seed)
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        info = machine_info(conn)
        if not info["row_counts"]["public.scenario_notifications"]:
            raise SystemExit("No benchmark data: run bench/generate.py first.")
        samples = {q.name: q.sample(conn, rnd, args.samples) for q in selected}
        rounds: dict[str, list[RoundStats]] = {q.name: [] for q in selected}
        for round_no in range(1, args.repeat + 1):
            started = time.perf_counter()
            # Interleave the queries in every round so drift affects them alike.
            for q in selected:
                rounds[q.name].append(
                    measure_round(conn, q, samples[q.name], args.iterations, args.warmup)
                )
            print(
                f"round {round_no}/{args.repeat}: {time.perf_counter() - started:.1f} s",
                file=out,
                flush=True,
            )
        results: list[QueryResult] = []
        for q in selected:
            plan, exec_ms, indexes, seqs = explain(conn, q, samples[q.name][0])
            median = statistics.median(r.median_ms for r in rounds[q.name])
            p95 = statistics.median(r.p95_ms for r in rounds[q.name])
            results.append(
                QueryResult(
                    name=q.name,
                    ticket=q.ticket,
                    description=q.description,
                    sql=q.sql,
                    impersonate=q.impersonate,
                    target_ms=q.target_ms,
                    ticket_ms=q.ticket_ms,
                    median_ms=median,
                    p95_ms=p95,
                    rounds=rounds[q.name],
                    mean_rows=statistics.fmean(r.mean_rows for r in rounds[q.name]),
                    passed=None if q.target_ms is None else median < q.target_ms,
                    explain=plan,
                    explain_execution_ms=exec_ms,
                    indexes_used=indexes,
                    seq_scans=seqs,
                )
            )

    print(file=out)
    for r in results:
        as_who = " (as the coordinator, RLS)" if r.impersonate else ""
        print(f"== {r.name}{as_who}: {r.description}", file=out)
        print(r.sql % tuple(f"${i + 1}" for i in range(r.sql.count("%s"))), file=out)
        print(r.explain, file=out)
        print(file=out)
    print(
        f"{info['nproc']} x {info['cpu']}, {info['ram_gib']} GiB RAM; "
        f"{info['postgresql'].split(' on ')[0]}; {args.repeat} rounds x {args.iterations} "
        f"runs per query; medians over rounds (client-side, incl. round trip)",
        file=out,
    )
    print(render_table(results), file=out)

    if args.json:
        document = {
            "machine": info,
            "command": " ".join(sys.argv),
            "repeat": args.repeat,
            "iterations": args.iterations,
            "warmup": args.warmup,
            "results": [asdict(r) for r in results],
        }
        text = json.dumps(document, indent=2, default=str)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w", encoding="utf-8") as f:
                f.write(text + "\n")
    missed = [r.name for r in results if r.passed is False]
    if missed and args.check:
        print(f"targets missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True, help="database filled by generate.py")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    parser.add_argument(
        "--iterations", type=int, default=1000, help="timed runs per query per round"
    )
    parser.add_argument("--warmup", type=int, default=100, help="untimed runs before each round")
    parser.add_argument("--samples", type=int, default=500, help="parameter sets per query")
    parser.add_argument("--seed", type=int, default=1, help="seed for drawing parameters")
    parser.add_argument(
        "--query", action="append", help="only this query (repeatable); default all"
    )
    parser.add_argument("--json", metavar="PATH", help="write results as JSON ('-': stdout)")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a query misses its target"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.iterations < 1 or args.warmup < 0 or args.samples < 1:
        parser.error("--repeat, --iterations and --samples must be >= 1, --warmup >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
