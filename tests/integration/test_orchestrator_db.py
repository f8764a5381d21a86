"""The orchestrator with its PostgreSQL collaborators: all four tiers, re-runs,
one poisoned record among good ones, and agreement with the daily sweep."""

from uuid import uuid4

from mentor_notify.db import Pool
from mentor_notify.expiry import ExpirySweep, MentorRecord, OrchestrationResult
from mentor_notify.expiry.repositories import postgres_orchestrator
from tests.expiry_world import World, build_world
from tests.integration.test_expiry_sweep import CLOCK, TIER_OFFSETS, TODAY, counts
from tests.support import fetch_column, fetch_value


def records(world: World) -> list[MentorRecord]:
    return [
        MentorRecord(
            mentor_id=m.person.id,
            certification_id=m.certification_id,
            organization_id=world.organization_id,
            certificate_type="hlf_peer_mentor",
            expiry_date=m.expiry_date,
            coordinator_ids=(world.coordinator.id,),
        )
        for m in world.mentors.values()
    ]


async def run(pool: Pool, batch: list[MentorRecord]) -> OrchestrationResult:
    async with pool.connection() as conn:
        await conn.commit()
        return await postgres_orchestrator(conn, CLOCK).process(batch)


async def test_all_four_tiers_are_recorded_and_a_rerun_adds_nothing(own_pool: Pool) -> None:
    async with own_pool.connection() as conn:
        world = await build_world(conn, TODAY, TIER_OFFSETS)

    first = await run(own_pool, records(world))
    after_first = await counts(own_pool)
    second = await run(own_pool, records(world))
    sweep = await ExpirySweep(own_pool, CLOCK).run()

    assert (first.processed, first.not_due, first.created, first.queued) == (5, 1, 8, 8)
    assert after_first == {"notifications": 8, "cert_notification_log": 8, "push_notices": 8}
    assert (second.skipped, second.created, second.queued) == (4, 0, 0)
    assert await counts(own_pool) == after_first
    # The orchestrator marked the tiers sent, so the sweep finds nothing left.
    assert sweep.total("certificates_due") == 0
    async with own_pool.connection() as conn:
        tiers = await fetch_column(
            conn,
            "select threshold_tier from public.notifications "
            "where recipient_id = subject_mentor_id order by 1",
        )
    assert tiers == ["expired", "expiry_warning_30d", "expiry_warning_60d", "expiry_warning_7d"]


async def test_a_poisoned_record_fails_alone(own_pool: Pool) -> None:
    async with own_pool.connection() as conn:
        world = await build_world(conn, TODAY, {"good": 30, "also_good": 7})
    batch = records(world)
    ghost = batch[0].model_copy(update={"mentor_id": uuid4(), "certification_id": uuid4()})

    result = await run(own_pool, [batch[0], ghost, batch[1]])

    assert (result.processed, result.created, result.failed) == (3, 4, 1)
    assert result.failures[0].mentor_id == ghost.mentor_id
    assert "notifications_recipient_id_fkey" in result.failures[0].reason
    assert await counts(own_pool) == {
        "notifications": 4,
        "cert_notification_log": 4,
        "push_notices": 4,
    }


async def test_a_failure_while_queueing_pushes_leaves_nothing_of_that_record(
    own_pool: Pool,
) -> None:
    async with own_pool.connection() as conn:
        world = await build_world(conn, TODAY, {"good": 30, "refused": 7, "also_good": -1})
        refused = world.mentors["refused"]
        # Fault injection: the push queue refuses the refused mentor's push, after
        # the batch's notices, log rows and tier marks were written.
        await conn.execute(
            f"""
            create function public.test_refuse_push() returns trigger language plpgsql as $$
            begin
              if new.recipient_id = '{refused.person.id}' then
                raise exception 'injected failure' using errcode = 'check_violation';
              end if;
              return new;
            end $$;
            create trigger refuse_push before insert on public.push_notices
              for each row execute function public.test_refuse_push();
            """
        )

    result = await run(own_pool, records(world))

    assert (result.created, result.logged, result.queued, result.marked) == (4, 4, 4, 2)
    assert [f.certification_id for f in result.failures] == [refused.certification_id]
    async with own_pool.connection() as conn:
        left = {
            table: await fetch_value(
                conn, f"select count(*) from public.{table} where {column} = %s", value
            )
            for table, column, value in (
                ("notifications", "subject_mentor_id", refused.person.id),
                ("cert_notification_log", "certification_id", refused.certification_id),
            )
        }
        marked = await fetch_value(
            conn,
            "select notification_thresholds_sent from public.certification_expiry_tracking "
            "where certification_id = %s",
            refused.certification_id,
        )
    assert left == {"notifications": 0, "cert_notification_log": 0}
    assert marked == []
    assert await counts(own_pool) == {
        "notifications": 4,
        "cert_notification_log": 4,
        "push_notices": 4,
    }
