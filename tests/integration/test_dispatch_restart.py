"""A stopped or killed `mentor-notify push dispatch` process gives its claims back
quickly (issue 25), over real processes and sockets against the emulator, every
answer slow and two sends in flight, so a dispatcher always holds claims it has not
sent yet: SIGTERM releases those at once (the lease is made far longer than the test
to show it is not what brings them back); after a kill -9 they come back when the
short default lease runs out. Either way each push is settled once and no device is
sent one twice but for a request on the wire at the kill."""

import asyncio
import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from mentor_notify.db import Pool
from mentor_notify.push.dispatcher import RELEASED
from tests.integration.test_dispatch_processes import deliveries, queue
from tests.integration.test_expiry_reliability import MENTOR_NOTIFY
from tests.integration.test_outbox import statuses
from tests.support import fetch_value, free_port, wait_until_answering

CONCURRENCY = 2


@pytest.fixture
def slow_emulator_url() -> Iterator[str]:
    """`mentor-notify push emulator` in its own process; every answer takes 0.5 s."""
    port = free_port()
    process = subprocess.Popen(
        [
            str(MENTOR_NOTIFY),
            *("push", "emulator", "--port", str(port)),
            *("--slow", "1", "--slow-seconds", "0.5"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_answering(f"{url}/emulator/deliveries", process)
    yield url
    process.terminate()
    process.wait(10)


def dispatcher(
    database_url: str, emulator_url: str, *extra: str, lease: int | None = None
) -> "subprocess.Popen[str]":
    """A dispatch process with two sends in flight; the lease is the default unless
    `lease` (seconds) is given."""
    env = os.environ | {
        "MENTOR_NOTIFY_LOG_FORMAT": "json",
        "MENTOR_NOTIFY_PUSH_BATCH_SIZE": "40",
        "MENTOR_NOTIFY_PUSH_CONCURRENCY": str(CONCURRENCY),
    }
    env.pop("MENTOR_NOTIFY_PUSH_LEASE_SECONDS", None)
    if lease is not None:
        env["MENTOR_NOTIFY_PUSH_LEASE_SECONDS"] = str(lease)
    return subprocess.Popen(
        [
            str(MENTOR_NOTIFY),
            *("--database-url", database_url),
            *("push", "dispatch", "--emulator", emulator_url, "--json"),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )


async def held_by(pool: Pool, worker: str) -> int:
    """Notices in flight under `worker`'s lease."""
    async with pool.connection() as conn:
        held: int = await fetch_value(
            conn,
            "select count(*) from push_notices where status = 'in_flight' and leased_by = %s",
            worker,
        )
    return held


async def until_holding(pool: Pool, process: "subprocess.Popen[str]", at_least: int) -> str:
    """Wait until `process` holds `at_least` claims; its lease signature."""
    worker = f"{socket.gethostname()}:{process.pid}"
    async with asyncio.timeout(60):
        while True:
            if await held_by(pool, worker) >= at_least:
                break
            await asyncio.sleep(0.05)
    return worker


async def until_drained(pool: Pool) -> None:
    async with asyncio.timeout(120):
        while True:
            if (await statuses(pool)).keys() <= {"sent", "folded"}:
                break
            await asyncio.sleep(0.2)


def output(process: "subprocess.Popen[str]") -> dict[str, Any]:
    document: dict[str, Any] = json.loads(process.communicate(timeout=60)[0])
    return document


async def test_sigterm_releases_the_unsent_claims_at_once(
    own_pool: Pool, own_database_url: str, slow_emulator_url: str
) -> None:
    queued = await queue(own_pool, 30)
    # A lease far longer than the test: only the release can bring the claims back.
    victim = dispatcher(own_database_url, slow_emulator_url, lease=3600)
    worker = await until_holding(own_pool, victim, 10)

    victim.send_signal(signal.SIGTERM)
    stopped = output(victim)
    async with own_pool.connection() as conn:
        released = await fetch_value(
            conn,
            "select count(*) from push_notices where status = 'pending' "
            "and last_error = %s and available_at <= now()",
            RELEASED,
        )
    still_held = await held_by(own_pool, worker)
    successor = dispatcher(own_database_url, slow_emulator_url, "--once", lease=3600)
    finished = output(successor)

    assert victim.returncode == 0
    assert still_held == 0
    assert released > 0
    assert stopped["retrying"] >= released  # settled as retries due now, unsent
    assert successor.returncode == 0
    assert stopped["sent"] + finished["sent"] == queued
    assert await statuses(own_pool) == {"sent": queued, "folded": 29}
    seen = deliveries(slow_emulator_url)
    assert seen["duplicates"] == 0
    assert sum(seen["counts"].values()) == queued


async def test_a_killed_dispatchers_claims_come_back_after_the_short_lease(
    own_pool: Pool, own_database_url: str, slow_emulator_url: str
) -> None:
    queued = await queue(own_pool, 30)
    victim = dispatcher(own_database_url, slow_emulator_url)
    worker = await until_holding(own_pool, victim, 10)

    # A round settles its outcomes together at its end, so what the victim sent in
    # its last round before the kill is unsettled too, and sent again; how much that
    # is depends on how long the poll above took to see the claim.
    answered_before_kill = sum(deliveries(slow_emulator_url)["counts"].values())
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    async with own_pool.connection() as conn:
        # The orphaned claims run out within seconds: the default lease is 15 s
        # (it was 2 minutes).
        lapse_within_lease = await fetch_value(
            conn,
            "select max(leased_until) <= now() + interval '15 seconds' "
            "from push_notices where status = 'in_flight' and leased_by = %s",
            worker,
        )
    orphaned = await held_by(own_pool, worker)
    successor = dispatcher(own_database_url, slow_emulator_url)
    await until_drained(own_pool)
    successor.send_signal(signal.SIGTERM)
    finished = output(successor)

    assert orphaned >= 10
    assert lapse_within_lease is True
    assert successor.returncode == 0
    assert finished["sent"] >= orphaned
    assert await statuses(own_pool) == {"sent": queued, "folded": 29}
    async with own_pool.connection() as conn:
        unsettled = await fetch_value(
            conn, "select count(*) from notifications where status <> 'sent'"
        )
    assert unsettled == 0
    seen = deliveries(slow_emulator_url)
    # Sent twice only if the victim had sent it unsettled, or had its request on the
    # wire, when it was killed.
    assert seen["duplicates"] <= answered_before_kill + CONCURRENCY
    assert sum(seen["counts"].values()) == queued + seen["duplicates"]
