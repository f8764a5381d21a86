"""The dispatcher with scripted senders against the real queue: every push sent once by
several dispatchers at once (one per person, what else was due folded into it),
retries after their backoff, permanent failures kept."""

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any
from uuid import UUID

from mentor_notify.config import Settings
from mentor_notify.db import Pool, open_pool
from mentor_notify.domain import FixedClock
from mentor_notify.push.dispatcher import Backoff, Dispatcher, SendResult
from mentor_notify.push.outbox import ClaimedPush, Outbox
from tests.integration.test_expiry_sweep import CLOCK
from tests.integration.test_outbox import queued_world, statuses
from tests.support import fetch_value

NOW = CLOCK.now()


class RecordingSender:
    """Accepts everything, remembering what it was given."""

    def __init__(self, delay: float = 0.0) -> None:
        self.sent: Counter[UUID] = Counter()
        self.keys: set[str] = set()
        self.delay = delay

    async def send(self, push: ClaimedPush) -> SendResult:
        await asyncio.sleep(self.delay)
        self.sent[push.id] += 1
        self.keys.add(push.idempotency_key)
        return SendResult("sent")


class ScriptedSender:
    """Answers by recipient: a fixed result, or an exception."""

    def __init__(self, script: dict[UUID, SendResult | Exception]) -> None:
        self.script = script

    async def send(self, push: ClaimedPush) -> SendResult:
        answer = self.script.get(push.recipient_id, SendResult("sent"))
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_several_dispatchers_send_every_message_exactly_once(own_database_url: str) -> None:
    settings = Settings(pool_min_size=1, pool_max_size=2)
    async with open_pool(own_database_url, settings) as pool:
        # 60 mentors and their coordinator, told about all 60.
        await queued_world(pool, {f"m{n}": n % 60 for n in range(60)})
        queued = sum((await statuses(pool)).values())
    sender = RecordingSender(delay=0.001)

    async def one(n: int) -> int:
        async with open_pool(own_database_url, settings) as pool:
            dispatcher = Dispatcher(
                Outbox(pool, f"worker-{n}"),
                {"fcm": sender, "apns": sender},
                CLOCK,
                batch_size=7,
            )
            return (await dispatcher.run_once()).sent

    sent = await asyncio.gather(*(one(n) for n in range(3)))

    async with open_pool(own_database_url, settings) as pool:
        # One push per person: the coordinator's carries the other 59 notices.
        assert await statuses(pool) == {"sent": 61, "folded": queued - 61}
        async with pool.connection() as conn:
            pending = await fetch_value(
                conn, "select count(*) from notifications where status <> 'sent'"
            )
    assert sum(sent) == 61
    assert set(sender.sent.values()) == {1}
    assert len(sender.keys) == 61
    assert pending == 0


async def test_retries_wait_for_their_backoff_and_permanent_failures_stay(own_pool: Pool) -> None:
    world = await queued_world(own_pool, {"busy": 7, "broken": 7, "flaky": 7})
    busy, broken, flaky = (world.mentors[m].person.id for m in ("busy", "broken", "flaky"))
    sender = ScriptedSender(
        {
            busy: SendResult("retry", "QUOTA_EXCEEDED", timedelta(seconds=120)),
            broken: SendResult("permanent", "INVALID_ARGUMENT"),
            flaky: ConnectionResetError(),
        }
    )
    dispatcher = Dispatcher(
        Outbox(own_pool, "worker-1"),
        {"fcm": sender, "apns": sender},
        CLOCK,
        backoff=Backoff(base=timedelta(seconds=1), cap=timedelta(seconds=10)),
    )

    first = await dispatcher.run_once()
    rows = await outbox_rows(own_pool)
    later = await Dispatcher(
        Outbox(own_pool, "worker-2"),
        {"fcm": RecordingSender(), "apns": RecordingSender()},
        FixedClock(NOW + timedelta(seconds=119)),
    ).run_once()
    after = await outbox_rows(own_pool)

    # The coordinator's one push (a digest of three) and nothing else went out at first.
    assert (first.sent, first.retrying, first.failed, first.folded) == (1, 2, 1, 2)
    assert rows[busy]["available_at"] >= NOW + timedelta(seconds=120)
    assert rows[busy]["last_error"] == "QUOTA_EXCEEDED"
    assert (rows[broken]["status"], rows[broken]["last_error"]) == ("failed", "INVALID_ARGUMENT")
    assert (rows[flaky]["status"], rows[flaky]["last_error"]) == ("pending", "ConnectionResetError")
    # At 119 s only the flaky one (backoff at most 10 s) is due again; busy waits for 120 s.
    assert later.sent == 1
    assert (after[flaky]["status"], after[busy]["status"]) == ("sent", "pending")
    assert after[broken]["status"] == "failed"


async def outbox_rows(pool: Pool) -> dict[UUID, Any]:
    async with pool.connection() as conn:
        rows = await (
            await conn.execute(
                "select recipient_id, status, available_at, last_error from push_notices"
            )
        ).fetchall()
    return {r["recipient_id"]: r for r in rows}


async def test_a_stop_request_ends_the_loop_after_the_round_in_progress(own_pool: Pool) -> None:
    await queued_world(own_pool, {"a": 7})
    stop = asyncio.Event()
    sender = RecordingSender()
    dispatcher = Dispatcher(Outbox(own_pool, "w"), {"fcm": sender, "apns": sender}, CLOCK)

    async def stop_soon() -> None:
        await asyncio.sleep(0.3)
        stop.set()

    result, _ = await asyncio.gather(
        dispatcher.run_until(stop, idle=timedelta(milliseconds=50)), stop_soon()
    )

    assert result.sent == 2
    assert await statuses(own_pool) == {"sent": 2}  # the mentor's and the coordinator's
