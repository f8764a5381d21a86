"""The push queue: leases, concurrent claims, per-device outcomes, dead tokens, dead
notices."""

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from typer.testing import CliRunner

from mentor_notify.cli import app
from mentor_notify.config import Settings
from mentor_notify.db import Pool, open_pool
from mentor_notify.expiry import ExpirySweep
from mentor_notify.push.dispatcher import RELEASED
from mentor_notify.push.outbox import _CLAIM as CLAIM_SQL
from mentor_notify.push.outbox import _RECORD as RECORD_SQL
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
            await conn.execute("select status, count(*) as n from push_notices group by status")
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

    # Two mentors' pushes and one to the coordinator, about both (a digest).
    assert len(claimed) == 3
    assert all(p.token for p in claimed)
    assert meanwhile == []
    # The same deliveries (ids, keys) are taken over: a receiver can drop a duplicate.
    assert {(p.id, p.idempotency_key) for p in taken_over} == {
        (p.id, p.idempotency_key) for p in claimed
    }
    assert {p.attempts for p in taken_over} == {2}
    # The lease had passed to worker-2: worker-1's failure is not its to record...
    assert late_retry.retrying == 0
    assert still_theirs == {"in_flight": 3, "folded": 1}
    # ...but a delivery it made is, whoever holds the lease now: never recorded twice.
    assert late_sent.sent == 2
    assert theirs.sent == 1
    # Worker-2 sent again what worker-1 had delivered: two duplicate sends, counted.
    assert (late_sent.duplicates, theirs.duplicates) == (0, 2)
    assert await statuses(own_pool) == {"sent": 3, "folded": 1}


async def test_concurrent_workers_claim_disjoint_pushes(own_pool: Pool) -> None:
    await queued_world(own_pool, {f"m{n}": n for n in range(0, 40)})
    workers = [Outbox(own_pool, f"worker-{n}") for n in range(4)]

    batches = await asyncio.gather(*(claim(w, 10, LEASE, NOW) for w in workers))

    ids = [p.id for batch in batches for p in batch]
    notices = [n for batch in batches for n in {p.notice_id for p in batch}]
    assert len(ids) == len(set(ids))
    assert len(notices) == len(set(notices))
    # Each claim took ten notices' people; nobody got two pushes.
    recipients = [p.recipient_id for p in (p for batch in batches for p in batch)]
    assert len(recipients) == len(set(recipients))
    assert len(ids) >= 10
    claimed = await fetch_value_async(
        own_pool, "select count(*) from push_notices where status in ('in_flight', 'folded')"
    )
    assert claimed >= len(ids)


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
    assert [(d.id, d.last_error) for d in listed] == [(again.notice_id, "UNAVAILABLE")]
    requeued = await outbox.retry([again.notice_id], NOW + timedelta(minutes=5))
    assert requeued == [again.notice_id]
    # Re-queued, it goes to the same device under the same delivery id and key.
    assert [
        (p.id, p.idempotency_key)
        for p in await claim(outbox, 100, LEASE, NOW + timedelta(minutes=5))
        if p.recipient_id == busy
    ] == [(again.id, again.idempotency_key)]


async def test_a_send_released_by_a_stopping_dispatcher_costs_no_attempt(own_pool: Pool) -> None:
    # A dispatcher told to stop gives its unsent claims back (RELEASED). Nothing
    # was tried, so the claim's attempt is given back too: a push on its last
    # attempt is not settled dead by a deploy.
    await queued_world(own_pool, {"a": 7})
    outbox = Outbox(own_pool, "w", max_attempts=1)
    (claimed,) = await claim(outbox, 1, LEASE, NOW)

    counts = await outbox.record([Outcome(claimed.id, "retry", RELEASED, NOW)], NOW)

    assert (counts.dead, counts.retrying) == (0, 1)
    async with own_pool.connection() as conn:
        row = await (
            await conn.execute(
                "select status, attempts, available_at from push_notices where id = %s",
                (claimed.notice_id,),
            )
        ).fetchone()
    assert row is not None
    assert (row["status"], row["attempts"], row["available_at"]) == ("pending", 0, NOW)
    # The next dispatcher sends it; a real failure then does count.
    (again,) = [p for p in await claim(outbox, 10, LEASE, NOW) if p.notice_id == claimed.notice_id]
    assert again.id == claimed.id
    dead = await outbox.record([Outcome(again.id, "retry", "INTERNAL", NOW)], NOW)
    assert dead.dead == 1


