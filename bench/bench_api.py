"""Benchmark the HTTP API's overhead over running the same job directly (issue 6).

On a scratch database ``<prefix>`` (the expiry benchmark's world, ``--certificates``
certificates, swept once untimed so every measured call does the same work), each
job is timed ``--calls`` times three ways:

* direct: the job called in-process through the runner the API uses, which is what
  the CLI command does once it has started;
* HTTP: ``POST /functions/v1/...`` with an API key to ``mentor-notify serve``
  in its own process, over a kept-alive connection (token verification, JSON, the
  run id, metrics, uvicorn);
* CLI: the whole ``mentor-notify`` process (interpreter start-up included), for scale.

Target: the HTTP median at most 50 ms above the direct median.

Usage::

    uv run python bench/bench_api.py --calls 50 --json api.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx

from bench_expiry import ensure_database
from bench_push import MENTOR_NOTIFY, free_port, wait_until_answering
from mentor_notify.api.jobs import DispatchRequest, ExpiryRequest
from mentor_notify.api.runner import DatabaseJobRunner
from mentor_notify.config import Settings
from mentor_notify.db import open_pool
from mentor_notify.domain import SystemClock
from mentor_notify.logging import configure_logging

SECRET = "bench-jwt-secret-long-enough-for-hs256-signatures"
API_KEY = "bench-api-key-long-enough-0123456789abcdef"
# The re-check runs as of the real today (the API and the CLI refuse business dates
# years away from it), the same date in-process and over HTTP.
TODAY = SystemClock().now().date()
JOBS = {
    "certificate-expiry": {"today": TODAY.isoformat()},
    "dispatch": {},
}


async def direct(url: str, calls: int) -> dict[str, list[float]]:
    settings = Settings(pool_min_size=2, pool_max_size=4)
    async with open_pool(url, settings) as pool:
        runner = DatabaseJobRunner(pool, settings, SystemClock(), {})
        jobs = {
            "certificate-expiry": lambda: runner.certificate_expiry(
                ExpiryRequest(today=TODAY), str(uuid4())
            ),
            "dispatch": lambda: runner.dispatch(DispatchRequest(), str(uuid4())),
        }
        times: dict[str, list[float]] = {}
        for name, job in jobs.items():
            await job()  # warm-up
            times[name] = []
            for _ in range(calls):
                started = time.perf_counter()
                await job()
                times[name].append(time.perf_counter() - started)
    return times


def over_http(url: str, calls: int) -> dict[str, list[float]]:
    port = free_port()
    server = subprocess.Popen(
        [str(MENTOR_NOTIFY), "--database-url", url, "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ
        | {
            "MENTOR_NOTIFY_JWT_SECRET": SECRET,
            "MENTOR_NOTIFY_API_KEYS": API_KEY,
            "MENTOR_NOTIFY_LOG_FORMAT": "json",
            "MENTOR_NOTIFY_LOG_LEVEL": "error",
        },
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_answering(f"{base}/healthz")
    try:
        with httpx.Client(base_url=base, headers={"apikey": API_KEY}) as client:
            times: dict[str, list[float]] = {}
            for name, body in JOBS.items():
                client.post(f"/functions/v1/{name}", json=body, timeout=60).raise_for_status()
                times[name] = []
                for _ in range(calls):
                    started = time.perf_counter()
                    answer = client.post(f"/functions/v1/{name}", json=body, timeout=60)
                    times[name].append(time.perf_counter() - started)
                    answer.raise_for_status()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    return times


def cli(url: str, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        subprocess.run(
            [
                str(MENTOR_NOTIFY),
                "--database-url",
                url,
                "expiry",
                "run",
                "--today",
                TODAY.isoformat(),
                "--json",
            ],
            check=True,
            capture_output=True,
            env=os.environ | {"MENTOR_NOTIFY_LOG_LEVEL": "error"},
        )
        times.append(time.perf_counter() - started)
    return times


def ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--prefix", default="bench_api")
    parser.add_argument("--certificates", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    configure_logging("error")

    url = ensure_database(args.admin_url, args.prefix, args.certificates, False)
    asyncio.run(direct(url, 1))  # the first sweep writes; every measured one re-checks
    in_process = asyncio.run(direct(url, args.calls))
    http = over_http(url, args.calls)
    process = cli(url, max(3, args.calls // 10))
    jobs = {
        name: {
            "direct_ms": ms(in_process[name]),
            "http_ms": ms(http[name]),
            "overhead_ms": round(ms(http[name]) - ms(in_process[name]), 2),
            "target_overhead_ms": 50.0,
        }
        for name in JOBS
    }
    figures: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "python": platform.python_version(),
        "certificates": args.certificates,
        "calls": args.calls,
        "jobs": jobs,
        "cli_expiry_run_ms": ms(process),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)
    missed = [name for name, job in jobs.items() if job["overhead_ms"] >= 50]
    print("all targets met" if not missed else f"MISSED: {', '.join(missed)}", file=sys.stderr)
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
