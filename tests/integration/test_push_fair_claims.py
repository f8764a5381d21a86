"""Claim what you can send now (issue 25): three dispatchers with a slow service share a
queue evenly, because each round claims only what its free send slots carry before its
leases need renewing. Real sockets: the senders and the emulator, on the real clock."""

import asyncio
import contextlib
from datetime import timedelta

from mentor_notify.config import Settings
from mentor_notify.db import open_pool
from mentor_notify.domain import SystemClock
from mentor_notify.push.dispatcher import Dispatcher
from mentor_notify.push.outbox import Outbox
from mentor_notify.push.senders import open_senders
from mentor_notify_testing.emulator import FailureRates
from tests.integration.test_dispatch_processes import queue
from tests.integration.test_outbox import statuses
from tests.integration.test_push_delivery import Service, service  # noqa: F401 - fixture


async def test_three_dispatchers_share_a_slow_service_evenly(
    own_database_url: str,
    service: Service,  # noqa: F811
) -> None:
    settings = Settings(pool_min_size=1, pool_max_size=3)
    async with contextlib.AsyncExitStack() as stack:
        pools = [
            await stack.enter_async_context(open_pool(own_database_url, settings)) for _ in range(3)
        ]
        queued = await queue(pools[0], 90)
        service.emulator.rates = FailureRates(slow=1.0)
        service.emulator.slow_seconds = 0.3
        dispatchers = [
            Dispatcher(
                Outbox(pool, f"worker-{n}", max_attempts=3),
                await stack.enter_async_context(open_senders(service.settings, SystemClock())),
                SystemClock(),
                batch_size=500,
                concurrency=2,
                lease=timedelta(seconds=3),
            )
            for n, pool in enumerate(pools)
        ]
        stop = asyncio.Event()

        async def until_drained() -> None:
            async with asyncio.timeout(120):
                while (await statuses(pools[0])).get("sent", 0) < queued:  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
            stop.set()

        running = [d.run_until(stop, idle=timedelta(seconds=0.1)) for d in dispatchers]
        results, _ = await asyncio.gather(asyncio.gather(*running), until_drained())
        final = await statuses(pools[0])

    shares = [r.sent for r in results]
    assert final == {"sent": queued, "folded": 89}
    assert sum(shares) == queued
    assert service.emulator.duplicates() == 0
    even = queued / 3
    assert all(abs(share - even) <= 0.2 * even for share in shares), shares
