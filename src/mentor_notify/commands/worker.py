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
            help="Port of GET /livez, /readyz, /healthz and /metrics (0: none).",
        ),
    ] = 8081,
    emulator: common.EmulatorOption = None,
) -> None:
    """Run the service: the daily cycle per organisation, and continuous delivery.

    Every organisation's cycle (expiry sweep with the directory, then the
    follow-up scenarios) runs once a day at --run-at in the organisation's own
    timezone; a worker started later in the day catches up at once. Pushes are
    sent as they come due (after their send window opens, or their retry
    backoff). GET /livez and /readyz (or /healthz) on --health-port tell whether
    the process is up and whether its database answers and is migrated (with what
    the worker has done); GET /metrics is for Prometheus. Started while the database
    is away or not yet migrated, the worker waits (503 with the reason, retried
    with backoff) and starts once it is. Several workers may run at once (advisory
    lock per organisation, idempotent writes, leased outbox). SIGTERM or Ctrl-C:
    the cycle in progress and the push requests in flight finish (pushes claimed
    and not yet sent go back to the queue), then exit status 0.
    """
    settings = common.state(ctx).settings  # first: a bad URL is refused before the imports
    from mentor_notify.commands.http_server import CannotListen
    from mentor_notify.composition import open_runtime
    from mentor_notify.config import ConfigurationError
    from mentor_notify.db.probe import DatabaseProbe
    from mentor_notify.service import DatabaseWait, StartupGate
    from mentor_notify.worker import Worker, parse_run_at

    try:
        at = parse_run_at(run_at)
    except ValueError as exc:
        raise common.fail(str(exc)) from exc
    layout = common.layout(ctx)

    async def work(url: str) -> None:
        from mentor_notify.commands.http_server import serving_beside
        from mentor_notify.worker.health import create_health_app

        stop = asyncio.Event()
        probe = DatabaseProbe(url, layout, answer_within=settings.api_health_timeout_seconds)
        wait = DatabaseWait(probe, "worker")
        gate = StartupGate(lambda: wait.latest)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            async with serving_beside(gate, health_host, health_port, option="--health-port"):
                if not await wait.until_ready(stop):
                    return
                async with open_runtime(url, settings, "worker", emulator=emulator) as runtime:
                    service = Worker(
                        runtime.pool,
                        runtime.clock,
                        runtime.dispatcher_if_configured(),
                        run_at=at,
                        check_every=timedelta(seconds=check_every),
                        probe=probe,
                        reregistration=runtime.reregistration(),
                    )
                    gate.open(create_health_app(service, runtime.metrics, runtime.gauges()))
                    await service.run(stop)
        finally:
            await probe.close()

    try:
        common.run_with_database(ctx, work)
    except (ConfigurationError, CannotListen) as exc:
        raise common.fail(str(exc)) from exc
