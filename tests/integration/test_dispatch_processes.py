"""Several `mentor-notify push dispatch` processes against one push queue and the
emulator process: every push delivered once; one dispatcher SIGKILLed while it sends a
digest loses nothing and the digest is settled once; SIGTERM stops the others
gracefully."""

import asyncio
import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mentor_notify.db import Pool
from tests.integration.test_expiry_reliability import MENTOR_NOTIFY
from tests.integration.test_outbox import queued_world, statuses
from tests.support import fetch_value, free_port, wait_until_answering


@pytest.fixture
def emulator_url() -> Iterator[str]:
    """`mentor-notify push emulator` in its own process; one answer in ten is slow."""
    port = free_port()
    process = subprocess.Popen(
        [
            str(MENTOR_NOTIFY),
            "push",
            "emulator",
            "--port",
            str(port),
            "--slow",
            "0.1",
            "--slow-seconds",
            "0.5",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_answering(f"{url}/emulator/deliveries", process)
    yield url
    process.terminate()
    process.wait(10)


def dispatcher(database_url: str, emulator_url: str, *extra: str) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [
            str(MENTOR_NOTIFY),
            "--database-url",
            database_url,
            "push",
            "dispatch",
            "--emulator",
            emulator_url,
            "--json",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=os.environ
        | {
            "MENTOR_NOTIFY_LOG_FORMAT": "json",
            "MENTOR_NOTIFY_PUSH_BATCH_SIZE": "40",
            "MENTOR_NOTIFY_PUSH_LEASE_SECONDS": "5",
        },
    )


def deliveries(emulator_url: str) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{emulator_url}/emulator/deliveries", timeout=10).json()
    return document


async def queue(pool: Pool, mentors: int) -> int:
    """Queue notices due now by the real clock the processes run on, at any time of day,
    for `mentors` mentors and their coordinator; returns the pushes they make: one per
    mentor, and one digest of all to the coordinator."""
    await queued_world(pool, {f"m{n}": 7 for n in range(mentors)})
    async with pool.connection() as conn:
        await conn.execute("update push_notices set available_at = now() - interval '1 minute'")
        await conn.execute(
            "update organizations set push_window_start = '00:00', push_window_end = '00:00'"
        )
    return mentors + 1


async def test_several_dispatcher_processes_deliver_every_message_once(
    own_pool: Pool, own_database_url: str, emulator_url: str
) -> None:
    queued = await queue(own_pool, 150)
    processes = [dispatcher(own_database_url, emulator_url, "--once") for _ in range(3)]
    outputs = [json.loads(p.communicate(timeout=120)[0]) for p in processes]

    assert [p.returncode for p in processes] == [0, 0, 0]
    assert sum(o["sent"] for o in outputs) == queued
    assert sum(1 for o in outputs if o["sent"]) >= 2  # the work was shared
    assert await statuses(own_pool) == {"sent": queued, "folded": 149}
    seen = deliveries(emulator_url)
    assert sum(seen["counts"].values()) == queued
    assert seen["duplicates"] == 0


async def test_a_killed_dispatcher_loses_nothing_and_sigterm_stops_the_rest(
    own_pool: Pool, own_database_url: str, emulator_url: str
) -> None:
    queued = await queue(own_pool, 300)
    async with own_pool.connection() as conn:
        coordinator = await fetch_value(
            conn, "select recipient_id from push_notices group by 1 order by count(*) desc limit 1"
        )
    victim = dispatcher(own_database_url, emulator_url)
    victim_name = f"{socket.gethostname()}:{victim.pid}"
    # Killed while it holds the coordinator's digest (300 notices in one push).
    async with asyncio.timeout(60):
        while True:
            async with own_pool.connection() as conn:
                mine = await fetch_value(
                    conn,
                    "select count(*) from push_notices where status = 'in_flight' "
                    "and leased_by = %s and recipient_id = %s",
                    victim_name,
                    coordinator,
                )
            if mine:
                break
            await asyncio.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    async with own_pool.connection() as conn:
        orphaned = await fetch_value(
            conn,
            "select count(*) from push_notices where status = 'in_flight' and leased_by = %s",
            victim_name,
        )
    survivors = [dispatcher(own_database_url, emulator_url) for _ in range(2)]
    async with asyncio.timeout(120):
        while True:
            if (await statuses(own_pool)).keys() <= {"sent", "folded"}:
                break
            await asyncio.sleep(0.2)
    for process in survivors:
        process.send_signal(signal.SIGTERM)
    outputs = [json.loads(p.communicate(timeout=30)[0]) for p in survivors]

    assert orphaned > 0  # killed with pushes in flight
    assert [p.returncode for p in survivors] == [0, 0]
    assert await statuses(own_pool) == {"sent": queued, "folded": 299}
    async with own_pool.connection() as conn:
        digests = await fetch_value(
            conn,
            "select count(*) from push_notices where recipient_id = %s and status = 'sent'",
            coordinator,
        )
        unsettled = await fetch_value(
            conn, "select count(*) from notifications where status <> 'sent'"
        )
    seen = deliveries(emulator_url)
    # Exactly one digest in the database; the coordinator's device got it at least
    # once, every time under the same idempotency key, counting all 300 notices.
    assert (digests, unsettled) == (1, 0)
    sent_digests = [d for d in seen["delivered"] if d["message"].get("category") == "digest"]
    assert len(sent_digests) >= 1
    assert len({d["message"]["idempotency_key"] for d in sent_digests}) == 1
    assert {d["message"]["count"] for d in sent_digests} == {300}
    # Sent by the victim but never recorded, then sent again after its lease:
    # at most the messages it held, each repeat carrying the same idempotency key.
    assert seen["duplicates"] <= orphaned
    assert sum(seen["counts"].values()) == queued + seen["duplicates"]
    assert sum(o["sent"] for o in outputs) >= orphaned


def test_dispatch_without_credentials_says_what_to_configure(own_database_url: str) -> None:
    result = subprocess.run(
        [str(MENTOR_NOTIFY), "--database-url", own_database_url, "push", "dispatch", "--once"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if "CREDENTIALS" not in k and "APNS" not in k},
    )

    assert result.returncode == 1
    assert "no push service is configured" in result.stderr
    assert "MENTOR_NOTIFY_FCM_CREDENTIALS_FILE" in result.stderr
    assert "Traceback" not in result.stderr
