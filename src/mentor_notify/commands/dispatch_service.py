"""What `push dispatch` runs: one pass over what is due, or the long-running drain that
waits for its database and answers the operations endpoints meanwhile."""

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable, Iterator

from pydantic import BaseModel

from mentor_notify.commands.http_server import serving_beside
from mentor_notify.composition import open_runtime
from mentor_notify.config import Settings
from mentor_notify.db import SupabaseLayout
from mentor_notify.db.probe import DatabaseProbe
from mentor_notify.push.dispatcher import Dispatcher, DispatchResult
from mentor_notify.push.senders import PushConfigurationError
from mentor_notify.service import (
    DatabaseWait,
    Health,
    ServiceMetrics,
    StartupGate,
    create_ops_app,
    health_of,
)


@contextlib.contextmanager
def _on_signals(handler: Callable[[], None]) -> Iterator[None]:
    # SIGTERM or Ctrl-C: the sends in flight finish, then the command returns.
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, handler)
    try:
        yield
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


@contextlib.asynccontextmanager
async def _dispatcher(
    url: str, settings: Settings, emulator: str | None
) -> AsyncIterator[Dispatcher]:
    async with open_runtime(url, settings, emulator=emulator) as runtime:
        if not runtime.senders:
            raise PushConfigurationError(
                "no push service is configured: set MENTOR_NOTIFY_FCM_CREDENTIALS_FILE "
                "and/or MENTOR_NOTIFY_APNS_KEY_FILE (or name Supabase Vault secrets, "
                "see `mentor-notify config`), or use --emulator URL"
            )
        yield runtime.dispatcher()


async def dispatch_once(url: str, settings: Settings, emulator: str | None) -> DispatchResult:
    """Send what is due now, then return (a job: a database that is away is an error)."""
    stop = asyncio.Event()
    with _on_signals(stop.set):
        async with _dispatcher(url, settings, emulator) as dispatcher:
            return await dispatcher.run_once(stop=stop)


async def drain(
    url: str,
    settings: Settings,
    layout: SupabaseLayout,
    emulator: str | None,
    health: tuple[str, int],
) -> DispatchResult:
    """Drain the outbox until SIGTERM or SIGINT, after waiting for the database to be
    ready; on `health` (host, port; port 0: none) the operations endpoints answer
    from the start."""
    stop = asyncio.Event()
    probe = DatabaseProbe(url, layout, answer_within=settings.api_health_timeout_seconds)
    wait = DatabaseWait(probe, "dispatch")
    metrics = ServiceMetrics()
    gate = StartupGate(lambda: wait.latest, metrics)

    async def readiness() -> tuple[bool, BaseModel]:
        report = await probe.check()
        metrics.note_ready(report.ready)
        return report.ready, health_of(report)

    try:
        with _on_signals(stop.set):
            async with serving_beside(gate, *health, option="--health-port"):
                if not await wait.until_ready(stop):
                    return DispatchResult()
                async with _dispatcher(url, settings, emulator) as dispatcher:
                    ops = create_ops_app("mentor-notify push dispatch", readiness, metrics, Health)
                    gate.open(ops)
                    return await dispatcher.run_until(stop)
    finally:
        await probe.close()
