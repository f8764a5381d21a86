"""Load test of ``POST /v1/device-tokens``: the sustained request rate at which p99
latency stays under 100 ms, for ``mentor-notify serve`` with 1 and N worker processes.

On a freshly migrated scratch database ``<prefix>`` with ``--users`` users, each
server configuration is started (``serve --workers W`` on a free port of 127.0.0.1)
and offered, step after step, a fixed arrival rate for ``--seconds`` each: an
open-loop httpx client sends request i at ``start + i / rate`` whether or not the
earlier ones have been answered, and a request's latency runs from that planned
moment to its answer, so a server (or client) that falls behind is charged for the
wait. Each request registers a new device token for one of the users, with that
user's HS256 access token.

A step *holds* when p99 of the answered-201 latencies is under 100 ms and at least
99.9 % of the requests were answered 201. The sustained rate of a configuration is
the highest offered rate up to which every step held; the steps stop after two in a
row fail.
Per step it reports the achieved rate, p50/p90/p99/max, 503s (shed), other
failures, and the CPU time per request of the server processes, of PostgreSQL's
processes and of the load client itself (from /proc, so where the two cores go),
and how much CPU other processes took meanwhile: a step disturbed by more than
``--max-other-load`` cores is taken again (``--retries``).

Then one step at ``--overload-rate`` against one process with the in-flight limit
(``MENTOR_NOTIFY_API_MAX_IN_FLIGHT``, default as configured) and without it (0):
the fraction shed, and the p99 of the requests that were accepted.

Usage::

    cd bench && uv run python bench_api_load.py --runs 3 --json api-load.json

Requests only ever go to 127.0.0.1, and every step is bounded in requests
(rate x seconds) and time (each request times out after ``--timeout`` seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import psutil
import psycopg
from psycopg.conninfo import conninfo_to_dict

from bench_expiry import fresh_database
from bench_push import MENTOR_NOTIFY, free_port, wait_until_answering

SECRET = "bench-jwt-secret-long-enough-for-hs256-signatures"
API_KEY = "bench-api-key-long-enough-0123456789abcdef"
P99_TARGET_S = 0.100
SUCCESS_TARGET = 0.999


@dataclass
class Step:
    """What one rate step measured."""

    workers: int
    max_in_flight: int | None
    offered_rate: float
    seconds: float
    sent: int
    ok: int
    shed: int
    other: int
    achieved_rate: float
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    client_lag_max_ms: float
    server_cpu_ms_per_request: float
    postgres_cpu_ms_per_request: float
    client_cpu_ms_per_request: float
    server_cpu_share: float
    other_cpu_share: float
    statuses: dict[str, int] = field(default_factory=dict)
    attempts: int = 1

    @property
    def held(self) -> bool:
        """p99 under the target and (nearly) every request answered 201."""
        return (
            self.p99_ms is not None
            and self.p99_ms < P99_TARGET_S * 1000
            and self.ok >= SUCCESS_TARGET * self.sent
        )


def prepare(admin_url: str, name: str, users: int) -> str:
    """A freshly migrated database with `users` users; its URL."""
    url = fresh_database(admin_url, name)
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into auth.users (id) "
            "select md5('bench-user-' || n)::uuid from generate_series(1, %s) n",
            [users],
        )
        conn.execute(
            "insert into public.users (id, display_name) "
            "select md5('bench-user-' || n)::uuid, 'Bench user ' || n "
            "from generate_series(1, %s) n",
            [users],
        )
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    return url


def access_tokens(url: str) -> list[str]:
    """An access token per user, as Supabase Auth signs them with the legacy secret."""
    with psycopg.connect(url) as conn:
        ids = [str(row[0]) for row in conn.execute("select id from public.users order by id")]
    now = int(time.time())
    claims = {"role": "authenticated", "aud": "authenticated", "iat": now, "exp": now + 6 * 3600}
    return [jwt.encode(claims | {"sub": user}, SECRET, algorithm="HS256") for user in ids]


def reset(url: str) -> None:
    """No device tokens: every configuration starts on the same table."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("truncate public.device_tokens cascade")
        conn.execute("vacuum analyze public.device_tokens")


