"""The push outbox: leases, concurrent claims, outcomes, dead tokens, dead messages."""

import asyncio
import json
from datetime import datetime, timedelta

from typer.testing import CliRunner

from mentor_notify.cli import app
from mentor_notify.config import Settings
from mentor_notify.db import Pool, open_pool
from mentor_notify.expiry import ExpirySweep
from mentor_notify.push.outbox import _CLAIM as CLAIM_SQL
from mentor_notify.push.outbox import ClaimedPush, Outbox, Outcome
from tests.expiry_world import World, build_world
from tests.integration.test_expiry_sweep import CLOCK, TODAY
from tests.support import fetch_value

NOW = CLOCK.now()
LEASE = timedelta(minutes=1)


async def claim(outbox: Outbox, limit: int, lease: timedelta, now: datetime) -> list[ClaimedPush]:
    """The pushes leased to send now (the dispatcher's claim, without the held ones)."""
    return (await outbox.claim_batch(limit, lease, now)).pushes


async def queued_world(pool: Pool, offsets: dict[str, int]) -> World:
    async with pool.connection() as conn:
        world = await build_world(conn, TODAY, offsets)
    await ExpirySweep(pool, CLOCK).run()
    return world


async def statuses(pool: Pool) -> dict[str, int]:
    async with pool.connection() as conn:
        rows = await (
            await conn.execute("select status, count(*) as n from push_outbox group by status")
        ).fetchall()
    return {r["status"]: r["n"] for r in rows}


async def test_a_claim_is_a_lease_that_another_worker_takes_over_when_it_runs_out(
    own_pool: Pool,
) -> None:
    await queued_world(own_pool, {"a": 7, "b": 30})
    first, second = Outbox(own_pool, "worker-1"), Outbox(own_pool, "worker-2")

    claimed = await claim(first, 100, LEASE, NOW)
    meanwhile = await claim(second, 100, LEASE, NOW + timedelta(seconds=30))
    taken_over = await claim(second, 100, LEASE, NOW + timedelta(minutes=2))
    late_retry = await first.record(
        [Outcome(p.id, "retry", "UNAVAILABLE", NOW) for p in claimed], NOW + timedelta(minutes=3)
    )
    still_theirs = await statuses(own_pool)
    late_sent = await first.record(
        [Outcome(p.id, "sent") for p in claimed[:2]], NOW + timedelta(minutes=3)
    )
    theirs = await second.record(
        [Outcome(p.id, "sent") for p in taken_over], NOW + timedelta(minutes=4)
    )

    assert len(claimed) == 4
    assert all(p.token for p in claimed)
    assert meanwhile == []
    assert {p.id for p in taken_over} == {p.id for p in claimed}
    assert {p.attempts for p in taken_over} == {2}
    # The lease had passed to worker-2: worker-1's failure is not its to record...
    assert late_retry.retrying == 0
    assert still_theirs == {"in_flight": 4}
    # ...but a delivery it made is, whoever holds the lease now: never sent again.
    assert late_sent.sent == 2
    assert theirs.sent == 2
    assert await statuses(own_pool) == {"sent": 4}


async def test_concurrent_workers_claim_disjoint_messages(own_pool: Pool) -> None:
    await queued_world(own_pool, {f"m{n}": n for n in range(0, 40)})
    workers = [Outbox(own_pool, f"worker-{n}") for n in range(4)]

    batches = await asyncio.gather(*(claim(w, 10, LEASE, NOW) for w in workers))

    ids = [p.id for batch in batches for p in batch]
    assert len(ids) == len(set(ids))
    total = await fetch_value_async(own_pool, "select count(*) from push_outbox")
    assert len(ids) == min(40, total)


async def fetch_value_async(pool: Pool, query: str) -> int:
    async with pool.connection() as conn:
        value: int = await fetch_value(conn, query)
    return value


async def test_outcomes_settle_messages_and_notifications(own_pool: Pool) -> None:
    world = await queued_world(own_pool, {"ok": 7, "gone": 7, "busy": 7})
    outbox = Outbox(own_pool, "worker-1", max_attempts=2)
    claimed = {p.recipient_id: p for p in await claim(outbox, 100, LEASE, NOW)}
    ok, gone, busy = (world.mentors[m].person.id for m in ("ok", "gone", "busy"))

    counts = await outbox.record(
        [
            Outcome(claimed[ok].id, "sent"),
            Outcome(claimed[gone].id, "unregistered", "UNREGISTERED"),
            Outcome(claimed[busy].id, "retry", "UNAVAILABLE", NOW + timedelta(seconds=30)),
        ],
        NOW,
    )

    assert (counts.sent, counts.failed, counts.retrying, counts.tokens_removed) == (1, 1, 1, 1)
    async with own_pool.connection() as conn:
        by_person = {
            r["recipient_id"]: r["status"]
            for r in await (
                await conn.execute("select recipient_id, status from notifications")
            ).fetchall()
        }
        tokens = await fetch_value(
            conn, "select count(*) from device_tokens where user_id = %s", gone
        )
    assert (by_person[ok], by_person[gone], by_person[busy]) == ("sent", "failed", "pending")
    assert tokens == 0
    # The retry is due after its backoff, then a second retryable failure makes it dead.
    assert await claim(outbox, 100, LEASE, NOW + timedelta(seconds=10)) == []
    (again,) = [
        p
        for p in await claim(outbox, 100, LEASE, NOW + timedelta(seconds=31))
        if p.recipient_id == busy
    ]
    dead = await outbox.record(
        [Outcome(again.id, "retry", "UNAVAILABLE", NOW + timedelta(minutes=1))],
        NOW + timedelta(seconds=32),
    )
    assert dead.dead == 1
    listed = await outbox.dead()
    assert [(d.id, d.last_error) for d in listed] == [(again.id, "UNAVAILABLE")]
    requeued = await outbox.retry([again.id], NOW + timedelta(minutes=5))
    assert requeued == [again.id]
    assert [
        p.id
        for p in await claim(outbox, 100, LEASE, NOW + timedelta(minutes=5))
        if p.recipient_id == busy
    ] == [again.id]


