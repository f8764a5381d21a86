"""Where the expiry sweep's first run spends the server's time, statement by statement.

Runs the sweep's first run on a database made by ``bench_expiry.py`` (its sweep
state reset first, untimed) and charges every statement the sweep sends to the
SQL file it came from: the calls, the wall time of ``execute`` and the CPU time
its server backend used meanwhile (read from ``/proc/<backend pid>/stat`` before
and after, so only with the server on this machine; the kernel counts in ticks
of 10 ms, which even out over hundreds of calls). The Python process's own CPU
time is given for the whole run. With ``--explain``, the first batch of every
write statement of every slice is also run once under ``EXPLAIN (ANALYZE,
BUFFERS)`` in a savepoint rolled back straight after, and the plans (with the
time of each foreign-key and constraint trigger) are printed: the same rows,
written twice, so the figures of that run are not the benchmark's.

Usage::

    cd bench && uv run python profile_expiry.py --database perf_100k_big
    cd bench && uv run python profile_expiry.py --database perf_100k_big --explain --parallel 1
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

from bench_expiry import TODAY, database_url, reset, timed_sweep
from mentor_notify.expiry import DEFAULT_PARTITIONS
from mentor_notify.logging import configure_logging

TICK = os.sysconf("SC_CLK_TCK")
WRITES = ("insert_notices", "enqueue")


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

    def __init__(self, explain: bool) -> None:
        self.names = statement_names()
        self.calls: dict[str, int] = defaultdict(int)
        self.wall: dict[str, float] = defaultdict(float)
        self.server: dict[str, float] = defaultdict(float)
        self.explain = explain
        self.explained: set[tuple[int, str]] = set()
        self.plans: list[tuple[str, str]] = []

    def install(self) -> None:
        original = psycopg.AsyncConnection.execute
        profile = self

        async def execute(
            self: psycopg.AsyncConnection[Any], query: Any, params: Any = None, **kw: Any
        ) -> Any:
            name = profile.names.get(query, "other") if isinstance(query, str) else "other"
            pid = self.info.backend_pid
            if profile.explain and name in WRITES and (pid, name) not in profile.explained:
                profile.explained.add((pid, name))
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
    parser.add_argument("--explain", action="store_true", help="print the write statements' plans")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    configure_logging("error")

    url = database_url(args.admin_url, args.database)
    reset(url)
    profile = Profile(args.explain)
    profile.install()
    cpu = time.process_time()
    elapsed, created = asyncio.run(timed_sweep(url, args.parallel))
    python_cpu = time.process_time() - cpu

    for name, plan in profile.plans:
        print(f"--- {name}\n{plan}\n", file=sys.stderr)
    total = sum(profile.server.values())
    rows = sorted(profile.server, key=lambda n: -profile.server[n])
    print(f"first run {TODAY}: {elapsed:.2f} s, {created} notifications", file=sys.stderr)
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
        "first_s": elapsed,
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
