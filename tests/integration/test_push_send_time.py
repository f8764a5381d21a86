"""A push reaches only a device its recipient holds when it is sent (issue 25): devices
that change hands or are deleted after the claim, while the sends wait for a slot of a
slow service, get nothing addressed to their former owner beyond the one request
already on the wire. Real sockets: the dispatcher, its FCM and APNs senders and the
emulator, on the real clock."""

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID

from mentor_notify.db import Pool
from mentor_notify.domain import SystemClock
from mentor_notify.metrics import Metrics
from mentor_notify.push.dispatcher import Dispatcher, DispatchResult
from mentor_notify.push.outbox import Outbox
from mentor_notify.push.senders import open_senders
from mentor_notify.push.tokens import DeviceTokenRegistration, DeviceTokenRepository
from mentor_notify_testing.emulator import FailureRates
from tests.integration.test_dispatch_processes import queue
from tests.integration.test_person_pushes import rows
from tests.integration.test_push_delivery import Service, service  # noqa: F401 - fixture


async def tokens_of(pool: Pool, user: UUID) -> dict[UUID, str]:
    return {
        r["id"]: r["token"]
        for r in await rows(pool, "select id, token from device_tokens where user_id = %s", user)
    }


async def pending(pool: Pool) -> int:
    """How many notices are not yet claimed."""
    found = await rows(pool, "select count(*) as n from push_notices where status = 'pending'")
    return int(found[0]["n"])


async def test_devices_that_leave_their_owner_after_the_claim_get_nothing_more(
    own_pool: Pool,
    service: Service,  # noqa: F811
) -> None:
    await queue(own_pool, 6)
    # The queue's one push per mentor and one digest to the coordinator; mentor m0 has a
    # second phone, which they keep.
    people = await rows(
        own_pool,
        "select distinct recipient_id from push_notices p join chapter_memberships m "
        "on m.user_id = p.recipient_id and m.role = 'peer_mentor' order by 1",
    )
    mentors = [r["recipient_id"] for r in people]
    coordinator = (
        await rows(
            own_pool,
            "select recipient_id from push_notices group by 1 order by count(*) desc limit 1",
        )
    )[0]["recipient_id"]
    async with own_pool.connection() as conn:
        await conn.execute(
            "insert into device_tokens (user_id, platform, provider, token) "
            "values (%s, 'android', 'fcm', 'token-second-phone-of-m0')",
            [mentors[0]],
        )
    service.emulator.rates = FailureRates(slow=1.0)
    service.emulator.slow_seconds = 0.3
    metrics = Metrics(database=False)
    # One send at a time: after the claim, each send waits for the one before it.
    async with open_senders(service.settings, SystemClock()) as senders:
        dispatcher = Dispatcher(
            Outbox(own_pool, "worker-1", max_attempts=3),
            senders,
            SystemClock(),
            concurrency=1,
            lanes=1,
            lease=timedelta(minutes=1),
            observer=metrics,
        )
        running = asyncio.create_task(dispatcher.run_once())
        async with asyncio.timeout(30):
            while not (service.emulator.in_flight and not await pending(own_pool)):  # noqa: ASYNC110 (the emulator has no event)
                await asyncio.sleep(0.01)
        # Every push is claimed and one request is on the wire (not yet delivered). Mentors
        # 0-2 give their phone (m0 the first of two) to the coordinator; 3-5 delete theirs.
        old: dict[UUID, str] = {}
        delivered_before = len(service.emulator.delivered)
        async with own_pool.connection() as conn:
            devices = DeviceTokenRepository(conn)
            for mentor in mentors[:3]:
                device, token = min((await tokens_of(own_pool, mentor)).items(), key=lambda d: d[1])
                old[mentor] = token
                await devices.register(
                    coordinator,
                    DeviceTokenRegistration(platform="android", provider="fcm", token=token),
                    SystemClock().now(),
                )
            for mentor in mentors[3:]:
                ((device, token),) = (await tokens_of(own_pool, mentor)).items()
                old[mentor] = token
                assert await devices.delete_own(mentor, device)
        result: DispatchResult = await asyncio.wait_for(running, 60)

    # What reached a device that left a mentor, addressed to that mentor (the moved
    # phones rightly get the coordinator's own pushes now): before the change, and after.
    addressed = {
        str(r["id"]): r["recipient_id"]
        for r in await rows(own_pool, "select id, recipient_id from notifications")
    }

    def to_former_owner(delivery: dict[str, Any]) -> bool:
        # FCM carries the ids in `data`, APNs beside `aps`.
        ids = delivery["message"].get("data", delivery["message"])
        return bool(old.get(addressed[ids["notification_id"]]) == delivery["token"])

    delivered = list(service.emulator.delivered)
    reached_after = [d["token"] for d in delivered[delivered_before:] if to_former_owner(d)]
    reached = {d["token"] for d in delivered if to_former_owner(d)}
    notices = {
        r["recipient_id"]: r
        for r in await rows(
            own_pool,
            "select recipient_id, status, last_error from push_notices where carried_by is null",
        )
    }
    # At most the request on the wire when the devices left reached one of them.
    assert len(reached_after) <= 1
    # Every other send to them was withdrawn unsent.
    assert result.withdrawn == len(set(old.values()) - reached) > 0
    # The metrics count them as settled unsent, and no request to the push service.
    registry = metrics.registry
    assert registry.get_sample_value(
        "mentor_notify_push_settled_total", {"outcome": "withdrawn"}
    ) == float(result.withdrawn)
    for provider in ("fcm", "apns"):
        assert (
            registry.get_sample_value(
                "mentor_notify_push_send_attempts_total",
                {"kind": "person", "provider": provider, "outcome": "sent", "answer": "2xx"},
            )
            or 0.0
        ) == float(sum(d["provider"] == provider for d in service.emulator.delivered))
    for mentor, token in old.items():
        if token in reached or mentor == mentors[0]:
            # Before the change, or on the wire; or m0's other phone got it.
            assert notices[mentor]["status"] == "sent"
        else:
            # As with no device: skipped, the inbox notice stands.
            assert (notices[mentor]["status"], notices[mentor]["last_error"]) == (
                "skipped",
                "NO_DEVICE",
            )
    assert "token-second-phone-of-m0" in [d["token"] for d in service.emulator.delivered]
    assert service.emulator.duplicates() == 0
