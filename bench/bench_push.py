"""Push delivery benchmark: outbox -> senders -> emulator -> recorded status.

Figures against `mentor-notify push emulator` running in its own process on
this machine, the contenders taking turns within each run (the order rotating
from run to run), all sending the same FCM messages (one per person, one
Android device each):

1. `ours`: end-to-end throughput of `Dispatcher.run_once` with the real
   senders (claims, the send-time device check, HTTP/2 sends, outcomes
   recorded), in messages per second over our HTTP/2 client
   (`push/http2.py`), with the client's CPU per message and, apart, the
   database's: the CPU time of the server processes serving the dispatch
   (the server runs on this machine), and the client-side time of each
   queue call (claim, renewal, device check, settle) per message;
2. `before` (with `--before CHECKOUT`): the same, run by another checkout's
   interpreter and package (e.g. /work/main) on a database of its own that
   its migrations made (`<database>_before`), alternating with ours in the
   same session, so before and after meet the same machine load (and, when
   named in `--contenders`, `before_send`: that checkout's sender alone, as
   `ours_send` below);
3. `ours_send`: our FCM sender alone sending the same messages, 100 in
   flight, no database: the like-for-like counterpart of
4. `firebase_admin`: the official SDK's `messaging.send_each` (500 messages
   a call; measured faster than `send_each_async` here), send only;
5. `niquests`: ours end to end with the senders' HTTP client swapped for
   niquests (a maintained library that multiplexes HTTP/2), to decide
   whether our client earns its keep: it must be at least 1.5x faster;
6. memory: 100,000 queued messages dispatched, resident set size sampled
   after every round; flat means the last sample is within 20 % of the
   sample after the first 10 %.

The end-to-end contenders and `ours_send` run in a child process of their
own (timed inside it), niquests in an overlay made by `uv run --with`:
niquests brings urllib3-future, which overwrites the environment's `urllib3`
package when installed next to it (checked 2026-11-29 in its
`urllib3_future.pth`), so it is kept out of the project's environment. The
emulator's CPU time is read for every run, to tell whether it capped the
figure.

The SDK has no setting for FCM's address, so its service object's URL is
pointed at the emulator; its credentials are a throwaway service account
whose token endpoint is the emulator's, as for our senders.

    uv run python bench/bench_push.py --runs 5 --before /work/main
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench_expiry import checkout_database, fresh_database
from mentor_notify.config import Settings
from mentor_notify.db import open_pool
from mentor_notify.domain import SystemClock
from mentor_notify.logging import configure_logging
from mentor_notify.push.dispatcher import Dispatcher
from mentor_notify.push.http2 import Response, Transport
from mentor_notify.push.outbox import ClaimedPush
from mentor_notify.push.senders import (
    TransportFactory,
    emulator_credentials,
    http2_client,
    open_senders,
    settings_for_emulator,
)

MENTOR_NOTIFY = Path(sys.executable).parent / "mentor-notify"
NIQUESTS = "niquests==3.21.2"
# Messages firebase-admin sends before its timed run.
WARM_UP = 10
CLIENTS = ("ours", "niquests", "ours_send")
# What the database does for the dispatcher, timed in the child as the client sees it
# (round trip included): claim, lease renewal, the send-time device check, settle.
QUEUE_CALLS = ("claim_batch", "renew", "still_held", "record")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_emulator() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [str(MENTOR_NOTIFY), "push", "emulator", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_answering(f"{url}/emulator/deliveries")
    return process, url


def wait_until_answering(url: str) -> None:
    """Wait (10 s at most) for a server we started to answer at `url`."""
    for _ in range(100):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered at {url}")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def emulator_count(url: str) -> int:
    counts = httpx.get(f"{url}/emulator/deliveries", timeout=30).json()["counts"]
    return int(sum(counts.values()))


def queue(url: str, n: int) -> None:
    """Empty the queue and queue `n` pushes (one per person, each with one FCM device:
    the same messages the send-only contenders send), due now, in an organisation
    without a send window."""
    with psycopg.connect(url) as conn:
        conn.execute(
            # The budget ledger has no foreign keys (migration 20261207200200), so
            # the cascade does not reach it: today's spent budget would hold every
            # push of the next run.
            "truncate push_notices, push_budget_days, notifications, device_tokens, chapters,"
            " organizations cascade"
        )
        conn.execute("delete from auth.users")
        conn.execute(
            "insert into organizations (id, slug, name, certificate_type, push_window_start, "
            "push_window_end) values (md5('o')::uuid, 'bench', 'Bench', 'hlf_peer_mentor', "
            "'00:00', '00:00')"
        )
        conn.execute(
            f"insert into auth.users (id) select md5('u' || i)::uuid from generate_series(1, {n}) i"
        )
        conn.execute(
            f"insert into users (id, display_name) select md5('u' || i)::uuid, 'Person ' || i "
            f"from generate_series(1, {n}) i"
        )
        conn.execute(
            f"""insert into device_tokens (id, user_id, platform, provider, token)
                select md5('d' || i)::uuid, md5('u' || i)::uuid, 'android', 'fcm',
                       'bench-token-' || i
                from generate_series(1, {n}) i"""
        )
        conn.execute(
            f"""insert into notifications (id, organization_id, recipient_id, subject_mentor_id,
                  category, message_key, data, idempotency_key)
                select md5('n' || i)::uuid, md5('o')::uuid, md5('u' || i)::uuid,
                       md5('u' || i)::uuid,
                       'welcome_back', 'scenario.welcome_back',
                       jsonb_build_object('deep_link', 'mentornotify://v1/home'),
                       encode(sha256(('n' || i)::bytea), 'hex')
                from generate_series(1, {n}) i"""
        )
        conn.execute(
            f"""insert into push_notices (organization_id, notification_id, recipient_id,
                  payload, collapse_key, available_at)
                select md5('o')::uuid, md5('n' || i)::uuid, md5('u' || i)::uuid,
                       jsonb_build_object(
                         'category', 'welcome_back',
                         'title_key', 'scenario.welcome_back.title',
                         'body_key', 'scenario.welcome_back.body',
                         'priority', 'normal',
                         'data', jsonb_build_object(
                           'notification_id', md5('n' || i)::uuid,
                           'category', 'welcome_back',
                           'deep_link', 'mentornotify://v1/home')),
                       'scenario:welcome_back',
                       now() - interval '1 minute'
                from generate_series(1, {n}) i"""
        )
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class NiquestsTransport:
    """The senders' HTTP client as niquests: HTTP/2 only (with prior knowledge on the
    emulator's plain port), its connection pool of `pool` per service; `multiplexed`
    sends without waiting and collects the answer with `gather`."""

    def __init__(self, base_url: str, pool: int, multiplexed: bool) -> None:
        import niquests

        self._base = base_url.rstrip("/")
        self._multiplexed = multiplexed
        self._session = niquests.AsyncSession(
            disable_http1=True, disable_http3=True, pool_maxsize=pool, multiplexed=multiplexed
        )

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Response:
        answer = await self._session.request(method, self._base + path, headers=headers, data=body)
        if self._multiplexed:
            await self._session.gather(answer)
        return Response(
            int(answer.status_code or 0),
            {k.lower(): v for k, v in answer.headers.items()},
            answer.content or b"",
        )

    async def close(self) -> None:
        await self._session.close()


def transport_for(client: str, niquests: str) -> TransportFactory:
    """`niquests` is the pool size per service, `m` after it for multiplexed mode."""
    if client == "ours":
        return http2_client

    def make(settings: Settings, base_url: str) -> Transport:
        return NiquestsTransport(base_url, int(niquests.rstrip("m")), niquests.endswith("m"))

    return make


async def dispatch_all(
    url: str,
    emulator: str,
    samples: list[float] | None = None,
    transport: TransportFactory = http2_client,
) -> tuple[float, int, float]:
    """Dispatch everything queued: seconds, messages sent, and the CPU seconds the
    database's backends serving this dispatch spent meanwhile."""
    settings = settings_for_emulator(Settings(pool_min_size=2, pool_max_size=4), emulator)
    clock = SystemClock()
    async with (
        open_pool(url, settings) as pool,
        open_senders(settings, clock, transport=transport) as senders,
    ):
        dispatcher = Dispatcher.from_settings(pool, senders, clock, settings, "bench")
        database_before = await backend_cpu(url)
        started = time.perf_counter()
        if samples is None:
            sent = (await dispatcher.run_once()).sent
        else:
            # Round by round, to sample memory as the queue drains.
            sent = 0
            while True:
                claim, counts = await dispatcher.round(settings.push_batch_size)
                if not claim.touched:
                    break
                sent += counts.sent
                samples.append(rss_mib())
        elapsed = time.perf_counter() - started
        database_cpu = sum(
            cpu - database_before.get(pid, 0.0) for pid, cpu in (await backend_cpu(url)).items()
        )
        return elapsed, sent, database_cpu


