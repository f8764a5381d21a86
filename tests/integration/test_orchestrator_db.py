"""The orchestrator with its PostgreSQL collaborators: all four tiers, re-runs,
one poisoned record among good ones, and agreement with the daily sweep."""

from uuid import uuid4

from mentor_notify.db import Pool
from mentor_notify.expiry import ExpirySweep, MentorRecord, OrchestrationResult
from mentor_notify.expiry.orchestrator import CertificateExpiryOrchestrator
from mentor_notify.expiry.repositories import PostgresNotificationRecords, PostgresPushQueue
from tests.expiry_world import World, build_world
from tests.integration.test_expiry_sweep import CLOCK, TIER_OFFSETS, TODAY, counts
from tests.support import fetch_column


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
        orchestrator = CertificateExpiryOrchestrator(
            PostgresNotificationRecords(conn, CLOCK), PostgresPushQueue(conn, CLOCK), CLOCK
        )
        return await orchestrator.process(batch)


async def test_all_four_tiers_are_recorded_and_a_rerun_adds_nothing(own_pool: Pool) -> None:
    async with own_pool.connection() as conn:
        world = await build_world(conn, TODAY, TIER_OFFSETS)

    first = await run(own_pool, records(world))
    after_first = await counts(own_pool)
    second = await run(own_pool, records(world))
    sweep = await ExpirySweep(own_pool, CLOCK).run()

    assert (first.processed, first.not_due, first.created, first.queued) == (5, 1, 8, 8)
    assert after_first == {"notifications": 8, "cert_notification_log": 8, "push_outbox": 8}
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
        "push_outbox": 4,
    }
