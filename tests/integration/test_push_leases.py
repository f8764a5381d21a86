"""Leases that hold: a push service slower than the lease makes no second dispatcher
send a message again, `attempts` never passes the maximum, and a message whose last
attempt's lease ran out unrecorded is dead. Real time throughout (leases are wall-time
behaviour), against the emulator over HTTP."""

import asyncio
from datetime import timedelta

from mentor_notify.config import Settings
from mentor_notify.db import Pool, open_pool
from mentor_notify.domain import SystemClock
from mentor_notify.metrics import Metrics
from mentor_notify.push.dispatcher import Dispatcher, DispatchResult
from mentor_notify.push.outbox import Outbox
from mentor_notify.push.senders import open_senders
from mentor_notify_testing.emulator import FailureRates
from tests.integration.test_dispatch_processes import queue
from tests.integration.test_outbox import statuses
from tests.integration.test_push_delivery import Service, service  # noqa: F401 - fixture
from tests.support import fetch_value

# Every answer takes a second; a lease is 0.6 s. One dispatcher claims the whole
# queue (eleven sends, five at a time: three seconds, more than four leases) while
# the other finds nothing and looks again every 0.1 s.
SLOW_ANSWER_SECONDS = 1.0
LEASE = timedelta(seconds=0.6)


async def test_a_slow_service_does_not_make_two_dispatchers_send_twice(
    own_database_url: str,
    own_pool: Pool,
    service: Service,  # noqa: F811
) -> None:
    queued = await queue(own_pool, 10)
    service.emulator.rates = FailureRates(slow=1.0)
    service.emulator.slow_seconds = SLOW_ANSWER_SECONDS
    stop = asyncio.Event()
    metrics = Metrics()

    async def dispatcher(n: int) -> DispatchResult:
        settings = Settings(pool_min_size=1, pool_max_size=3)
        async with (
            open_pool(own_database_url, settings) as pool,
            open_senders(service.settings, SystemClock()) as senders,
        ):
            return await Dispatcher(
                Outbox(pool, f"worker-{n}", max_attempts=3),
                senders,
                SystemClock(),
                batch_size=50,
                concurrency=5,
                lease=LEASE,
                lanes=1,
                observer=metrics,
            ).run_until(stop, idle=timedelta(seconds=0.1))

    async def until_drained() -> None:
        async with asyncio.timeout(60):
            while True:
                if (await statuses(own_pool)).get("sent", 0) >= queued:
                    break
                await asyncio.sleep(0.2)
        # Long enough for any lease to have run out, were it not renewed.
        await asyncio.sleep(3 * LEASE.total_seconds())
        stop.set()

    results = await asyncio.gather(dispatcher(1), dispatcher(2), until_drained())

    async with own_pool.connection() as conn:
        most_attempts = await fetch_value(conn, "select max(attempts) from push_notices")
    assert await statuses(own_pool) == {"sent": queued, "folded": 9}
    assert service.emulator.duplicates() == 0
    assert sum(service.emulator.counts.values()) == queued
    assert results[0].sent + results[1].sent == queued
    assert most_attempts == 1

    # The renewals that kept the leases are counted, none lost; nothing sent twice.
    def count(name: str, **labels: str) -> float:
        return metrics.registry.get_sample_value(name, labels) or 0.0

    assert count("mentor_notify_push_lease_renewals_total", outcome="renewed") > 0
    assert count("mentor_notify_push_lease_renewals_total", outcome="lost") == 0
    assert count("mentor_notify_push_duplicate_sends_total") == 0


async def test_a_lease_that_ran_out_after_the_last_attempt_makes_the_message_dead(
    own_pool: Pool,
) -> None:
    await queue(own_pool, 2)
    outbox = Outbox(own_pool, "worker-1", max_attempts=2)
    now = SystemClock().now()
    # Two claims whose workers died mid-send: the leases run out unrecorded.
    first = await outbox.claim_batch(10, LEASE, now)
    second = await outbox.claim_batch(10, LEASE, now + timedelta(seconds=1))
    third = await outbox.claim_batch(10, LEASE, now + timedelta(seconds=2))

    async with own_pool.connection() as conn:
        most_attempts = await fetch_value(conn, "select max(attempts) from push_notices")
        notices = await fetch_value(
            conn, "select count(*) from notifications where status = 'failed'"
        )
    # Two mentors' pushes and their coordinator's digest of both.
    assert len(first.pushes) == len(second.pushes) == 3
    assert (third.pushes, third.dead) == ([], 3)
    assert most_attempts == 2
    assert await statuses(own_pool) == {"dead": 3, "folded": 1}
    assert notices == 4  # the folded notice's notification failed with its carrier
