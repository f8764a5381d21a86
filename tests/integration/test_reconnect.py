"""`push dispatch`, `serve` and the worker ride out their database restarting and being
away for a while: they say so (log, readiness), wait, and carry on once it is back. On
a PostgreSQL cluster the test makes, stops and starts itself, never the shared server."""

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from mentor_notify.config import Settings
from mentor_notify.db import SupabaseLayout, connect, open_pool
from mentor_notify.expiry import ExpirySweep
from tests.api.credentials import SERVE_ENV, SERVICE
from tests.expiry_world import build_world
from tests.integration.test_dispatch_processes import (  # noqa: F401 - fixture
    MENTOR_NOTIFY,
    deliveries,
    emulator_url,
)
from tests.integration.test_expiry_sweep import CLOCK, TODAY
from tests.integration.test_worker import worker_process
from tests.support import Cluster, free_port, own_cluster, run_migrations, wait_until_answering


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with own_cluster() as made:
        yield made


@pytest_asyncio.fixture
async def migrated(cluster: Cluster, supabase_layout: SupabaseLayout) -> AsyncIterator[str]:
    await run_migrations(cluster.url, supabase_layout)
    yield cluster.url


async def queue_due_now(url: str, slug: str, mentors: int) -> int:
    """Pushes due now (real clock, no send window) for a new organisation's mentors and
    their coordinator."""
    async with open_pool(url, Settings(pool_min_size=1, pool_max_size=2)) as pool:
        async with pool.connection() as conn:
            await build_world(conn, TODAY, {f"m{n}": 7 for n in range(mentors)}, slug=slug)
        await ExpirySweep(pool, CLOCK).run(organisations=[slug])
        async with pool.connection() as conn:
            await conn.execute("update push_notices set available_at = now() - interval '1 minute'")
            await conn.execute("update organizations set push_window_start = push_window_end")
            # One push per person: the coordinator's a digest of their mentors'.
            cur = await conn.execute(
                "select count(distinct p.recipient_id) as n from push_notices p "
                "join organizations o on o.id = p.organization_id where o.slug = %s",
                [slug],
            )
            row = await cur.fetchone()
    assert row is not None
    return int(row["n"])


async def sent(url: str) -> int:
    conn = await connect(url)
    try:
        cur = await conn.execute("select count(*) as n from push_notices where status = 'sent'")
        row = await cur.fetchone()
    finally:
        await conn.close()
    return int(row["n"]) if row else 0


async def until_sent(url: str, expected: int) -> None:
    async with asyncio.timeout(90):
        while True:
            if await sent(url) >= expected:
                return
            await asyncio.sleep(0.5)


async def test_dispatch_rides_out_a_restart_and_an_outage(
    cluster: Cluster,
    migrated: str,
    emulator_url: str,  # noqa: F811
) -> None:
    first = await queue_due_now(migrated, "before", 3)
    process = subprocess.Popen(  # noqa: ASYNC220 - a server process, stopped below
        [
            str(MENTOR_NOTIFY),
            "--database-url",
            migrated,
            "push",
            "dispatch",
            "--emulator",
            emulator_url,
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"MENTOR_NOTIFY_LOG_FORMAT": "json"},
    )
    try:
        await until_sent(migrated, first)
        cluster.ctl("restart", "--mode", "fast")
        second = await queue_due_now(migrated, "after-restart", 3)
        await until_sent(migrated, first + second)
        cluster.ctl("stop", "--mode", "fast")
        await asyncio.sleep(5)  # away for a while: the dispatcher must not give up
        alive_through_outage = process.poll() is None
        cluster.ctl("start")
        third = await queue_due_now(migrated, "after-outage", 3)
        await until_sent(migrated, first + second + third)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)

    events = [json.loads(line).get("event") for line in err.splitlines() if line.startswith("{")]
    assert alive_through_outage
    assert process.returncode == 0, err[-2000:]
    assert json.loads(out)["sent"] == first + second + third
    assert sum(deliveries(emulator_url)["counts"].values()) == first + second + third
    assert "database unreachable; dispatch waits" in events
    assert "database reachable again; dispatch resumes" in events


def _answer(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.TransportError:
        return None


def _until_status(url: str, status: int) -> None:
    deadline = time.monotonic() + 60
    while _answer(url) != status:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer {status} within 60 s")
        time.sleep(0.5)


def _until_status_of_post(url: str, status: int) -> None:
    deadline = time.monotonic() + 60
    while httpx.post(url, json={}, headers=SERVICE, timeout=30).status_code != status:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer {status} within 60 s")
        time.sleep(0.5)


def test_serve_and_the_worker_ride_out_a_restart_and_an_outage(
    cluster: Cluster,
    migrated: str,
    emulator_url: str,  # noqa: F811
) -> None:
    api_port, worker_port = free_port(), free_port()
    env = os.environ | SERVE_ENV
    serve = subprocess.Popen(
        [str(MENTOR_NOTIFY), "--database-url", migrated, "serve", "--port", str(api_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    worker = worker_process(migrated, emulator_url, worker_port)
    api, work = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{worker_port}"
    try:
        wait_until_answering(f"{api}/livez", serve)
        wait_until_answering(f"{work}/livez", worker)
        _until_status(f"{api}/readyz", 200)
        _until_status(f"{work}/readyz", 200)
        cluster.ctl("stop", "--mode", "fast")
        _until_status(f"{api}/readyz", 503)
        _until_status(f"{work}/readyz", 503)
        alive = (serve.poll(), worker.poll()) == (None, None)
        cluster.ctl("start")
        _until_status(f"{api}/readyz", 200)
        _until_status(f"{work}/readyz", 200)
        # The pool's connections died with the server; the next requests get new ones.
        _until_status_of_post(f"{api}/functions/v1/dispatch", 200)
    finally:
        for process in (serve, worker):
            process.send_signal(signal.SIGTERM)
        serve_err = serve.communicate(timeout=60)[1]
        worker_err = worker.communicate(timeout=60)[1]

    assert alive
    assert serve.returncode == 0, serve_err[-2000:]
    assert worker.returncode == 0, worker_err[-2000:]
