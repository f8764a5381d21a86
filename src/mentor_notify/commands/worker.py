"""`mentor-notify worker`: the long-running service that runs the daily cycle on
each organisation's schedule and delivers pushes as they come due."""

import asyncio
import signal
from datetime import timedelta
from typing import Annotated

import typer

from mentor_notify.commands import common


def worker(
    ctx: typer.Context,
    run_at: Annotated[
        str,
        typer.Option(
            "--run-at",
            metavar="HH:MM",
            help="Local time (in each organisation's timezone) the daily cycle runs at.",
        ),
    ] = "00:05",
    check_every: Annotated[
        float,
        typer.Option(
            "--check-every",
            min=0.1,
            metavar="SECONDS",
            help="How often to look for organisations whose cycle is due.",
        ),
    ] = 30.0,
    health_host: Annotated[
        str, typer.Option("--health-host", help="Address of the health endpoint.")
    ] = "127.0.0.1",
    health_port: Annotated[
        int,
        typer.Option(
            "--health-port",
            min=0,
            max=65535,
            help="Port of GET /healthz and GET /metrics (0: neither).",
        ),
    ] = 8081,
    emulator: common.EmulatorOption = None,
) -> None:
    """Run the service: the daily cycle per organisation, and continuous delivery.

    Every organisation's cycle (expiry sweep with the directory, then the
    follow-up scenarios) runs once a day at --run-at in the organisation's own
    timezone; a worker started later in the day catches up at once. Pushes are
    sent as they come due (after their send window opens, or their retry
    backoff). GET /healthz on --health-port tells whether the database answers
    and what the worker has done; GET /metrics there is for Prometheus. Several
    workers may run at once (advisory lock per organisation, idempotent writes,
    leased outbox). SIGTERM or Ctrl-C: the cycle in progress and the sends in
    flight finish, then exit status 0.
    """
    from mentor_notify.composition import open_runtime
    from mentor_notify.config import ConfigurationError
    from mentor_notify.db.probe import DatabaseProbe
    from mentor_notify.worker import Worker, parse_run_at

    try:
        at = parse_run_at(run_at)
    except ValueError as exc:
        raise common.fail(str(exc)) from exc
    settings = common.state(ctx).settings
    layout = common.layout(ctx)

    async def work(url: str) -> None:
        # The HTTP server (uvicorn, FastAPI) only for a worker that serves health.
        from mentor_notify.commands.http_server import HttpServer
        from mentor_notify.worker.health import create_health_app

        async with open_runtime(url, settings, "worker", emulator=emulator) as runtime:
            dispatcher = runtime.dispatcher_if_configured()
            probe = DatabaseProbe(url, layout, answer_within=settings.api_health_timeout_seconds)
            service = Worker(
                runtime.pool,
                runtime.clock,
                dispatcher,
                run_at=at,
                check_every=timedelta(seconds=check_every),
                probe=probe,
                reregistration=runtime.reregistration(),
            )
            stop = asyncio.Event()
            health = (
                HttpServer(
                    create_health_app(service, runtime.metrics, runtime.gauges()),
                    health_host,
                    health_port,
                )
                if health_port
                else None
            )

            def shut_down() -> None:
                stop.set()
                if health is not None:
                    health.stop()

            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, shut_down)
            try:
                if health is None:
                    await service.run(stop)
                else:
                    await asyncio.gather(service.run(stop), health.serve())
            finally:
                await probe.close()

    try:
        common.run_with_database(ctx, work)
    except ConfigurationError as exc:
        raise common.fail(str(exc)) from exc