async def backend_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each server process serving the database at `url` (the
    server runs on this machine), asked on a connection of its own and left out: a
    connection of the dispatcher's pool asking would leave its own work uncounted."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        rows = await (
            await conn.execute(
                "select pid from pg_stat_activity"
                " where datname = current_database() and pid <> pg_backend_pid()"
            )
        ).fetchall()
    found = {}
    for (pid,) in rows:
        with contextlib.suppress(OSError):
            found[pid] = cpu_seconds(pid)
    return found


def timed_queue_calls() -> dict[str, float]:
    """Time every call of the outbox's database methods (as the client sees them):
    seconds per method, summed, filled in as the dispatch runs."""
    from mentor_notify.push import outbox

    spent: dict[str, float] = {}
    for name in QUEUE_CALLS:
        method = getattr(outbox.Outbox, name, None)
        if method is None:  # an older checkout without it
            continue
        spent[name] = 0.0

        def wrap(method: Any, name: str) -> Any:
            async def timed(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await method(*args, **kwargs)
                finally:
                    spent[name] += time.perf_counter() - started

            return timed

        setattr(outbox.Outbox, name, wrap(method, name))
    return spent


async def send_only(emulator: str, n: int) -> float:
    """Seconds for our FCM sender to send `n` messages, the same as firebase-admin's,
    100 in flight (the dispatcher's default), no database."""
    settings = settings_for_emulator(Settings(), emulator)
    pushes = [
        ClaimedPush(
            id=uuid.uuid4(),
            notice_id=uuid.uuid4(),
            notification_id=uuid.uuid4(),
            recipient_id=uuid.uuid4(),
            device_token_id=uuid.uuid4(),
            provider="fcm",
            payload={
                "category": "welcome_back",
                "title_key": "scenario.welcome_back.title",
                "body_key": "scenario.welcome_back.body",
                "priority": "normal",
                "data": {"deep_link": "mentornotify://v1/home"},
            },
            collapse_key="scenario:welcome_back",
            idempotency_key=uuid.uuid4().hex,
            attempts=1,
            token=f"bench-token-{i}",
        )
        for i in range(n + WARM_UP)
    ]
    slots = asyncio.Semaphore(100)
    async with open_senders(settings, SystemClock()) as senders:
        fcm = senders["fcm"]

        async def one(push: ClaimedPush) -> None:
            async with slots:
                answer = await fcm.send(push)
            if answer.result != "sent":
                raise RuntimeError(f"send-only: {answer}")

        await asyncio.gather(*(one(p) for p in pushes[:WARM_UP]))  # token, connection
        started = time.perf_counter()
        await asyncio.gather(*(one(p) for p in pushes[WARM_UP:]))
        return time.perf_counter() - started


def dispatch_in_child(
    client: str, url: str, emulator: str, niquests: str, python: str | None = None
) -> dict[str, Any]:
    """Run one end-to-end dispatch with `client` in a child process (with `python`:
    another checkout's interpreter and package, this benchmark's code); its figures."""
    command = [
        "python",
        str(Path(__file__).resolve()),
        "--dispatch",
        client,
        "--database-url",
        url,
        "--emulator-url",
        emulator,
        "--niquests",
        niquests,
    ]
    if client == "niquests":
        command = ["uv", "run", "--quiet", "--with", NIQUESTS, *command]
    else:
        command[0] = python or sys.executable
    done = subprocess.run(
        command, cwd=Path(__file__).parent, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{client} dispatch failed: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout))