def test_cli_lists_dead_pushes_and_requeues_them(own_database_url: str) -> None:
    async def make_one_dead() -> str:
        async with open_pool(own_database_url, Settings(pool_max_size=2)) as pool:
            await queued_world(pool, {"a": 7})
            outbox = Outbox(pool, "w", max_attempts=1)
            claimed = await claim(outbox, 1, LEASE, NOW)
            await outbox.record([Outcome(claimed[0].id, "retry", "INTERNAL", NOW)], NOW)
            return str(claimed[0].notice_id)

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
    # Two pushes to the same coordinator's device, one leased by each worker (a
    # coordinator in two organisations gets one push from each): deleting the
    # token under the other worker's lease deadlocked (issue 6). The second push
    # is made here from the notice folded into the first.
    world = await queued_world(own_pool, {"a": 7, "b": 7})
    first, second = Outbox(own_pool, "worker-1"), Outbox(own_pool, "worker-2")
    claimed = await claim(first, 100, LEASE, NOW)
    (mine,) = [p for p in claimed if p.device_token_id == world.coordinator_device]
    async with own_pool.connection() as conn:
        other = await fetch_value(
            conn,
            """
            with split as (
              update push_notices
              set status = 'in_flight', carried_by = null, leased_by = 'worker-2',
                  leased_until = %s, sent_payload = payload, attempts = 1
              where carried_by = %s
              returning id, organization_id
            )
            insert into push_deliveries (organization_id, notice_id, device_token_id, provider)
            select organization_id, id, %s, 'apns' from split
            returning id
            """,
            NOW + LEASE,
            mine.notice_id,
            world.coordinator_device,
        )
    to_coordinator = [mine.id, other]

    kept = await first.record([Outcome(to_coordinator[0], "unregistered", "UNREGISTERED")], NOW)
    async with own_pool.connection() as conn:
        still_there = await fetch_value(
            conn, "select count(*) from device_tokens where id = %s", world.coordinator_device
        )
    deleted = await second.record([Outcome(to_coordinator[1], "unregistered", "UNREGISTERED")], NOW)

    assert (kept.failed, kept.tokens_removed, still_there) == (1, 0, 1)
    assert (deleted.failed, deleted.tokens_removed) == (1, 1)


async def queue_backlog(pool: Pool) -> None:
    """A daily cycle's backlog: 20,000 notices due at the same instant, two for each of
    10,000 people, with the queue's statistics up to date."""
    await queued_world(pool, {"a": 7})
    async with pool.connection() as conn:
        await conn.execute(
            "insert into auth.users (id) select gen_random_uuid() from generate_series(1, 10000)"
        )
        await conn.execute(
            "insert into users (id, display_name) select id, 'Backlog' from auth.users"
            " where id not in (select id from users)"
        )
        await conn.execute(
            """
            with source as (
              select p.organization_id, p.payload, p.available_at
              from push_notices p order by p.id limit 1
            ),
            notified as (
              insert into notifications (organization_id, recipient_id, subject_mentor_id,
                category, message_key, idempotency_key)
              select s.organization_id, u.id, u.id, 'milestone', 'scenario.milestone',
                     encode(sha256((u.id::text || g)::bytea), 'hex')
              from source s, users u, generate_series(1, 2) g
              where u.display_name = 'Backlog'
              returning id, organization_id, recipient_id
            )
            insert into push_notices (organization_id, notification_id, recipient_id, payload,
              status, available_at)
            select n.organization_id, n.id, n.recipient_id, s.payload, 'pending', s.available_at
            from notified n, source s
            """
        )
        await conn.execute("analyze push_notices")


async def test_a_claim_walks_the_queue_indexes_instead_of_sorting_the_whole_queue(
    own_pool: Pool,
) -> None:
    await queue_backlog(own_pool)
    async with own_pool.connection() as conn:
        params = {"limit": 500, "lease": LEASE, "now": NOW, "worker": "w", "max_attempts": 5}
        rows = await (await conn.execute(b"explain " + CLAIM_SQL.encode(), params)).fetchall()
    plan = "\n".join(r["QUERY PLAN"] for r in rows)

    assert "Index Scan using push_notices_pending_idx" in plan, plan
    assert "Index Scan using push_notices_in_flight_idx" in plan, plan
    # A claimed person's other due notices are found on their own index.
    assert "Index Scan using push_notices_pending_recipient_idx" in plan, plan
    assert "Seq Scan on push_notices" not in plan, plan


def _rescanned_stages(node: dict[str, Any]) -> list[str]:
    """The stages (common table expressions) a plan scans again for every row of a
    nested loop's outer side."""
    found: list[str] = []
    children = node.get("Plans", [])
    if node["Node Type"] == "Nested Loop":
        inner = children[1]
        while inner["Node Type"] == "Materialize":
            inner = inner["Plans"][0]
        if inner["Node Type"] == "CTE Scan":
            found.append(inner["CTE Name"])
    for child in children:
        found += _rescanned_stages(child)
    return found


