"""The data-quality report shares its rules with the jobs that apply them: the
mentors without a coordinator are the expiry sweep's, the stale devices are
`push stale-tokens`'."""

from datetime import UTC, date, datetime, timedelta

from mentor_notify.db import Pool
from mentor_notify.domain import FixedClock
from mentor_notify.expiry import ExpirySweep
from mentor_notify.push import DeviceTokenRepository
from mentor_notify.push.tokens import STALE_TOKEN_AGE
from tests.expiry_world import build_world
from tests.support import fetch_column, fetch_value, impersonate

# A fixed business day for the sweep (the coordinator rule does not depend on it).
TODAY = date(2026, 11, 23)
CLOCK = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))


async def reported(pool: Pool, issue: str, column: str) -> set[str]:
    """`column` of the report's rows about `issue`, as the back end reads them."""
    async with (
        pool.connection() as conn,
        conn.transaction(force_rollback=True),
        impersonate(conn, None, role="service_role"),
    ):
        values = await fetch_column(
            conn, f"select {column} from public.data_quality_report where issue = %s", issue
        )
    return {str(v) for v in values}


async def test_the_report_and_the_sweep_find_the_same_mentors_without_a_coordinator(
    own_pool: Pool,
) -> None:
    async with own_pool.connection() as conn:
        world = await build_world(
            conn, TODAY, {"covered": 7, "alone": 7, "elsewhere": 7}, without_coordinator=("alone",)
        )
        # Also a mentor of chapter B, where nobody is assigned to them: their
        # coordinator in chapter A is told about them, so they are no finding.
        await conn.execute(
            "insert into public.chapter_memberships (organization_id, chapter_id, user_id, role) "
            "values (%s, %s, %s, 'peer_mentor')",
            [world.organization_id, world.chapter_b, world.mentors["elsewhere"].person.id],
        )

    result = await ExpirySweep(own_pool, CLOCK).run(today=TODAY)

    swept = {str(f.mentor_id) for o in result.organisations for f in o.missing_coordinator}
    assert swept == {str(world.mentors["alone"].person.id)}
    assert await reported(own_pool, "mentor_without_coordinator", "person_id") == swept


async def test_push_stale_tokens_lists_by_default_the_devices_the_report_calls_stale(
    own_pool: Pool,
) -> None:
    async with own_pool.connection() as conn:
        world = await build_world(conn, TODAY, {"old": 200, "recent": 200})
        ages = {
            "old": STALE_TOKEN_AGE + timedelta(hours=1),
            "recent": STALE_TOKEN_AGE - timedelta(hours=1),
        }
        for label, age in ages.items():
            await conn.execute(
                "update public.device_tokens set last_refreshed_at = now() - %s where id = %s",
                [age, world.mentors[label].device_ids[0]],
            )
        listed = await DeviceTokenRepository(conn).stale(STALE_TOKEN_AGE, datetime.now(UTC))

    assert {str(t.id) for t in listed} == {str(world.mentors["old"].device_ids[0])}
    assert await reported(own_pool, "stale_device", "subject_id") == {str(t.id) for t in listed}


async def test_the_stale_age_of_push_stale_tokens_is_the_reports(own_pool: Pool) -> None:
    async with own_pool.connection() as conn:
        age = await fetch_value(conn, "select private.stale_device_age()")

    assert age == STALE_TOKEN_AGE