def child_dispatch(client: str, url: str, emulator: str, niquests: str) -> int:
    """The child's side: dispatch everything queued, print seconds, sent and the CPU
    time of the dispatch (imports and start-up left out)."""
    configure_logging("error")
    if client == "ours_send":
        n = int(url)  # the send-only child is given the number of messages instead
        before = process_cpu()
        elapsed = asyncio.run(send_only(emulator, n))
        print(json.dumps({"seconds": elapsed, "sent": n, "cpu": process_cpu() - before}))
        return 0
    spent = timed_queue_calls()
    before = process_cpu()
    elapsed, sent, database_cpu = asyncio.run(
        dispatch_all(url, emulator, transport=transport_for(client, niquests))
    )
    figures = {"seconds": elapsed, "sent": sent, "cpu": process_cpu() - before}
    print(json.dumps(figures | {"database_cpu": database_cpu, "queue_call_seconds": spent}))
    return 0


def process_cpu() -> float:
    """This process's user and system CPU time so far, all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def firebase_admin_send(emulator: str, n: int) -> float:
    """Seconds for firebase-admin's send_each to deliver `n` messages, 500 a call."""
    import firebase_admin
    from firebase_admin import credentials, messaging

    creds = emulator_credentials(emulator)
    app = firebase_admin.initialize_app(
        credentials.Certificate(json.loads(creds.service_account_json)),
        {"projectId": creds.project_id},
        name=f"bench-{uuid.uuid4().hex[:8]}",
    )
    service = messaging._get_messaging_service(app)
    service._fcm_url = f"{emulator}/v1/projects/{creds.project_id}/messages:send"
    messages = [
        messaging.Message(
            token=f"bench-token-{i}",
            data={"deep_link": "mentornotify://v1/home", "idempotency_key": uuid.uuid4().hex},
            android=messaging.AndroidConfig(
                priority="normal",
                collapse_key="scenario:welcome_back",
                notification=messaging.AndroidNotification(
                    title_loc_key="scenario.welcome_back.title",
                    body_loc_key="scenario.welcome_back.body",
                ),
            ),
        )
        for i in range(n)
    ]
    messaging.send_each(messages[:WARM_UP], app=app)  # token fetched, connections warm
    started = time.perf_counter()
    failures = 0
    for at in range(0, n, 500):
        response = messaging.send_each(messages[at : at + 500], app=app)
        failures += response.failure_count
        if response.failure_count and at == 0:
            print(next(r.exception for r in response.responses if r.exception), file=sys.stderr)
    elapsed = time.perf_counter() - started
    firebase_admin.delete_app(app)
    if failures:
        raise RuntimeError(f"firebase-admin: {failures} sends failed")
    return elapsed


