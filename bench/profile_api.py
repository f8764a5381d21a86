"""Where one ``serve`` process spends its CPU on ``POST /v1/device-tokens``.

Runs ``mentor-notify serve`` (one process) under cProfile with a CPU-time clock (a
wall clock would charge the waits for the CPU, which PostgreSQL and the client
share, to whatever function was running), registers ``--requests`` device tokens
through it with ``--concurrency`` requests at a time from the load benchmark's
client, stops it, and sums each function's own time by component. Time in
built-in functions (``isinstance``, ``any``, socket calls, ...) is charged to the
components that called them, in proportion. Shares only: the profiler itself
inflates every call about twofold; ``bench_api_load.py`` has the absolute CPU per
request.

Usage (after ``bench_api_load.py`` has made its database)::

    cd bench && uv run python profile_api.py --requests 5000
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_api_load import API_KEY, SECRET, RawClient, access_tokens, request_bytes, reset
from bench_expiry import database_url
from bench_push import free_port, wait_until_answering

# `python -c WRAPPER OUT mentor-notify-arguments...`
WRAPPER = """
import cProfile, sys, time
from mentor_notify.cli import app
out = sys.argv[1]
sys.argv = ["mentor-notify", *sys.argv[2:]]
profile = cProfile.Profile(time.process_time)
profile.enable()
try:
    app()
except SystemExit:
    pass
finally:
    profile.disable()
    profile.dump_stats(out)
"""

COMPONENTS = [
    ("h11", "HTTP server: parsing and writing HTTP/1.1 (uvicorn, h11)"),
    ("uvicorn", "HTTP server: parsing and writing HTTP/1.1 (uvicorn, h11)"),
    ("fastapi", "FastAPI and Starlette: routing, dependencies, validation, serialisation"),
    ("starlette", "FastAPI and Starlette: routing, dependencies, validation, serialisation"),
    ("pydantic", "FastAPI and Starlette: routing, dependencies, validation, serialisation"),
    ("pydantic_core", "FastAPI and Starlette: routing, dependencies, validation, serialisation"),
    ("jwt", "access-token verification (PyJWT, HS256)"),
    ("psycopg", "database driver and pool (psycopg)"),
    ("psycopg_pool", "database driver and pool (psycopg)"),
    ("mentor_notify", "our code (middleware, auth, runner, repository)"),
    ("asyncio", "event loop (asyncio, selectors)"),
    ("selectors.py", "event loop (asyncio, selectors)"),
    ("json", "JSON (stdlib)"),
]


def component(path: str) -> str | None:
    """The component a source file belongs to; None for built-ins."""
    if path.startswith("~"):
        return None
    for key, name in COMPONENTS:
        if f"/{key}/" in path or path.endswith(f"/{key}"):
            return name
    return "other (stdlib, structlog, opentelemetry, ...)"


def shares(profile_path: str) -> dict[str, float]:
    """Own CPU time per component, built-ins charged to their callers."""
    stats = pstats.Stats(profile_path).stats  # type: ignore[attr-defined]
    totals: collections.Counter[str] = collections.Counter()
    for (path, _, _), (_, _, own, _, callers) in stats.items():
        name = component(path)
        if name is not None:
            totals[name] += own
            continue
        caller_time = sum(c[2] for c in callers.values()) or 1.0
        for (caller_path, _, _), c in callers.items():
            totals[component(caller_path) or "built-ins"] += own * c[2] / caller_time
    return dict(totals)


async def drive(base: str, tokens: list[str], n: int, concurrency: int) -> None:
    host, port = base.removeprefix("http://").split(":")
    client = RawClient(host, int(port), 30.0)
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            body = json.dumps({"token": f"profile-{time.time_ns()}-{i}", "platform": "android"})
            status = await client.request(
                request_bytes(host, tokens[i % len(tokens)], body.encode())
            )
            assert status == "201", status

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--prefix", default="bench_api_load")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)

    url = database_url(args.admin_url, args.prefix)
    tokens = access_tokens(url)
    reset(url)
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        out = str(Path(scratch) / "serve.prof")
        command = [
            sys.executable,
            "-c",
            WRAPPER,
            out,
            "--database-url",
            url,
            "serve",
            "--port",
            str(port),
        ]
        env = os.environ | {
            "MENTOR_NOTIFY_JWT_SECRET": SECRET,
            "MENTOR_NOTIFY_API_KEYS": API_KEY,
            "MENTOR_NOTIFY_LOG_FORMAT": "json",
            "MENTOR_NOTIFY_LOG_LEVEL": "error",
            "MENTOR_NOTIFY_API_MAX_IN_FLIGHT": "0",
        }
        server = subprocess.Popen(command, env=env)
        base = f"http://127.0.0.1:{port}"
        wait_until_answering(f"{base}/livez")
        # Warm-up: in the profile too, with start-up, both small beside the run.
        asyncio.run(drive(base, tokens, 200, args.concurrency))
        asyncio.run(drive(base, tokens, args.requests, args.concurrency))
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        totals = shares(out)
    total = sum(totals.values())
    print(f"{args.requests} requests, concurrency {args.concurrency}; own CPU time by component")
    print("| share | component |")
    print("|---:|---|")
    for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {100 * seconds / total:.0f} % | {name} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
