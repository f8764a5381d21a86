"""Readiness on a real database: GET /readyz and /healthz answer promptly with the
truth whether the database is up, refusing connections, silent, short of a migration,
or merely busy; GET /livez never asks it."""

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx
import pytest
import pytest_asyncio

from mentor_notify.api import create_app
from mentor_notify.api.runner import DatabaseJobRunner
from mentor_notify.config import Settings
from mentor_notify.db import MigrationRunner, Pool, SupabaseLayout, connect, create_pool
from mentor_notify.domain import SystemClock
from tests.api.credentials import legacy_authenticator
from tests.support import free_port

SETTINGS = Settings(pool_min_size=1, pool_max_size=1, api_health_timeout_seconds=0.5)


async def probe(runner: DatabaseJobRunner, *paths: str) -> list[httpx.Response]:
    """GET each path of the API over `runner`; a hang fails the test (5 s at most)."""
    app = create_app(runner, legacy_authenticator(), readiness=runner)
    transport = httpx.ASGITransport(app=app)
    async with (
        asyncio.timeout(5),
        httpx.AsyncClient(transport=transport, base_url="http://api") as client,
    ):
        return [await client.get(path) for path in paths]


OpenRunner = Callable[[str], Awaitable[DatabaseJobRunner]]


@pytest_asyncio.fixture
async def runner_for(supabase_layout: SupabaseLayout) -> AsyncIterator[OpenRunner]:
    """Makes runners on a database URL, their pools opened without waiting (as when an
    outage began after start-up); pools and health connections closed at the end."""
    made: list[tuple[DatabaseJobRunner, Pool]] = []

    async def open_runner(url: str) -> DatabaseJobRunner:
        pool = create_pool(url, min_size=SETTINGS.pool_min_size, max_size=1)
        await pool.open(wait=False)
        runner = DatabaseJobRunner(pool, SETTINGS, SystemClock(), {}, layout=supabase_layout)
        made.append((runner, pool))
        return runner

    yield open_runner
    for runner, pool in made:
        await runner.close()
        await pool.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port where connections are accepted by the kernel and never answered: a
    database host that hangs (overloaded, or behind a dropping firewall)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


async def test_a_database_that_answers_is_ready(runner_for: OpenRunner, database_url: str) -> None:
    runner = await runner_for(database_url)

    ready, health, live = await probe(runner, "/readyz", "/healthz", "/livez")

    assert ready.status_code == health.status_code == live.status_code == 200
    assert ready.json()["database"] is True
    assert ready.json()["migrations_pending"] == []
    assert ready.json()["reason"] is None


async def test_a_database_refusing_connections_is_not_ready(
    runner_for: OpenRunner,
) -> None:
    nobody = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    runner = await runner_for(nobody)

    ready, health, live = await probe(runner, "/readyz", "/healthz", "/livez")

    assert ready.status_code == health.status_code == 503
    assert ready.json()["database"] is False
    assert ready.json()["reason"] == "the database does not answer: cannot connect"
    # The answer tells the kind of failure, not where the database is.
    assert "127.0.0.1" not in ready.text
    assert live.status_code == 200


async def test_a_database_that_never_answers_is_not_ready_and_the_probe_does_not_hang(
    runner_for: OpenRunner, silent_port: int
) -> None:
    runner = await runner_for(f"postgresql://postgres@127.0.0.1:{silent_port}/postgres")

    ready, health, live = await probe(runner, "/readyz", "/healthz", "/livez")

    assert ready.status_code == health.status_code == 503
    assert ready.json()["database"] is False
    assert ready.json()["reason"] == "the database did not answer within 0.5 s"
    assert live.status_code == 200


async def test_a_busy_pool_is_not_a_database_down(
    runner_for: OpenRunner, database_url: str
) -> None:
    runner = await runner_for(database_url)

    # Every connection of the pool is taken by a request that takes its time.
    async with runner._pool.connection():
        [ready] = await probe(runner, "/readyz")

    assert ready.status_code == 200, ready.text


async def test_a_database_short_of_a_migration_is_not_ready_until_migrated(
    runner_for: OpenRunner,
    own_database_url: str,
    supabase_layout: SupabaseLayout,
) -> None:
    newest = supabase_layout.migrations()[-1].version
    conn = await connect(own_database_url)
    try:
        await MigrationRunner(conn, supabase_layout).rollback()
        runner = await runner_for(own_database_url)

        behind, health = await probe(runner, "/readyz", "/healthz")
        await MigrationRunner(conn, supabase_layout).migrate()
        [migrated] = await probe(runner, "/readyz")
    finally:
        await conn.close()

    assert behind.status_code == health.status_code == 503
    assert behind.json()["database"] is True
    assert behind.json()["migrations_pending"] == [newest]
    assert behind.json()["reason"] == (
        f"migrations pending: {newest}; run `mentor-notify db migrate`"
    )
    assert migrated.status_code == 200
    assert migrated.json()["migrations_pending"] == []


async def test_a_database_back_from_an_outage_is_ready_again(
    runner_for: OpenRunner, own_database_url: str
) -> None:
    runner = await runner_for(own_database_url)
    [before] = await probe(runner, "/readyz")
    # The health connection is cut, as by a database restart.
    async with runner._pool.connection() as admin:
        await admin.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity "
            "where application_name = 'mentor-notify' and pid <> pg_backend_pid() "
            "and datname = current_database() and state = 'idle'"
        )

    [after] = await probe(runner, "/readyz")

    assert before.status_code == 200
    assert after.status_code == 200, after.text
