"""Compare the expiry job of two checkouts side by side, alternating, in one run.

The machine is shared and noisy, so "before" and "after" are measured in turns
(before, after, before, after, ...) rather than one after the other. Each
checkout runs its own `bench/bench_expiry.py` functions in its own virtualenv
against its own scratch databases (``<prefix>_big``, ``<prefix>_small``, made
beforehand by running ``bench/bench_expiry.py --prefix <prefix>`` in that
checkout, since the two checkouts' schemas differ).

Per round and checkout: the sweep's first run, immediate re-run and the next
business day's run (clock and date one day on) on the big database, then the
orchestrator on a batch of 200 due records on the small one.
For the first run also the CPU time of the Python process and of the sweep's
server backends (read from /proc, so only when the server runs on this machine).

Usage::

    uv run python bench/bench_expiry_ab.py --before ../wt-before:bexp_before \\
        --after .:bexp_after --rounds 3 --json ab.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

# Run inside a checkout: prints the timings of one round as JSON. The CPU time
# of the sweep's own server backends is read from /proc as each connection
# closes (so only with the server on this machine; null otherwise), and the
# Python process's CPU time from the process itself.
_ROUND = """
import asyncio, json, os, sys, time
from datetime import timedelta
import psycopg
sys.path.insert(0, "bench")
import bench_expiry as b
from mentor_notify.config import Settings
from mentor_notify.db import open_pool
from mentor_notify.domain import FixedClock
from mentor_notify.expiry import ExpirySweep
from mentor_notify.logging import configure_logging
configure_logging("error")
async def next_day(url, parallel):
    # Written here rather than taken from bench_expiry, so that a checkout
    # whose bench_expiry has no next-day run can be compared too.
    clock = FixedClock(b.CLOCK.now() + timedelta(days=1))
    async with open_pool(url, Settings(pool_min_size=1, pool_max_size=parallel)) as pool:
        started = time.perf_counter()
        result = await ExpirySweep(pool, clock, partitions=parallel).run(
            today=b.TODAY + timedelta(days=1))
        return time.perf_counter() - started, result.total("notifications_created")
admin, prefix, parallel = sys.argv[1], sys.argv[2], int(sys.argv[3])
def pair(run):
    # (seconds, produced): newer checkouts return a Run, older ones the pair itself.
    return (run.seconds, run.produced) if hasattr(run, "seconds") else run
server = [0.0]
_close = psycopg.AsyncConnection.close
async def close(self):
    try:
        with open(f"/proc/{self.info.backend_pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        server[0] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, psycopg.Error):
        server[0] = float("nan")
    await _close(self)
psycopg.AsyncConnection.close = close
big = b.database_url(admin, prefix + "_big")
small = b.database_url(admin, prefix + "_small")
b.reset(big)
cpu = time.process_time()
first, created = pair(asyncio.run(b.timed_sweep(big, parallel)))
python_cpu = time.process_time() - cpu
server_cpu = server[0] if server[0] == server[0] else None
rerun, again = pair(asyncio.run(b.timed_sweep(big, parallel)))
assert again == 0, again
next_s, next_created = asyncio.run(next_day(big, parallel))
b.reset(small)
orchestrator, notices = pair(asyncio.run(b.timed_orchestrator(small, 200)))
print(json.dumps({"first_s": first, "notifications": created, "rerun_s": rerun,
                  "next_day_s": next_s, "next_day_notifications": next_created,
                  "first_python_cpu_s": python_cpu, "first_server_cpu_s": server_cpu,
                  "orchestrator_200_s": orchestrator, "orchestrator_notices": notices}))
"""


def one_round(checkout: Path, prefix: str, admin_url: str, parallel: int) -> dict[str, Any]:
    """One round of measurements in `checkout`, with its own interpreter."""
    out = subprocess.run(
        [str(checkout / ".venv/bin/python"), "-c", _ROUND, admin_url, prefix, str(parallel)],
        cwd=checkout,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--before", required=True, metavar="CHECKOUT:PREFIX")
    parser.add_argument("--after", required=True, metavar="CHECKOUT:PREFIX")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=2, help="sweep slices, both sides")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    sides = {}
    for name in ("before", "after"):
        checkout, prefix = getattr(args, name).rsplit(":", 1)
        sides[name] = (Path(checkout).resolve(), prefix)
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for n in range(args.rounds):
        for name, (checkout, prefix) in sides.items():
            runs[name].append(one_round(checkout, prefix, args.admin_url, args.parallel))
            print(f"round {n + 1} {name}: {runs[name][-1]}", file=sys.stderr)
    summary: dict[str, Any] = {"rounds": args.rounds, "parallel": args.parallel, "runs": runs}
    for measure in (
        "first_s",
        "first_python_cpu_s",
        "first_server_cpu_s",
        "rerun_s",
        "next_day_s",
        "orchestrator_200_s",
    ):
        if any(r[measure] is None for rs in runs.values() for r in rs):
            continue
        medians = {name: statistics.median(r[measure] for r in runs[name]) for name in runs}
        summary[measure] = medians | {
            "ratio_after_over_before": medians["after"] / medians["before"]
        }
    print(json.dumps(summary, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(summary, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
