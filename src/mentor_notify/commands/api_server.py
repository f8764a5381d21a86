"""What `mentor-notify serve` runs: the API on one process, or several sharing one socket.

Kept apart from the command so that the CLI imports FastAPI, uvicorn and the
jobs only when `serve` runs."""

import asyncio
import contextlib
import gc
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import structlog
import uvloop

from mentor_notify.api import Authenticator, create_app
from mentor_notify.api.app import ApiLimits
from mentor_notify.api.runner import DatabaseJobRunner
from mentor_notify.api.sync import sync_router
from mentor_notify.commands import common
from mentor_notify.commands.http_server import HttpServer, listen
from mentor_notify.composition import open_runtime, real_clock
from mentor_notify.config import ConfigurationError, Settings
from mentor_notify.db import DatabaseError, Pool, SupabaseLayout, find_supabase_dir, open_pool
from mentor_notify.db.probe import DatabaseProbe
from mentor_notify.domain import Clock
from mentor_notify.logging import configure_logging
from mentor_notify.service import DatabaseWait, StartupGate
from mentor_notify.sync import CertificateSync, SyncApplier, WebhookKeys
from mentor_notify.vault import with_vault_secrets

log = structlog.get_logger(__name__)

T = TypeVar("T")


def migrations_layout(settings: Settings) -> SupabaseLayout | None:
    """The migrations readiness compares the database with, if they can be found."""
    try:
        return find_supabase_dir(settings.supabase_dir)
    except DatabaseError as exc:
        # Serving does not need the files; readiness then only checks the database.
        log.warning("readiness will not compare migrations", reason=str(exc))
        return None


async def authenticator(settings: Settings, pool: Pool, clock: Clock) -> Authenticator:
    """The authenticator the settings describe, API keys read from Vault if named there;
    raises `ConfigurationError` when something `serve` needs is missing."""
    keyed = await with_vault_secrets(settings, pool, ["api_keys"])
    return Authenticator.from_settings(keyed, clock)


async def try_configuration(url: str, settings: Settings) -> None:
    """Check the configuration `serve` needs once, when the database answers now (so
    that a mistake is one line, not one per process); otherwise each process waits for
    the database and checks it itself."""
    probe = DatabaseProbe(url, None, answer_within=settings.api_health_timeout_seconds)
    try:
        answers = (await probe.check()).database
    finally:
        await probe.close()
    if answers:
        async with open_pool(url, settings.model_copy(update={"pool_min_size": 1})) as pool:
            await authenticator(settings, pool, real_clock())


async def serve_api(
    url: str,
    settings: Settings,
    layout: SupabaseLayout | None,
    address: tuple[str, int],
    sock: socket.socket | None = None,
    parent: int | None = None,
) -> None:
    """Serve the API on `sock` (else on a socket bound to `address`) until SIGTERM or
    SIGINT, or until the process `parent` is gone.

    The port answers from the start: while the database is away or not migrated,
    /livez is 200 and /readyz 503 with the reason (see `StartupGate`), and the API
    opens once the database is ready and the configuration known good.
    """
    stop = asyncio.Event()
    sock = sock or listen(*address)
    probe = DatabaseProbe(url, layout, answer_within=settings.api_health_timeout_seconds)
    wait = DatabaseWait(probe, "api")
    gate = StartupGate(lambda: wait.latest)
    server = HttpServer(gate, *address)

    def shut_down() -> None:
        stop.set()
        server.stop()

    # Handled from the start: a stop asked for while waiting or while the pool opens
    # ends the process cleanly (exit status 0) instead of killing it mid-way.
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, shut_down)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    watch = None if parent is None else asyncio.create_task(_orphaned(parent, shut_down))
    try:
        if await wait.until_ready(stop):
            await probe.close()
            await _serve_when_ready(url, settings, layout, address, gate, serving)
    finally:
        server.stop()
        if watch is not None:
            watch.cancel()
        await probe.close()
        await serving


