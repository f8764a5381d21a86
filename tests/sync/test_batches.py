"""Issue 24's speed, kept honest: concurrent deliveries are stored in one batch
and one commit, each answered only after that commit, and a bad row of a batch
costs only its own sender; the applier applies a batch at once, one by one only
when an event fails; and only one applier per organisation applies at a time."""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from uuid import uuid4

import httpx
import pytest_asyncio

from mentor_notify.db import Pool
from mentor_notify.domain import SystemClock
from mentor_notify.sync import CertificateSync, SyncApplier
from mentor_notify.sync.inbox import InboxWriter
from mentor_notify.sync.repository import SYNC_APPLY_LOCK_CLASS
from tests.sync.test_ingest import bare_client
from tests.sync.test_sync_http import build, moment, post_dataverse, rows, today, update
from tests.sync.world import SyncWorld, set_sync

# A refusal the database makes only when the transaction commits (a deferred
# constraint trigger), for the delivery with the request id the test names: a
# sender answered before the commit would be told 202 for a row never stored.
_REFUSE_AT_COMMIT = """
create function public.test_refuse_at_commit() returns trigger
language plpgsql as $$
begin
  if new.source_event_id = '{request_id}' then
    raise exception 'refused at commit (test)';
  end if;
  return null;
end
$$;
create constraint trigger test_refuse_at_commit
  after insert on public.certificate_sync_events
  deferrable initially deferred
  for each row execute function public.test_refuse_at_commit();
"""

# A certificate change the database refuses while applying (a trigger on the
# certificates), for one expiry date: that event fails, the batch's others not.
_REFUSE_EXPIRY = """
create function public.test_refuse_expiry() returns trigger
language plpgsql as $$
begin
  if new.expiry_date = '{expiry}'::date then
    raise exception 'refused expiry date (test)';
  end if;
  return new;
end
$$;
create trigger test_refuse_expiry
  before update on public.peer_mentor_certifications
  for each row execute function public.test_refuse_expiry();
"""


@pytest_asyncio.fixture
async def inbox(own_pool: Pool) -> InboxWriter:
    """One batch at a time, so a test can tell which deliveries go together."""
    return InboxWriter(own_pool, flushers=1)


@pytest_asyncio.fixture
async def batching_sync(own_pool: Pool, inbox: InboxWriter) -> CertificateSync:
    return CertificateSync(own_pool, SystemClock(), inbox=inbox)


@pytest_asyncio.fixture
async def client(
    own_pool: Pool, batching_sync: CertificateSync
) -> AsyncIterator[httpx.AsyncClient]:
    async with bare_client(own_pool, batching_sync, 16) as c:
        yield c