@contextmanager
def serving(url: str, workers: int, max_in_flight: int | None) -> Iterator[Target]:
    """`mentor-notify serve --workers W` on a free port of 127.0.0.1."""
    port = free_port()
    env = os.environ | {
        "MENTOR_NOTIFY_JWT_SECRET": SECRET,
        "MENTOR_NOTIFY_API_KEYS": API_KEY,
        "MENTOR_NOTIFY_LOG_FORMAT": "json",
        "MENTOR_NOTIFY_LOG_LEVEL": "error",
    }
    if max_in_flight is not None:
        env["MENTOR_NOTIFY_API_MAX_IN_FLIGHT"] = str(max_in_flight)
    command = [str(MENTOR_NOTIFY), "--database-url", url, "serve", "--port", str(port)]
    process = subprocess.Popen([*command, "--workers", str(workers)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}/livez")
        # Every worker up (each has its pool open) before the clock starts.
        time.sleep(2 + workers)
        yield Target(base, process.pid, workers, max_in_flight, conninfo_to_dict(url)["dbname"])
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU time so far of each of `pids` that still runs."""
    times = {}
    for pid in pids:
        try:
            cpu = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        times[pid] = cpu.user + cpu.system
    return times


def cpu_since(before: dict[int, float], pids: list[int]) -> float:
    """CPU time `pids` used since `before`; a process started since (a connection the
    pool opened under load) counts in full."""
    return sum(now - before.get(pid, 0.0) for pid, now in cpu_seconds(pids).items())


def server_pids(pid: int) -> list[int]:
    root = psutil.Process(pid)
    return [pid, *(child.pid for child in root.children(recursive=True))]


def postgres_pids(database: str) -> list[int]:
    """The backends serving `database` and the server's own processes (WAL writer,
    checkpointer, ...), whose work the commits cause; not other databases' backends."""
    pids = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] != "postgres":
            continue
        title = " ".join(process.info["cmdline"] or ())
        backend = "(" in title  # "postgres: user db 127.0.0.1(port) state"
        if not backend or f" {database} " in title:
            pids.append(process.pid)
    return pids


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy, all cores."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class RawClient:
    """A lean HTTP/1.1 client over asyncio streams, for the load only: keep-alive
    connections reused, a new one opened when all are busy (up to `max_connections`,
    then requests wait for one), the status read and the body skipped.

    httpx spends about 1.5 ms of CPU per request (3.5-9 ms open-loop, as it opens
    connections under load), which on a two-core machine takes the CPU the server
    is being measured on; this one spends a small fraction of that (the figures
    report the client's CPU per request either way).
    """

    def __init__(self, host: str, port: int, limit_s: float, max_connections: int = 1000) -> None:
        self._address = (host, port)
        self._limit_s = limit_s
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(max_connections)

    async def request(self, raw: bytes) -> str:
        """Send `raw` (a whole request) and return the answer's status code."""
        async with self._slots, asyncio.timeout(self._limit_s):
            while self._idle:
                # A kept-alive connection the server closed meanwhile (its keep-alive
                # timeout) answers nothing: try the next, as browsers do.
                status = await self._exchange(*self._idle.pop(), raw)
                if status is not None:
                    return status
            fresh = await asyncio.open_connection(*self._address)
            return await self._exchange(*fresh, raw) or "closed"

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
    ) -> str | None:
        try:
            writer.write(raw)
            status_line = await reader.readline()
            if not status_line:
                writer.close()
                return None
            status = status_line.split(b" ", 2)[1].decode()
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            await reader.readexactly(length)
        except BaseException:
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self._idle.append((reader, writer))
        return status

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()


def request_bytes(host: str, token: str, body: bytes) -> bytes:
    head = (
        "POST /v1/device-tokens HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def offer(
    base: str, tokens: list[str], rate: float, seconds: float, limit_s: float, tag: str, kind: str
) -> tuple[list[tuple[str, float]], float, float]:
    """Open-loop arrivals at `rate` for `seconds`: (status, latency) per request, the
    most the client ran behind its schedule, and the time until the last answer."""
    n = int(rate * seconds)
    results: list[tuple[str, float]] = []
    lag = 0.0
    loop = asyncio.get_running_loop()
    host, port = base.removeprefix("http://").split(":")
    raw = RawClient(host, int(port), limit_s)
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    client = httpx.AsyncClient(base_url=base, limits=limits, timeout=limit_s)

    async def one(i: int, planned: float) -> None:
        body = json.dumps(
            {"token": f"bench-{tag}-{i:07d}", "platform": "android", "provider": "fcm"}
        ).encode()
        token = tokens[i % len(tokens)]
        try:
            if kind == "raw":
                status = await raw.request(request_bytes(host, token, body))
            else:
                answer = await client.post(
                    "/v1/device-tokens",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                    },
                )
                status = str(answer.status_code)
        except (TimeoutError, httpx.TimeoutException):
            status = "timeout"
        except (OSError, asyncio.IncompleteReadError, httpx.TransportError) as exc:
            status = type(exc).__name__
        results.append((status, loop.time() - planned))

    start = loop.time() + 0.1
    tasks = []
    try:
        for i in range(n):
            planned = start + i / rate
            delay = planned - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                lag = max(lag, -delay)
            tasks.append(asyncio.create_task(one(i, planned)))
        await asyncio.gather(*tasks)
    finally:
        raw.close()
        await client.aclose()
    return results, lag, loop.time() - start


