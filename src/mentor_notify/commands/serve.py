"""`mentor-notify serve`: the HTTP API in place of the edge functions."""

from typing import Annotated

import typer

from mentor_notify.commands import common


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
    at /openapi.json and /docs. Started while the database is away or not migrated,
    it waits (liveness 200, readiness 503 with the reason, other requests 503 with
    Retry-After) and serves once the database is ready.

    With --workers N, N processes accept connections on the same listening socket,
    each with its own database pool and in-flight limit; SIGTERM stops them all after
    their requests in flight.
    """
    # First: a bad database URL is refused before the slower imports.
    cli = common.state(ctx)
    current = cli.settings
    from mentor_notify.commands.api_server import (
        WorkerFailed,
        migrations_layout,
        run_serving,
        serve_api,
        supervise,
        try_configuration,
    )
    from mentor_notify.commands.http_server import CannotListen, listen
    from mentor_notify.composition import push_settings
    from mentor_notify.config import ConfigurationError

    # Once, here: every worker process then talks to the emulator with the same keys.
    settings = push_settings(current, emulator)
    address = (host or settings.api_host, port or settings.api_port)
    processes = workers or settings.api_workers
    layout = migrations_layout(settings)

    async def one_process(url: str) -> None:
        await serve_api(url, settings, layout, address)

    async def several_processes(url: str) -> None:
        sock = listen(*address)
        try:
            await try_configuration(url, settings)
            terse = common.terse_console(current, cli.verbose)
            await supervise(sock, url, settings, layout, address, processes, terse=terse)
        finally:
            sock.close()

    try:
        common.run_with_database(
            ctx, one_process if processes == 1 else several_processes, run=run_serving
        )
    except (ConfigurationError, CannotListen, WorkerFailed) as exc:
        raise common.fail(str(exc)) from exc