async def _serve_when_ready(
    url: str,
    settings: Settings,
    layout: SupabaseLayout | None,
    address: tuple[str, int],
    gate: StartupGate,
    serving: "asyncio.Task[None]",
) -> None:
    async with open_runtime(url, settings, "api") as runtime:
        pool, clock = runtime.pool, runtime.clock
        auth = await authenticator(settings, pool, clock)
        runner = DatabaseJobRunner(
            pool, settings, clock, runtime.senders, layout=layout, database_url=url
        )
        stored = asyncio.Event()
        certificate_sync = CertificateSync(pool, clock, on_stored=stored.set)
        sync = sync_router(certificate_sync, WebhookKeys(pool, clock))
        applier = asyncio.create_task(SyncApplier(certificate_sync, stored).run())
        app = create_app(
            runner, auth, limits=ApiLimits.from_settings(settings), readiness=runner, routers=[sync]
        )
        # Everything made so far (modules, the app, its schemas: ~100,000 objects)
        # lives as long as the process. Out of the collector's sight, the full
        # collection that came about every 5,000 requests no longer walks them all,
        # which stalled every request in flight for 20-30 ms.
        gc.collect()
        gc.freeze()
        gate.open(app)
        log.info("serving", host=address[0], port=address[1], pid=os.getpid())
        try:
            await asyncio.shield(serving)
        finally:
            applier.cancel()
            await runner.close()


async def _orphaned(parent: int, stop: Callable[[], None]) -> None:
    # A worker whose supervisor was killed outright (SIGKILL, OOM) must not serve on
    # unsupervised: it stops as on SIGTERM. Nothing signals a parent's death to an
    # event loop, so look every second.
    while os.getppid() == parent:  # noqa: ASYNC110
        await asyncio.sleep(1)
    log.warning("the supervising process is gone; stopping")
    stop()


def run_serving(serving: Coroutine[Any, Any, T]) -> T:
    """Run a serving process's main coroutine on uvloop. With uvicorn's httptools parser
    (which uvicorn picks by itself once installed) it cut the server's CPU per webhook
    delivery by about a sixth against asyncio's loop and h11 (issue 24's burst of
    1,000; BENCHMARKS.md). uvicorn picks uvloop only when it runs the loop itself
    ("--loop auto", uvicorn.org/settings, checked 2026-12-07); here the process runs
    it, so it is chosen here."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(serving)


class WorkerFailed(Exception):
    """A worker process of `serve --workers` ended on its own."""


def _worker(
    sock: socket.socket,
    url: str,
    settings: Settings,
    layout: SupabaseLayout | None,
    address: tuple[str, int],
    parent: int,
    terse: bool,
) -> None:
    """One worker process of `serve --workers` (a fresh interpreter: spawned, not forked,
    so no thread or connection of the supervisor is copied into it); `terse`: log only
    warnings and errors on a terminal, as the command does."""
    configure_logging(settings.log_level, settings.log_format, terse_console=terse)
    try:
        run_serving(serve_api(url, settings, layout, address, sock, parent))
    except (DatabaseError, ConfigurationError) as exc:
        common.fail(str(exc))
        sys.exit(1)


async def supervise(
    sock: socket.socket,
    url: str,
    settings: Settings,
    layout: SupabaseLayout | None,
    address: tuple[str, int],
    workers: int,
    *,
    terse: bool = False,
) -> None:
    """Run `workers` processes serving on `sock` until SIGTERM or SIGINT, passed on to
    them (`terse`: their log on a terminal holds warnings and errors only). If one ends
    on its own the others are stopped too and `WorkerFailed` raised, so that the service
    manager (systemd's Restart=on-failure) starts afresh, rather than the process
    limping on with fewer workers than asked for."""
    spawn = multiprocessing.get_context("spawn")
    processes = [
        spawn.Process(
            target=_worker,
            args=(sock, url, settings, layout, address, os.getpid(), terse),
            name=f"mentor-notify-api-{n}",
        )
        for n in range(1, workers + 1)
    ]
    stopping = False

    def stop() -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.exitcode is None and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    for process in processes:
        process.start()
    log.info("serving", host=address[0], port=address[1], workers=workers, pid=os.getpid())
    failed: list[str] = []
    while True:
        running = [p for p in processes if p.exitcode is None]
        if not stopping and len(running) < len(processes):
            failed = [
                f"{p.name} (exit status {p.exitcode})" for p in processes if p.exitcode is not None
            ]
            log.error("an API worker process ended; stopping the others", ended=failed)
            stop()
        if not running:
            break
        await asyncio.sleep(0.2)
    for process in processes:
        process.join()
    # Killed by our own SIGTERM before it could handle it (still starting): a clean stop.
    clean = (0, -signal.SIGTERM)
    failed = failed or [
        f"{p.name} (exit status {p.exitcode})" for p in processes if p.exitcode not in clean
    ]
    if failed:
        raise WorkerFailed(f"API worker process {', '.join(failed)} ended; stopped them all")