@dataclass(frozen=True)
class Target:
    """A running server to offer load to."""

    base: str
    pid: int
    workers: int
    max_in_flight: int | None
    database: str


def step(
    target: Target, tokens: list[str], rate: float, seconds: float, tag: str, args: Any
) -> Step:
    """Offer `rate` requests/s for `seconds` and measure."""
    server_before = cpu_seconds(server_pids(target.pid))
    pg_before = cpu_seconds(postgres_pids(target.database))
    busy_before = busy_cpu_seconds()
    client_before, wall_before = time.process_time(), time.perf_counter()
    # The client's own garbage collections would pause its schedule (and then send a
    # burst): none during a step; its garbage is bounded by the step's requests.
    gc.collect()
    gc.disable()
    try:
        results, lag, until_last = asyncio.run(
            offer(target.base, tokens, rate, seconds, args.timeout, tag, args.client)
        )
    finally:
        gc.enable()
    wall = time.perf_counter() - wall_before
    server_cpu = cpu_since(server_before, server_pids(target.pid))
    pg_cpu = cpu_since(pg_before, postgres_pids(target.database))
    client_cpu = time.process_time() - client_before
    other_cpu = busy_cpu_seconds() - busy_before - server_cpu - pg_cpu - client_cpu
    statuses: dict[str, int] = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    ok = [latency for status, latency in results if status == "201"]
    sent = len(results)

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    def per_request(cpu: float) -> float:
        return round(cpu * 1000 / max(sent, 1), 3)

    return Step(
        workers=target.workers,
        max_in_flight=target.max_in_flight,
        offered_rate=rate,
        seconds=seconds,
        sent=sent,
        ok=len(ok),
        shed=statuses.get("503", 0),
        other=sent - len(ok) - statuses.get("503", 0),
        achieved_rate=round(len(ok) / until_last, 1),
        p50_ms=ms(percentile(ok, 0.50)),
        p90_ms=ms(percentile(ok, 0.90)),
        p99_ms=ms(percentile(ok, 0.99)),
        max_ms=ms(max(ok) if ok else None),
        client_lag_max_ms=round(lag * 1000, 1),
        server_cpu_ms_per_request=per_request(server_cpu),
        postgres_cpu_ms_per_request=per_request(pg_cpu),
        client_cpu_ms_per_request=per_request(client_cpu),
        server_cpu_share=round(server_cpu / wall, 2),
        other_cpu_share=round(max(other_cpu, 0.0) / wall, 2),
        statuses=statuses,
    )


def show(s: Step) -> None:
    print(
        f"  workers={s.workers} limit={s.max_in_flight} offered={s.offered_rate:>5.0f}/s "
        f"201={s.achieved_rate:>6.1f}/s p50={s.p50_ms} p90={s.p90_ms} p99={s.p99_ms} "
        f"max={s.max_ms} ms shed={s.shed} other={s.other} lag={s.client_lag_max_ms} ms "
        f"cpu/req server={s.server_cpu_ms_per_request} pg={s.postgres_cpu_ms_per_request} "
        f"client={s.client_cpu_ms_per_request} ms; other load {s.other_cpu_share} cores "
        f"(attempt {s.attempts}) "
        f"{'HELD' if s.held else 'missed'}",
        file=sys.stderr,
        flush=True,
    )


def measured(target: Target, tokens: list[str], rate: float, tag: str, args: Any) -> Step:
    """A step, taken again (up to `--retries` times, after a pause) while other work
    on the machine took more than `--max-other-load` cores during it: on two cores a
    neighbour's test run decides the result otherwise. The last attempt counts,
    disturbed or not, and says so."""
    for attempt in range(args.retries + 1):
        result = step(target, tokens, rate, args.seconds, f"{tag}a{attempt}", args)
        result.attempts = attempt + 1
        show(result)
        if result.other_cpu_share <= args.max_other_load:
            break
        time.sleep(args.pause * 5)
    return result


