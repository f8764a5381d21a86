"""`mentor-notify serve`: the HTTP API in place of the edge functions."""

import asyncio
import signal
from typing import Annotated

import typer

from mentor_notify.api import Authenticator, create_app
from mentor_notify.api.runner import DatabaseJobRunner
from mentor_notify.commands import common
from mentor_notify.commands.http_server import HttpServer
from mentor_notify.config import ConfigurationError
from mentor_notify.db import open_pool
from mentor_notify.domain import SystemClock
from mentor_notify.push.senders import (
    open_senders,
    settings_for_emulator,
)
from mentor_notify.vault import with_vault_secrets


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
    emulator: common.EmulatorOption = None,
) -> None:
    """Serve the HTTP API: the edge-function equivalents and device-token registration.

    POST /functions/v1/certificate-expiry, /functions/v1/scenario-evaluation and
    /functions/v1/dispatch need one of the API's secret keys (MENTOR_NOTIFY_API_KEYS,
    or a Supabase Vault secret) in the apikey header; POST /v1/device-tokens and
    DELETE /v1/device-tokens/{id} a signed-in user's access token, verified against
    the signing keys the project publishes (MENTOR_NOTIFY_SUPABASE_URL) or its legacy
    JWT secret (MENTOR_NOTIFY_JWT_SECRET); users only ever touch their own devices.
    GET /healthz, GET /metrics (Prometheus) and the OpenAPI document at
    /openapi.json and /docs.
    """
    settings = common.state(ctx).settings
    if emulator is not None:
        settings = settings_for_emulator(settings, emulator)
    clock = SystemClock()

    async def work(url: str) -> None:
        async with open_pool(url, settings) as pool, open_senders(settings, clock, pool) as senders:
            keyed = await with_vault_secrets(settings, pool, ["api_keys"])
            auth = Authenticator.from_settings(keyed, clock)
            app = create_app(DatabaseJobRunner(pool, settings, clock, senders), auth)
            server = HttpServer(app, host or settings.api_host, port or settings.api_port)
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, server.stop)
            await server.serve()

    try:
        common.run_with_database(ctx, work)
    except ConfigurationError as exc:
        raise common.fail(str(exc)) from exc
