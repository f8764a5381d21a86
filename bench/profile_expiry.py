"""Where the expiry sweep's first run spends the server's time, statement by statement.

Runs the sweep's first run (or, with ``--next-day``, the next business day's run
after an unprofiled first run) on a database made by ``bench_expiry.py`` (its sweep
state reset first, untimed) and charges every statement the sweep sends to the
SQL file it came from: the calls, the wall time of ``execute`` and the CPU time
its server backend used meanwhile (read from ``/proc/<backend pid>/stat`` before
and after, so only with the server on this machine; the kernel counts in ticks
of 10 ms, which even out over hundreds of calls). The Python process's own CPU
time is given for the whole run. With ``--explain K``, each
slice's K-th batch of the duplicate check and of every write statement is
also run once under ``EXPLAIN (ANALYZE, BUFFERS)`` in a savepoint rolled back
straight after, and the plans (with the
time of each foreign-key and constraint trigger) are printed: the same rows,
written twice, so the figures of that run are not the benchmark's.

Usage::

    cd bench && uv run python profile_expiry.py --database p100_big
    cd bench && uv run python profile_expiry.py --database p100_big --explain 50 --parallel 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import defaultdict
from importlib.resources import files
from typing import Any

import psycopg

from bench_expiry import NEXT_CLOCK, NEXT_DAY, TODAY, database_url, reset, timed_sweep
from mentor_notify.expiry import DEFAULT_PARTITIONS
from mentor_notify.logging import configure_logging

TICK = os.sysconf("SC_CLK_TCK")
EXPLAINED = ("write_notices", "enqueue")


def statement_names() -> dict[str, str]:
    """Text of each of the expiry package's statements -> its file name."""
    folder = files("mentor_notify.expiry").joinpath("sql")
    return {
        f.read_text("utf-8"): f.name.removesuffix(".sql")
        for f in folder.iterdir()
        if f.name.endswith(".sql")
    }


def backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Profile:
    """Calls, wall and server CPU seconds per statement name."""

    def __init__(self, explain: int) -> None:
        self.names = statement_names()
        self.calls: dict[str, int] = defaultdict(int)
        self.wall: dict[str, float] = defaultdict(float)
        self.server: dict[str, float] = defaultdict(float)
        self.explain = explain
        self.seen: dict[tuple[int, str], int] = defaultdict(int)
        self.plans: list[tuple[str, str]] = []

    def install(self) -> None:
        original = psycopg.AsyncConnection.execute
        profile = self

        async def execute(
            self: psycopg.AsyncConnection[Any], query: Any, params: Any = None, **kw: Any
        ) -> Any:
            name = profile.names.get(query, "other") if isinstance(query, str) else "other"
            pid = self.info.backend_pid
            profile.seen[pid, name] += 1
            if name in EXPLAINED and profile.seen[pid, name] == profile.explain:
                async with self.transaction(force_rollback=True):
                    cur = await original(self, "explain (analyze, buffers) " + query, params, **kw)
                    rows = await cur.fetchall()
                profile.plans.append((name, "\n".join(str(next(iter(r.values()))) for r in rows)))
            cpu = backend_cpu(pid)
            started = time.perf_counter()
            result = await original(self, query, params, **kw)
            profile.wall[name] += time.perf_counter() - started
            profile.server[name] += backend_cpu(pid) - cpu
            profile.calls[name] += 1
            return result

        psycopg.AsyncConnection.execute = execute  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", required=True, help="a database bench_expiry.py made")
    parser.add_argument("--parallel", type=int, default=DEFAULT_PARTITIONS, help="sweep slices")
    parser.add_argument(
        "--explain",
        type=int,
        default=0,
        metavar="K",
        help="print the plans of each slice's K-th duplicate check and write statements",
    )
    parser.add_argument(
        "--next-day",
        action="store_true",
        help="profile the next business day's run instead (after an unprofiled first run)",
    )
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    configure_logging("error")

    url = database_url(args.admin_url, args.database)
    reset(url)
    day = TODAY
    if args.next_day:
        asyncio.run(timed_sweep(url, args.parallel))
        day = NEXT_DAY
    profile = Profile(args.explain)
    profile.install()
    cpu = time.process_time()
    if args.next_day:
        run = asyncio.run(timed_sweep(url, args.parallel, NEXT_DAY, NEXT_CLOCK))
    else:
        run = asyncio.run(timed_sweep(url, args.parallel))
    python_cpu = time.process_time() - cpu

    for name, plan in profile.plans:
        print(f"--- {name}\n{plan}\n", file=sys.stderr)
    total = sum(profile.server.values())
    rows = sorted(profile.server, key=lambda n: -profile.server[n])
    elapsed, created = run.seconds, run.produced
    print(f"run of {day}: {elapsed:.2f} s, {created} notifications", file=sys.stderr)
    header = f"{'statement':<22}{'calls':>7}{'wall s':>9}{'server s':>10}{'share':>7}"
    print(header, file=sys.stderr)
    for name in rows:
        print(
            f"{name:<22}{profile.calls[name]:>7}{profile.wall[name]:>9.2f}"
            f"{profile.server[name]:>10.2f}{profile.server[name] / total:>7.0%}",
            file=sys.stderr,
        )
    print(f"{'server, all':<22}{'':>7}{'':>9}{total:>10.2f}", file=sys.stderr)
    print(f"{'python process':<22}{'':>7}{'':>9}{python_cpu:>10.2f}", file=sys.stderr)
    figures = {
        "day": str(day),
        "run_s": elapsed,
        "notifications": created,
        "python_cpu_s": python_cpu,
        "statements": {
            n: {"calls": profile.calls[n], "wall_s": profile.wall[n], "server_s": profile.server[n]}
            for n in rows
        },
    }
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
