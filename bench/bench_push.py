"""Push delivery benchmark: outbox -> senders -> emulator -> recorded status.

Three figures, each against `mentor-notify push emulator` running in its own
process on this machine:

1. end-to-end throughput of `Dispatcher.run_once` with the real FCM and APNs
   senders (claims, HTTP/2 sends, outcomes recorded), in messages per second;
   target at least 2,000/s;
2. the official firebase-admin SDK's batch send (`messaging.send_each`, 500
   messages a call) of the same number of messages to the same emulator, send
   only (no database), and the ratio (ours must be at least 2x faster);
3. memory: 100,000 queued messages dispatched, resident set size sampled
   after every round; flat means the last sample is within 20 % of the
   sample after the first 10 %.

The SDK has no setting for FCM's address, so its service object's URL is
pointed at the emulator; its credentials are a throwaway service account
whose token endpoint is the emulator's, as for our senders.

    uv run python bench/bench_push.py --runs 3
"""

import argparse
import asyncio
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

from bench_expiry import fresh_database
from mentor_notify.config import Settings
from mentor_notify.db import open_pool
from mentor_notify.domain import SystemClock
from mentor_notify.logging import configure_logging
from mentor_notify.push.dispatcher import Dispatcher
from mentor_notify.push.senders import emulator_credentials, open_senders, settings_for_emulator

MENTOR_NOTIFY = Path(sys.executable).parent / "mentor-notify"


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


def emulator_count(url: str) -> int:
    counts = httpx.get(f"{url}/emulator/deliveries", timeout=30).json()["counts"]
    return int(sum(counts.values()))


def queue(url: str, n: int) -> None:
    """Empty the queue and queue `n` pushes (one per person, each with one device, one in
    six APNs), due now, in an organisation without a send window."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "truncate push_notices, notifications, device_tokens, chapters, organizations cascade"
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
                select md5('d' || i)::uuid, md5('u' || i)::uuid,
                       case when i % 6 = 0 then 'ios' else 'android' end,
                       case when i % 6 = 0 then 'apns' else 'fcm' end,
                       case when i % 6 = 0 then md5('t' || i) || md5('s' || i)
                            else 'bench-token-' || i end
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


async def dispatch_all(
    url: str, emulator: str, samples: list[float] | None = None
) -> tuple[float, int]:
    settings = settings_for_emulator(Settings(pool_min_size=2, pool_max_size=4), emulator)
    clock = SystemClock()
    async with open_pool(url, settings) as pool, open_senders(settings, clock) as senders:
        dispatcher = Dispatcher.from_settings(pool, senders, clock, settings, "bench")
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
        return time.perf_counter() - started, sent


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
    messaging.send_each(messages[:10], app=app)  # token fetched, connections warm
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="bench_push")
    parser.add_argument("--messages", type=int, default=20_000, help="per throughput run")
    parser.add_argument("--memory-messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    configure_logging("error")

    url = fresh_database(args.admin_url, args.database)
    emulator, emulator_url = start_emulator()
    try:
        ours: list[float] = []
        for run in range(args.runs):
            queue(url, args.messages)
            before = emulator_count(emulator_url)
            elapsed, sent = asyncio.run(dispatch_all(url, emulator_url))
            delivered = emulator_count(emulator_url) - before
            if sent != args.messages or delivered != args.messages:
                raise RuntimeError(f"sent {sent}, delivered {delivered} of {args.messages}")
            ours.append(args.messages / elapsed)
            print(f"run {run + 1}: {ours[-1]:,.0f} msg/s end to end", file=sys.stderr)
        sdk: list[float] = []
        for run in range(args.runs):
            sdk.append(args.messages / firebase_admin_send(emulator_url, args.messages))
            print(f"run {run + 1}: firebase-admin send_each {sdk[-1]:,.0f} msg/s", file=sys.stderr)
        queue(url, args.memory_messages)
        samples: list[float] = []
        elapsed, sent = asyncio.run(dispatch_all(url, emulator_url, samples))
        if sent != args.memory_messages:
            raise RuntimeError(f"memory run sent {sent} of {args.memory_messages}")
    finally:
        emulator.terminate()
        emulator.wait(10)

    early = samples[max(0, len(samples) // 10 - 1)]
    figures: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "runs": args.runs,
        "throughput": {
            "messages": args.messages,
            "median_msg_per_s": statistics.median(ours),
            "runs_msg_per_s": ours,
            "target_msg_per_s": 2000,
        },
        "firebase_admin_send_each": {
            "median_msg_per_s": statistics.median(sdk),
            "runs_msg_per_s": sdk,
        },
        "ratio_ours_over_firebase_admin": statistics.median(ours) / statistics.median(sdk),
        "memory": {
            "messages": args.memory_messages,
            "seconds": elapsed,
            "rss_mib_after_10_percent": early,
            "rss_mib_at_end": samples[-1],
            "rss_mib_max": max(samples),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        },
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)
    missed = [
        name
        for name, ok in (
            (">= 2,000 msg/s end to end", figures["throughput"]["median_msg_per_s"] >= 2000),
            (">= 2x firebase-admin", figures["ratio_ours_over_firebase_admin"] >= 2),
            ("flat memory", samples[-1] <= early * 1.2),
        )
        if not ok
    ]
    print("all targets met" if not missed else f"MISSED: {', '.join(missed)}", file=sys.stderr)
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
