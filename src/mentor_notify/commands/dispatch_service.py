"""What `push dispatch` runs: one pass over what is due, or the long-running drain that
waits for its database and answers the operations endpoints meanwhile."""

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable, Iterator

from pydantic import BaseModel

from mentor_notify.commands.http_server import serving_beside
from mentor_notify.composition import Runtime, open_runtime
from mentor_notify.config import Settings
from mentor_notify.db import SupabaseLayout
from mentor_notify.db.probe import DatabaseProbe
from mentor_notify.metrics.http import add_metrics_route, create_metrics_app
from mentor_notify.push.dispatcher import DispatchResult
from mentor_notify.push.senders import PushConfigurationError
from mentor_notify.service import (
    DatabaseWait,
    Health,
    StartupGate,
    create_ops_app,
    health_of,
)

TITLE = "mentor-notify push dispatch"


@contextlib.contextmanager
def _on_signals(handler: Callable[[], None]) -> Iterator[None]:
    # SIGTERM or Ctrl-C: the requests in flight finish, the claims not yet sent go
    # back to the queue, then the command returns.
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, handler)
    try:
        yield
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


@contextlib.asynccontextmanager
async def _runtime(url: str, settings: Settings, emulator: str | None) -> AsyncIterator[Runtime]:
    async with open_runtime(url, settings, emulator=emulator) as runtime:
        if not runtime.senders:
            raise PushConfigurationError(
                "no push service is configured: set MENTOR_NOTIFY_FCM_CREDENTIALS_FILE "
                "and/or MENTOR_NOTIFY_APNS_KEY_FILE (or name Supabase Vault secrets, "
                "see `mentor-notify config`), or use --emulator URL"
            )
        yield runtime


async def dispatch_once(
    url: str, settings: Settings, emulator: str | None, metrics_address: tuple[str, int]
) -> DispatchResult:
    """Send what is due now, then return (a job: a database that is away is an error);
    GET /metrics on `metrics_address` (host, port; port 0: none) meanwhile."""
    stop = asyncio.Event()
    with _on_signals(stop.set):
        async with _runtime(url, settings, emulator) as runtime:
            app = create_metrics_app(runtime.metrics, runtime.gauges(), TITLE)
            async with serving_beside(app, *metrics_address, option="--metrics-port"):
                return await runtime.dispatcher().run_once(stop=stop)


async def drain(
    url: str,
    settings: Settings,
    layout: SupabaseLayout,
    emulator: str | None,
    metrics_address: tuple[str, int],
) -> DispatchResult:
    """Drain the outbox until SIGTERM or SIGINT, after waiting for the database to be
    ready. On `metrics_address` (host, port; port 0: none) GET /livez, /readyz and
    /healthz answer from the start, GET /metrics once the dispatcher runs."""
    stop = asyncio.Event()
    probe = DatabaseProbe(url, layout, answer_within=settings.api_health_timeout_seconds)
    wait = DatabaseWait(probe, "dispatch")
    gate = StartupGate(lambda: wait.latest)

    async def readiness() -> tuple[bool, BaseModel]:
        report = await probe.check()
        return report.ready, health_of(report)

    try:
        with _on_signals(stop.set):
            async with serving_beside(gate, *metrics_address, option="--metrics-port"):
                if not await wait.until_ready(stop):
                    return DispatchResult()
                async with _runtime(url, settings, emulator) as runtime:
                    app = create_ops_app(TITLE, readiness, Health)
                    add_metrics_route(app, runtime.metrics, runtime.gauges())
                    gate.open(app)
                    return await runtime.dispatcher().run_until(stop)
    finally:
        await probe.close()