def test_cli_lists_dead_pushes_and_requeues_them(own_database_url: str) -> None:
    async def make_one_dead() -> str:
        async with open_pool(own_database_url, Settings(pool_max_size=2)) as pool:
            await queued_world(pool, {"a": 7})
            outbox = Outbox(pool, "w", max_attempts=1)
            claimed = await claim(outbox, 1, LEASE, NOW)
            await outbox.record([Outcome(claimed[0].id, "retry", "INTERNAL", NOW)], NOW)
            return str(claimed[0].id)

    dead_id = asyncio.run(make_one_dead())
    runner = CliRunner()
    base = ["--database-url", own_database_url, "push"]

    listed = runner.invoke(app, [*base, "dead", "--json"])
    retried = runner.invoke(app, [*base, "retry", dead_id, "--json"])
    again = runner.invoke(app, [*base, "retry", dead_id])

    assert listed.exit_code == 0, listed.output
    assert [d["id"] for d in json.loads(listed.stdout)] == [dead_id]
    assert json.loads(retried.stdout) == {"requeued": [dead_id], "not_found": []}
    assert again.exit_code == 1
    assert "left alone" in again.stderr


async def test_a_dead_token_another_worker_still_sends_to_is_left_to_that_worker(
    own_pool: Pool,
) -> None:
    # Two notices for the same coordinator's device, one leased by each worker:
    # deleting the token under the other worker's lease deadlocked (issue 6).
    world = await queued_world(own_pool, {"a": 7, "b": 7})
    first, second = Outbox(own_pool, "worker-1"), Outbox(own_pool, "worker-2")
    claimed = await claim(first, 100, LEASE, NOW)
    to_coordinator = [p for p in claimed if p.device_token_id == world.coordinator_device]
    assert len(to_coordinator) == 2
    async with own_pool.connection() as conn:
        await conn.execute(
            "update push_outbox set leased_by = 'worker-2' where id = %s", [to_coordinator[1].id]
        )

    kept = await first.record([Outcome(to_coordinator[0].id, "unregistered", "UNREGISTERED")], NOW)
    async with own_pool.connection() as conn:
        still_there = await fetch_value(
            conn, "select count(*) from device_tokens where id = %s", world.coordinator_device
        )
    deleted = await second.record(
        [Outcome(to_coordinator[1].id, "unregistered", "UNREGISTERED")], NOW
    )

    assert (kept.failed, kept.tokens_removed, still_there) == (1, 0, 1)
    assert (deleted.failed, deleted.tokens_removed) == (1, 1)


async def test_a_claim_walks_the_queue_indexes_instead_of_sorting_the_whole_queue(
    own_pool: Pool,
) -> None:
    await queued_world(own_pool, {"a": 7})
    async with own_pool.connection() as conn:
        # A daily cycle's backlog: 20,000 pushes due at the same instant.
        await conn.execute(
            """
            insert into push_outbox (organization_id, notification_id, recipient_id,
              device_token_id, provider, payload, idempotency_key, status, available_at)
            select p.organization_id, p.notification_id, p.recipient_id, p.device_token_id,
                   p.provider, p.payload, encode(sha256(g::text::bytea), 'hex'), 'pending',
                   p.available_at
            from push_outbox p, generate_series(1, 20000) g
            where p.id = (select min(id::text)::uuid from push_outbox)
            """
        )
        await conn.execute("analyze push_outbox")
        params = {"limit": 500, "lease": LEASE, "now": NOW, "worker": "w", "max_attempts": 5}
        rows = await (await conn.execute(b"explain " + CLAIM_SQL.encode(), params)).fetchall()
    plan = "\n".join(r["QUERY PLAN"] for r in rows)

    assert "Index Scan using push_outbox_pending_idx" in plan, plan
    assert "Index Scan using push_outbox_in_flight_idx" in plan, plan
    assert "Bitmap Heap Scan on push_outbox" not in plan, plan