def one_run(
    name: str, args: argparse.Namespace, url: str, emulator: Any, emulator_url: str
) -> dict[str, Any]:
    """One timed run of contender `name`, checked against the emulator's count."""
    if name in ("ours", "before", "niquests"):
        queue(url, args.messages)
    before, emulator_cpu = emulator_count(emulator_url), cpu_seconds(emulator.pid)
    if name == "firebase_admin":
        cpu = process_cpu()
        seconds = firebase_admin_send(emulator_url, args.messages)
        figures: dict[str, Any] = {
            "seconds": seconds,
            "sent": args.messages,
            "cpu": process_cpu() - cpu,  # its warm-up included
        }
    elif name == "ours_send":
        figures = dispatch_in_child(name, str(args.messages), emulator_url, args.niquests)
    elif name == "before":
        python = str(Path(args.before) / ".venv" / "bin" / "python")
        figures = dispatch_in_child("ours", url, emulator_url, args.niquests, python)
    elif name == "before_send":
        python = str(Path(args.before) / ".venv" / "bin" / "python")
        figures = dispatch_in_child("ours_send", str(args.messages), emulator_url, "1", python)
    else:
        figures = dispatch_in_child(name, url, emulator_url, args.niquests)
    figures["emulator_cpu"] = cpu_seconds(emulator.pid) - emulator_cpu
    # The machine is shared: how busy it was, to judge the figure by.
    figures["load_average_1min"] = os.getloadavg()[0]
    delivered = emulator_count(emulator_url) - before
    if name in ("firebase_admin", "ours_send", "before_send"):
        delivered -= WARM_UP
    if figures["sent"] != args.messages or delivered != args.messages:
        raise RuntimeError(
            f"{name}: sent {figures['sent']}, delivered {delivered} of {args.messages}"
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="bench_push")
    parser.add_argument("--messages", type=int, default=20_000, help="per throughput run")
    parser.add_argument("--memory-messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--niquests",
        default="1",
        help="niquests connections per service; with an m after it (e.g. 1m), multiplexed",
    )
    parser.add_argument("--skip-memory", action="store_true", help="no memory run")
    parser.add_argument(
        "--contenders",
        default="ours,ours_send,firebase_admin,niquests",
        help="comma-separated: ours (end to end), ours_send (send only), firebase_admin, "
        "niquests (end to end), before_send (--before's sender alone, like ours_send)",
    )
    parser.add_argument(
        "--before",
        metavar="CHECKOUT",
        help="another checkout (with its .venv) whose dispatcher runs end to end as "
        "contender 'before', alternating with ours",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    # A child process's part: one end-to-end dispatch with the given client.
    parser.add_argument("--dispatch", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--emulator-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dispatch:
        return child_dispatch(args.dispatch, args.database_url, args.emulator_url, args.niquests)
    configure_logging("error")

    url = fresh_database(args.admin_url, args.database)
    # `before` runs on a database its own checkout migrated: a migration of
    # ours (a function, a table's storage) would otherwise count for both.
    before_url = (
        checkout_database(args.admin_url, f"{args.database}_before", Path(args.before))
        if args.before
        else url
    )
    emulator, emulator_url = start_emulator()
    contenders = [c for c in args.contenders.split(",") if c]
    if "before_send" in contenders and not args.before:
        parser.error("before_send needs --before")
    if args.before:
        contenders.insert(1, "before")
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    details: list[dict[str, Any]] = []
    samples: list[float] = []
    elapsed = 0.0
    try:
        for run in range(args.runs):
            # Each contender goes first in turn.
            turn = run % len(contenders)
            for name in contenders[turn:] + contenders[:turn]:
                database = before_url if name == "before" else url
                figures = one_run(name, args, database, emulator, emulator_url)
                rates[name].append(args.messages / figures["seconds"])
                details.append({"run": run + 1, "contender": name, **figures})
                print(
                    f"run {run + 1}: {name} {rates[name][-1]:,.0f} msg/s "
                    f"(client CPU {figures['cpu'] / args.messages * 1e6:.0f} us a message, "
                    + (
                        f"database CPU {figures['database_cpu'] / args.messages * 1e6:.0f} us, "
                        if "database_cpu" in figures
                        else ""
                    )
                    + f"emulator busy {figures['emulator_cpu'] / figures['seconds']:.0%} "
                    f"of the time, load {figures['load_average_1min']:.1f})",
                    file=sys.stderr,
                )
        if not args.skip_memory:
            queue(url, args.memory_messages)
            elapsed, sent, _ = asyncio.run(dispatch_all(url, emulator_url, samples))
            if sent != args.memory_messages:
                raise RuntimeError(f"memory run sent {sent} of {args.memory_messages}")
    finally:
        emulator.terminate()
        emulator.wait(10)

    def per_message(name: str, figure: str) -> float:
        return statistics.median(
            float(d[figure]) / args.messages * 1e6 for d in details if d["contender"] == name
        )

    def calls_per_message(name: str) -> dict[str, float]:
        runs = [d["queue_call_seconds"] for d in details if d["contender"] == name]
        return {
            call: statistics.median(r[call] for r in runs) / args.messages * 1e6 for call in runs[0]
        }

    median = {name: statistics.median(values) for name, values in rates.items()}
    end_to_end = [n for n in contenders if n in ("ours", "before", "niquests")]
    figures_out: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "runs": args.runs,
        "messages": args.messages,
        "before": args.before,
        "median_msg_per_s": median,
        "runs_msg_per_s": rates,
        "median_client_cpu_us_per_msg": {name: per_message(name, "cpu") for name in rates},
        "median_database_cpu_us_per_msg": {
            name: per_message(name, "database_cpu") for name in end_to_end
        },
        "median_queue_call_us_per_msg": {name: calls_per_message(name) for name in end_to_end},
        "load_average_1min": [d["load_average_1min"] for d in details],
        "niquests": args.niquests,
        "details": details,
    }
    targets = []
    if "ours_send" in median and "firebase_admin" in median:
        figures_out["ratio_ours_send_over_firebase_admin"] = (
            median["ours_send"] / median["firebase_admin"]
        )
        targets.append(
            (">= 3.5x firebase-admin", figures_out["ratio_ours_send_over_firebase_admin"] >= 3.5)
        )
    if "ours" in median and "firebase_admin" in median:
        figures_out["ratio_ours_end_to_end_over_firebase_admin"] = (
            median["ours"] / median["firebase_admin"]
        )
    if "ours" in median and "niquests" in median:
        figures_out["ratio_ours_over_niquests"] = median["ours"] / median["niquests"]
        targets.append(
            (">= 1.5x niquests (else switch)", figures_out["ratio_ours_over_niquests"] >= 1.5)
        )
    if "before_send" in median and "ours_send" in median:
        cpu = figures_out["median_client_cpu_us_per_msg"]
        figures_out["ratio_send_client_cpu_after_over_before"] = (
            cpu["ours_send"] / cpu["before_send"]
        )
    if "before" in median and "ours" in median:
        cpu = figures_out["median_client_cpu_us_per_msg"]
        db = figures_out["median_database_cpu_us_per_msg"]
        figures_out["ratio_client_cpu_after_over_before"] = cpu["ours"] / cpu["before"]
        figures_out["ratio_database_cpu_after_over_before"] = db["ours"] / db["before"]
        figures_out["ratio_msg_per_s_after_over_before"] = median["ours"] / median["before"]
        targets.append(
            ("client CPU at most half", figures_out["ratio_client_cpu_after_over_before"] <= 0.5)
        )
        targets.append(
            (
                "database CPU at most half",
                figures_out["ratio_database_cpu_after_over_before"] <= 0.5,
            )
        )
    if samples:
        early = samples[max(0, len(samples) // 10 - 1)]
        figures_out["memory"] = {
            "messages": args.memory_messages,
            "seconds": elapsed,
            "rss_mib_after_10_percent": early,
            "rss_mib_at_end": samples[-1],
            "rss_mib_max": max(samples),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        targets.append(("flat memory", samples[-1] <= early * 1.2))
    print(json.dumps(figures_out, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(figures_out, out, indent=2)
    missed = [name for name, ok in targets if not ok]
    print("all targets met" if not missed else f"MISSED: {', '.join(missed)}", file=sys.stderr)
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
