"""`mentor-notify serve`: the HTTP API in place of the edge functions."""

import asyncio
import contextlib
import gc
import multiprocessing
import os
import signal
import socket
import sys
from typing import Annotated

import structlog
import typer

from mentor_notify.api import Authenticator, create_app
from mentor_notify.api.app import ApiLimits
from mentor_notify.api.runner import DatabaseJobRunner
from mentor_notify.api.sync import sync_keys, sync_router
from mentor_notify.commands import common
from mentor_notify.commands.http_server import CannotListen, HttpServer, listen
from mentor_notify.config import ConfigurationError, Settings
from mentor_notify.db import DatabaseError, Pool, SupabaseLayout, find_supabase_dir, open_pool
from mentor_notify.domain import Clock, SystemClock
from mentor_notify.logging import configure_logging
from mentor_notify.push.senders import (
    open_senders,
    settings_for_emulator,
)
from mentor_notify.sync import CertificateSync
from mentor_notify.vault import with_vault_secrets

log = structlog.get_logger(__name__)


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Address (default: MENTOR_NOTIFY_API_HOST, 127.0.0.1)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port", min=1, max=65535, help="Port (default: MENTOR_NOTIFY_API_PORT, 8000)."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Processes serving the one port (default: MENTOR_NOTIFY_API_WORKERS, 1); "
            "about one per core.",
        ),
    ] = None,
    emulator: common.EmulatorOption = None,
) -> None:
    """Serve the HTTP API: the edge-function equivalents and device-token registration.

    POST /functions/v1/certificate-expiry, /functions/v1/scenario-evaluation and
    /functions/v1/dispatch need one of the API's secret keys (MENTOR_NOTIFY_API_KEYS,
    or a Supabase Vault secret) in the apikey header; POST /v1/device-tokens and
    DELETE /v1/device-tokens/{id} a signed-in user's access token, verified against
    the signing keys the project publishes (MENTOR_NOTIFY_SUPABASE_URL) or its legacy
    JWT secret (MENTOR_NOTIFY_JWT_SECRET); users only ever touch their own devices.
    GET /livez (liveness), GET /readyz and /healthz (readiness: the database answers
    and no migration is pending), GET /metrics (Prometheus) and the OpenAPI document
    at /openapi.json and /docs.

    With --workers N, N processes accept connections on the same listening socket,
    each with its own database pool and in-flight limit; SIGTERM stops them all after
    their requests in flight.
    """
    settings = common.state(ctx).settings
    if emulator is not None:
        settings = settings_for_emulator(settings, emulator)
    address = (host or settings.api_host, port or settings.api_port)
    processes = workers or settings.api_workers
    layout = _migrations(settings)

    async def one_process(url: str) -> None:
        await serve_api(url, settings, layout, address)

    async def several_processes(url: str) -> None:
        # Checked once here, so that a mistake is one line and not one per process.
        async with open_pool(url, settings.model_copy(update={"pool_min_size": 1})) as pool:
            await authenticator(settings, pool, SystemClock())
        sock = listen(*address)
        try:
            await supervise(sock, url, settings, layout, address, processes)
        finally:
            sock.close()

    try:
        common.run_with_database(ctx, one_process if processes == 1 else several_processes)
    except (ConfigurationError, CannotListen, WorkerFailed) as exc:
        raise common.fail(str(exc)) from exc


def _migrations(settings: Settings) -> SupabaseLayout | None:
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


async def serve_api(
    url: str,
    settings: Settings,
    layout: SupabaseLayout | None,
    address: tuple[str, int],
    sock: socket.socket | None = None,
    parent: int | None = None,
) -> None:
    """Serve the API on `sock` (else on a socket bound to `address` once the
    configuration is known good) until SIGTERM or SIGINT, or until the process
    `parent` is gone."""
    clock = SystemClock()
    server: HttpServer | None = None
    stopping = False

    def stop() -> None:
        nonlocal stopping
        stopping = True
        if server is not None:
            server.stop()

    # Handled from the start: a stop asked for while the pool opens ends the process
    # cleanly (exit status 0) instead of killing it mid-way.
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    async with open_pool(url, settings) as pool, open_senders(settings, clock, pool) as senders:
        auth = await authenticator(settings, pool, clock)
        sock = sock or listen(*address)
        runner = DatabaseJobRunner(pool, settings, clock, senders, layout=layout, database_url=url)
        sync = sync_router(CertificateSync(pool, clock), sync_keys(settings))
        app = create_app(
            runner, auth, limits=ApiLimits.from_settings(settings), readiness=runner, routers=[sync]
        )
        server = HttpServer(app, *address)
        server.should_exit = stopping
        watch = None if parent is None else asyncio.create_task(_orphaned(parent, server))
        # Everything made so far (modules, the app, its schemas: ~100,000 objects)
        # lives as long as the process. Out of the collector's sight, the full
        # collection that came about every 5,000 requests no longer walks them all,
        # which stalled every request in flight for 20-30 ms.
        gc.collect()
        gc.freeze()
        log.info("serving", host=address[0], port=address[1], pid=os.getpid())
        try:
            await server.serve(sockets=[sock])
        finally:
            if watch is not None:
                watch.cancel()
            await runner.close()


async def _orphaned(parent: int, server: HttpServer) -> None:
    # A worker whose supervisor was killed outright (SIGKILL, OOM) must not serve on
    # unsupervised: it stops as on SIGTERM. Nothing signals a parent's death to an
    # event loop, so look every second.
    while os.getppid() == parent:  # noqa: ASYNC110
        await asyncio.sleep(1)
    log.warning("the supervising process is gone; stopping")
    server.stop()


class WorkerFailed(Exception):
    """A worker process of `serve --workers` ended on its own."""


def _worker(
    sock: socket.socket,
    url: str,
    settings: Settings,
    layout: SupabaseLayout | None,
    address: tuple[str, int],
    parent: int,
) -> None:
    """One worker process of `serve --workers` (a fresh interpreter: spawned, not forked,
    so no thread or connection of the supervisor is copied into it)."""
    configure_logging(settings.log_level, settings.log_format)
    try:
        asyncio.run(serve_api(url, settings, layout, address, sock, parent))
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
) -> None:
    """Run `workers` processes serving on `sock` until SIGTERM or SIGINT, passed on to
    them. If one ends on its own the others are stopped too and `WorkerFailed` raised,
    so that the service manager (systemd's Restart=on-failure) starts afresh, rather
    than the process limping on with fewer workers than asked for."""
    spawn = multiprocessing.get_context("spawn")
    processes = [
        spawn.Process(
            target=_worker,
            args=(sock, url, settings, layout, address, os.getpid()),
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