def sweep(url: str, tokens: list[str], workers: int, args: Any, run: int) -> list[Step]:
    """Increasing rates against `serve --workers W` until two steps in a row miss."""
    reset(url)
    steps: list[Step] = []
    with serving(url, workers, None) as target:
        # Warm-up, unmeasured: connections opened, code paths hot.
        step(target, tokens, 50, 3, f"r{run}w{workers}warm", args)
        missed_in_a_row = 0
        for rate in args.rates:
            result = measured(target, tokens, rate, f"r{run}w{workers}s{rate:g}", args)
            steps.append(result)
            missed_in_a_row = 0 if result.held else missed_in_a_row + 1
            if missed_in_a_row == 2:
                break
            time.sleep(args.pause)
    return steps


def sustained(steps: list[Step]) -> float:
    """The highest offered rate below which every step held (a step that holds
    after one that missed does not count: the rate was not sustained reliably)."""
    rate = 0.0
    for s in steps:
        if not s.held:
            break
        rate = s.offered_rate
    return rate


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--prefix", default="bench_api_load")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2", help="configurations to compare, e.g. 1,2")
    parser.add_argument(
        "--rates",
        default="100,150,200,250,300,350,400,450,500,550,600,650,700",
        help="offered rates of the steps, requests/s",
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each step")
    parser.add_argument("--pause", type=float, default=2.0, help="idle seconds between steps")
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, seconds")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--max-other-load",
        type=float,
        default=0.2,
        help="cores other processes may use during a step before it is taken again",
    )
    parser.add_argument("--retries", type=int, default=3, help="of a disturbed step")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load client: a lean asyncio HTTP/1.1 client, or httpx (CPU-hungrier)",
    )
    parser.add_argument(
        "--overload-workers",
        type=int,
        default=None,
        help="configuration of the shedding comparison (default: the most workers)",
    )
    parser.add_argument(
        "--overload-rate",
        type=float,
        default=None,
        help="rate of the shedding comparison (default: 1.5 x that configuration's sustained rate)",
    )
    parser.add_argument(
        "--overload-limits",
        default="default,0",
        help="in-flight limits compared at the overload rate: 'default' (as configured), "
        "numbers, 0 for none; empty to skip the comparison",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    limits = [None if v == "default" else int(v) for v in args.overload_limits.split(",") if v]
    workers_list = [int(w) for w in args.workers.split(",")]
    args.rates = [float(r) for r in args.rates.split(",")]

    url = prepare(args.admin_url, args.prefix, args.users)
    tokens = access_tokens(url)
    runs: list[dict[str, list[Step]]] = []
    for run in range(1, args.runs + 1):
        print(f"run {run}", file=sys.stderr, flush=True)
        runs.append({str(w): sweep(url, tokens, w, args, run) for w in workers_list})

    summary: dict[str, Any] = {}
    for w in workers_list if runs else []:
        per_run = [sustained(r[str(w)]) for r in runs]
        summary[str(w)] = {
            "sustained_rate_per_run": per_run,
            "sustained_rate_median": statistics.median(per_run),
        }

    workers = args.overload_workers or max(workers_list)
    capacity = summary.get(str(workers), {}).get("sustained_rate_median") or 200.0
    overload = args.overload_rate or round(1.5 * capacity / 50) * 50
    shedding: list[Step] = []
    for limit in limits:
        reset(url)
        with serving(url, workers, limit) as target:
            step(target, tokens, 50, 3, f"o{limit}warm", args)
            shedding.append(measured(target, tokens, overload, f"overload-{limit}", args))

    figures: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": machine(),
        "command": " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]]),
        "client": args.client,
        "users": args.users,
        "seconds_per_step": args.seconds,
        "target": {"p99_ms": P99_TARGET_S * 1000, "answered_201": SUCCESS_TARGET},
        "summary": summary,
        "runs": [
            {w: [asdict(s) | {"held": s.held} for s in steps] for w, steps in r.items()}
            for r in runs
        ],
        "overload": {"workers": workers, "rate": overload},
        "shedding": [asdict(s) for s in shedding],
    }
    print(json.dumps({"summary": summary, "overload": figures["overload"]}, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)
    best = max((s["sustained_rate_median"] for s in summary.values()), default=0.0)
    print(f"best sustained rate: {best:g}/s (target 300/s)", file=sys.stderr)
    return 0 if best >= 300 else 1


if __name__ == "__main__":
    sys.exit(main())