async def test_a_claim_looks_up_each_stage_result_instead_of_rescanning_it_per_row(
    own_pool: Pool,
) -> None:
    # A stage's rows scanned once per row of another is quadratic in the claim's
    # size: at 500 a claim, those nested loops were a third of its time.
    await queue_backlog(own_pool)
    params = {"limit": 500, "lease": LEASE, "now": NOW, "worker": "w", "max_attempts": 5}
    async with own_pool.connection() as conn:
        (row,) = await (
            await conn.execute(b"explain (format json) " + CLAIM_SQL.encode(), params)
        ).fetchall()
    rescanned = _rescanned_stages(row["QUERY PLAN"][0]["Plan"])

    # The notices and people of the claim, and the budget, device and delivery rows
    # written for them: each is looked up by key (a hash, an index) from the others.
    per_notice_or_person = {
        "judged",
        "groups",
        "group_verdicts",
        "ledger",
        "opened",
        "spent",
        "targets",
        "delivering",
    }
    assert not per_notice_or_person & set(rescanned), rescanned


async def test_a_settle_looks_up_each_outcome_by_key_whatever_the_statistics_say(
    own_pool: Pool,
) -> None:
    # Statistics taken when nearly every delivery was sent (a busy day's queue)
    # make a filter on the deliveries' status look like a row or two; a settle
    # that filtered on it compared every outcome with every delivery of the round.
    await queue_backlog(own_pool)
    async with own_pool.connection() as conn:
        await conn.execute(
            "insert into device_tokens (user_id, platform, provider, token)"
            " select id, 'android', 'fcm', 'backlog-' || id from users"
            " where display_name = 'Backlog'"
        )
    outbox = Outbox(own_pool, "w")
    for _ in range(4):
        sent = await claim(outbox, 500, LEASE, NOW)
        await outbox.record([Outcome(p.id, "sent") for p in sent], NOW)
    async with own_pool.connection() as conn:
        await conn.execute("analyze push_deliveries")
    in_flight = await claim(outbox, 500, LEASE, NOW)
    outcomes = [
        {"id": str(p.id), "result": "sent", "error_code": None, "retry_at": None} for p in in_flight
    ]
    params = {"outcomes": json.dumps(outcomes), "now": NOW, "worker": "w", "max_attempts": 5}
    async with own_pool.connection() as conn:
        (row,) = await (
            await conn.execute(b"explain (format json) " + RECORD_SQL.encode(), params)
        ).fetchall()

    assert len(in_flight) == 250  # 500 notices, two for each person
    assert _rescanned_stages(row["QUERY PLAN"][0]["Plan"]) == []


async def test_the_queue_claims_and_settles_without_just_in_time_compilation(
    own_database_url: str,
) -> None:
    # With statistics taken before a burst a claim's estimate passed jit_above_cost,
    # and the server compiled it on every run: 318 ms for a 60 ms claim. A trigger
    # on the deliveries the claim writes and the settle updates reads the setting
    # inside each statement; the database is set to compile everything it can.
    async with await psycopg.AsyncConnection.connect(own_database_url, autocommit=True) as conn:
        name = await fetch_value(conn, "select current_database()")
        await conn.execute(sql.SQL("alter database {} set jit = on").format(sql.Identifier(name)))
        await conn.execute(
            sql.SQL("alter database {} set jit_above_cost = 0").format(sql.Identifier(name))
        )
        await conn.execute(
            """
            create table jit_seen (operation text not null, jit text not null);
            create function record_jit() returns trigger language plpgsql as $$
            begin
              insert into jit_seen values (tg_op, current_setting('jit'));
              return null;
            end $$;
            create trigger record_jit after insert or update on push_deliveries
              for each statement execute function record_jit();
            """
        )
    # One connection: the question after the settle goes to the connection that ran it.
    async with open_pool(own_database_url, Settings(pool_min_size=1, pool_max_size=1)) as pool:
        await queued_world(pool, {"a": 7, "b": 30})
        outbox = Outbox(pool, "w")
        pushes = await claim(outbox, 100, LEASE, NOW)
        await outbox.record([Outcome(p.id, "sent") for p in pushes], NOW)
        async with pool.connection() as conn:
            seen = await (await conn.execute("select operation, jit from jit_seen")).fetchall()
            # Only the queue's own transactions: the connection keeps the default.
            elsewhere = await fetch_value(conn, "select current_setting('jit')")

    assert len(pushes) == 3
    assert {(r["operation"], r["jit"]) for r in seen} == {("INSERT", "off"), ("UPDATE", "off")}
    assert elsewhere == "on"
