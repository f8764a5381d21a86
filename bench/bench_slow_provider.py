"""Slow-provider fault run (issue 18): do leases hold when the push service answers
more slowly than a round can finish within its lease?

Queues N pushes, starts `mentor-notify push emulator` answering every request
slowly (and failing some with 429/503), and drains the outbox with several
`mentor-notify push dispatch` processes whose lease is short against those
answers. It reports what a lease that does not hold would show: messages sent,
duplicates the emulator received, the largest `attempts` of any message, and
whether any message is left in flight, pending or past the maximum.

    uv run python bench/bench_slow_provider.py --messages 3000 --dispatchers 3 \\
        --lease 10 --slow-seconds 2 --concurrency 100
"""

import argparse
import json
import os
import platform
import signal
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg

from bench_expiry import fresh_database
from bench_push import MENTOR_NOTIFY, free_port, queue, wait_until_answering


def main(argv: list[str] | None = None) -> int:
    """Run the fault run once and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--dispatchers", type=int, default=3)
    parser.add_argument("--lease", type=int, default=10, help="seconds")
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--max-attempts", type=int, default=5)
    parser.add_argument("--failures", type=float, default=0.05, help="429 and 503 rates each")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)

    url = fresh_database(args.admin_url, "bench_slow_provider")
    queue(url, args.messages)
    port = free_port()
    emulator = subprocess.Popen(
        [
            str(MENTOR_NOTIFY),
            "push",
            "emulator",
            "--port",
            str(port),
            "--slow",
            "1.0",
            "--slow-seconds",
            str(args.slow_seconds),
            "--rate-limited",
            str(args.failures),
            "--unavailable",
            str(args.failures),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    emulator_url = f"http://127.0.0.1:{port}"
    wait_until_answering(f"{emulator_url}/emulator/deliveries")
    env = os.environ | {
        "MENTOR_NOTIFY_PUSH_LEASE_SECONDS": str(args.lease),
        "MENTOR_NOTIFY_PUSH_MAX_ATTEMPTS": str(args.max_attempts),
        "MENTOR_NOTIFY_LOG_LEVEL": "warning",
        "MENTOR_NOTIFY_LOG_FORMAT": "json",
    }
    started = time.perf_counter()
    dispatchers = [
        subprocess.Popen(
            [
                str(MENTOR_NOTIFY),
                "--database-url",
                url,
                "push",
                "dispatch",
                "--emulator",
                emulator_url,
                "--concurrency",
                str(args.concurrency),
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for _ in range(args.dispatchers)
    ]
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            while time.perf_counter() - started < args.timeout:
                row = conn.execute(
                    "select count(*) filter (where status in ('pending', 'in_flight')) "
                    "from push_notices"
                ).fetchone()
                if row is not None and row[0] == 0:
                    break
                time.sleep(1)
        elapsed = time.perf_counter() - started
    finally:
        for process in dispatchers:
            process.send_signal(signal.SIGTERM)
        for process in dispatchers:
            process.communicate(timeout=120)
    deliveries = httpx.get(f"{emulator_url}/emulator/deliveries", timeout=30).json()
    emulator.terminate()
    emulator.wait(10)
    with psycopg.connect(url) as conn:
        by_status = dict(
            conn.execute("select status, count(*) from push_notices group by 1").fetchall()
        )
        (most_attempts,) = conn.execute("select max(attempts) from push_notices").fetchone() or (0,)
    figures: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "messages": args.messages,
        "dispatchers": args.dispatchers,
        "lease_s": args.lease,
        "answer_s": args.slow_seconds,
        "concurrency": args.concurrency,
        "failures_each": args.failures,
        "max_attempts_setting": args.max_attempts,
        "seconds": round(elapsed, 1),
        "statuses": by_status,
        "delivered_by_emulator": sum(deliveries["counts"].values()),
        "duplicates": deliveries["duplicates"],
        "most_attempts": most_attempts,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