async def execute(pool: Pool, statement: str) -> None:
    async with pool.connection() as conn:
        await conn.execute(statement.encode())


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Wait until `condition` holds (polled: what it waits for signals nothing)."""
    while not await condition():  # noqa: ASYNC110
        await asyncio.sleep(0.01)


async def test_a_batch_is_answered_only_after_its_commit_and_a_bad_row_loses_no_other(
    own_pool: Pool, inbox: InboxWriter, client: httpx.AsyncClient
) -> None:
    world = await build(own_pool, {"a": 20, "b": 20, "c": 20, "d": 20}, enabled=False)
    refused = uuid4()
    await execute(own_pool, _REFUSE_AT_COMMIT.format(request_id=refused))
    bodies = {
        label: update(
            world,
            label,
            moment(i),
            today() + timedelta(days=100 + i),
            request_id=refused if label == "c" else uuid4(),
        )
        for i, label in enumerate("abcd")
    }

    async with own_pool.connection() as blocker, blocker.transaction():
        # Inserts wait behind this lock: the first delivery's batch is stuck, and
        # the next three queue up for the next batch, together.
        await blocker.execute("lock table public.certificate_sync_events in share mode")
        first = asyncio.create_task(post_dataverse(client, world, bodies["a"]))
        await until(lambda: _insert_waits(own_pool))
        others = {
            label: asyncio.create_task(post_dataverse(client, world, bodies[label]))
            for label in "bcd"
        }
        await until(lambda: _queued(inbox, 3))
        # Nothing is committed yet, so nobody has been answered.
        assert not first.done()
        assert not any(task.done() for task in others.values())

    answers = {"a": await first} | {label: await task for label, task in others.items()}

    assert {label: a.status_code for label, a in answers.items() if label != "c"} == {
        "a": 202,
        "b": 202,
        "d": 202,
    }
    # Not stored: answered 503, the one answer Dataverse tries again after.
    assert answers["c"].status_code == 503
    stored = await rows(own_pool, "select source_event_id from public.certificate_sync_events")
    assert sorted(r["source_event_id"] for r in stored) == sorted(
        json.loads(bodies[label])["RequestId"] for label in "abd"
    )


async def test_an_applier_batch_with_one_failing_event_applies_the_others(
    own_pool: Pool, sync: CertificateSync, applier: SyncApplier
) -> None:
    world = await build(own_pool, {"a": 20, "b": 20, "c": 20}, enabled=False)
    refused_expiry = today() + timedelta(days=401)
    await execute(own_pool, _REFUSE_EXPIRY.format(expiry=refused_expiry))
    expiries = {
        "a": today() + timedelta(days=400),
        "b": refused_expiry,
        "c": today() + timedelta(days=402),
    }
    async with bare_client(own_pool, sync, 16) as client:
        for i, (label, expiry) in enumerate(expiries.items()):
            answer = await post_dataverse(client, world, update(world, label, moment(i), expiry))
            assert answer.status_code == 202
    await _switch_on(own_pool, world)

    result = await applier.run_once()

    counts = result.organisations[world.slug]
    assert (counts.applied, counts.dead) == (2, 1)
    events = await rows(
        own_pool,
        "select status, reason, expiry_date from public.certificate_sync_events order by id",
    )
    assert [(e["status"], e["expiry_date"]) for e in events] == [
        ("applied", expiries["a"]),
        ("dead", expiries["b"]),
        ("applied", expiries["c"]),
    ]
    assert "refused expiry date (test)" in events[1]["reason"]
    certificates = await rows(
        own_pool,
        "select c.peer_mentor_id, c.expiry_date from public.peer_mentor_certifications c "
        "where c.peer_mentor_id = any(%s)",
        [world.world.mentors[label].person.id for label in "ac"],
    )
    assert sorted(c["expiry_date"] for c in certificates) == [expiries["a"], expiries["c"]]


async def test_only_one_applier_applies_an_organisations_events_at_a_time(
    own_pool: Pool, sync: CertificateSync, applier: SyncApplier
) -> None:
    world = await build(own_pool, {"a": 20})
    expiry = today() + timedelta(days=500)
    async with bare_client(own_pool, sync, 16) as client:
        answer = await post_dataverse(client, world, update(world, "a", moment(0), expiry))
    assert answer.status_code == 202

    async with own_pool.connection() as other, other.transaction():
        # Another server process's applier, in the middle of its batch.
        await other.execute(
            "select pg_advisory_xact_lock(%s, hashtext(%s))",
            [SYNC_APPLY_LOCK_CLASS, str(world.world.organization_id)],
        )
        round_ = asyncio.create_task(applier.run_once())
        await until(lambda: _waiting_or_done(own_pool, round_))
        assert not round_.done(), "the applier did not wait for the other one"
        assert await _statuses(own_pool) == ["pending"]

    result = await round_
    assert result.organisations[world.slug].applied == 1
    assert await _statuses(own_pool) == ["applied"]


async def _queued(inbox: InboxWriter, deliveries: int) -> bool:
    return inbox.waiting == deliveries


async def _insert_waits(pool: Pool) -> bool:
    """Whether an insert into the inbox is waiting for a lock."""
    found = await rows(
        pool,
        "select 1 from pg_locks l join pg_class c on c.oid = l.relation "
        "where c.relname = 'certificate_sync_events' and not l.granted",
    )
    return bool(found)


async def _waiting_or_done(pool: Pool, task: asyncio.Task[object]) -> bool:
    if task.done():
        return True
    found = await rows(pool, "select 1 from pg_locks where locktype = 'advisory' and not granted")
    return bool(found)


async def _statuses(pool: Pool) -> list[str]:
    found = await rows(pool, "select status from public.certificate_sync_events order by id")
    return [r["status"] for r in found]


async def _switch_on(pool: Pool, world: SyncWorld) -> None:
    async with pool.connection() as conn:
        await set_sync(conn, world.world.organization_id, True)
