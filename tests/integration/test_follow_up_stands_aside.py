"""A mentor never hears twice about one certificate on one day (issue 16): the
certification follow-up scenario stands aside when the expiry sweep has told,
or will tell, the mentor about that certificate on the same business day,
whichever of the two jobs runs first in the daily cycle."""

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from psycopg.types.json import Jsonb

from mentor_notify.db import Pool
from mentor_notify.domain import AsOf, FixedClock
from mentor_notify.domain.scenarios import ScenarioType
from mentor_notify.expiry import ExpirySweep
from mentor_notify.scenarios.engine import ScenarioEngine
from tests.expiry_world import World, build_world
from tests.support import fetch_column

# The business day decided for; the clock only stamps rows.
TODAY = date(2026, 11, 23)
CLOCK = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))


async def make_world(pool: Pool, offsets: dict[str, int]) -> World:
    async with pool.connection() as conn:
        world = await build_world(conn, TODAY, offsets)
        await conn.execute(
            "insert into public.scenario_rules (organization_id, scenario_type, parameters, "
            "cooldown, messages) values (%s, 'certification_expiry', %s, '1 day', %s)",
            [
                world.organization_id,
                Jsonb({"tier": "expiry_warning_30d"}),
                Jsonb({"nb": "scenario.certification_expiry", "en": "scenario.x"}),
            ],
        )
    return world


async def sweep(pool: Pool, day: date) -> int:
    result = await ExpirySweep(pool, CLOCK).run(today=day)
    return result.total("notifications_created")


async def follow_up(pool: Pool, day: date) -> int:
    result = await ScenarioEngine(pool, CLOCK).run(
        as_of=AsOf.on(day), only=[ScenarioType.CERTIFICATION_EXPIRY]
    )
    return result.total("recorded")


async def followed_up(pool: Pool) -> list[tuple[UUID, str]]:
    """(mentor, certificate) of every follow-up notice, in the order written."""
    async with pool.connection() as conn:
        rows: list[Any] = await fetch_column(
            conn,
            "select array[recipient_id::text, data ->> 'certification_id'] "
            "from public.notifications where category = 'certification_follow_up' "
            "order by created_at, id",
        )
    return [(UUID(mentor), certificate) for mentor, certificate in rows]


async def swept_about(pool: Pool, world: World, label: str) -> list[str]:
    """Tiers of the sweep's notices to the mentor `label` about their certificate."""
    mentor = world.mentors[label]
    async with pool.connection() as conn:
        return await fetch_column(
            conn,
            "select threshold_tier from public.notifications "
            "where category = 'certification_expiry' and recipient_id = %s "
            "and data ->> 'certification_id' = %s order by created_at",
            mentor.person.id,
            str(mentor.certification_id),
        )


async def test_sweep_first_then_the_follow_up_stands_aside_that_day(own_pool: Pool) -> None:
    world = await make_world(own_pool, {"d30": 30})

    told = await sweep(own_pool, TODAY)
    recorded = await follow_up(own_pool, TODAY)

    assert told > 0
    assert await swept_about(own_pool, world, "d30") == ["expiry_warning_30d"]
    assert recorded == 0
    assert await followed_up(own_pool) == []


async def test_follow_up_first_stands_aside_and_the_sweep_still_tells(own_pool: Pool) -> None:
    world = await make_world(own_pool, {"d30": 30})

    recorded = await follow_up(own_pool, TODAY)
    told = await sweep(own_pool, TODAY)

    assert recorded == 0
    assert await followed_up(own_pool) == []
    assert told > 0
    assert await swept_about(own_pool, world, "d30") == ["expiry_warning_30d"]


async def test_a_later_day_in_the_tier_without_a_sweep_notice_is_followed_up(
    own_pool: Pool,
) -> None:
    world = await make_world(own_pool, {"d30": 30})
    await sweep(own_pool, TODAY)
    tomorrow = TODAY + timedelta(days=1)

    told_again = await sweep(own_pool, tomorrow)
    recorded = await follow_up(own_pool, tomorrow)

    assert told_again == 0  # once per tier: the 30-day notice went yesterday
    assert recorded == 1
    mentor = world.mentors["d30"]
    assert await followed_up(own_pool) == [(mentor.person.id, str(mentor.certification_id))]


async def test_another_certificate_of_the_same_mentor_is_still_followed_up(
    own_pool: Pool,
) -> None:
    world = await make_world(own_pool, {"d25": 25})
    mentor = world.mentors["d25"]
    # A second certificate in the same tier, expiring later (the follow-up
    # takes the soonest of a mentor's certificates it may remind about), whose
    # 30-day notice the sweep sent days ago.
    other = uuid4()
    async with own_pool.connection() as conn:
        await conn.execute(
            "insert into public.peer_mentor_certifications "
            "(id, organization_id, peer_mentor_id, certificate_type, issued_on, expiry_date) "
            "values (%s, %s, %s, 'nhf_peer_mentor', %s, %s)",
            [
                other,
                world.organization_id,
                mentor.person.id,
                TODAY - timedelta(days=700),
                TODAY + timedelta(days=28),
            ],
        )
        await conn.execute(
            "update public.certification_expiry_tracking "
            "set notification_thresholds_sent = '{60,30}', last_notified_on = %s "
            "where certification_id = %s",
            [TODAY - timedelta(days=10), other],
        )

    recorded = await follow_up(own_pool, TODAY)
    told = await sweep(own_pool, TODAY)

    assert recorded == 1
    assert await followed_up(own_pool) == [(mentor.person.id, str(other))]
    assert told > 0  # the first certificate's 30-day notice, from the sweep
    assert await swept_about(own_pool, world, "d25") == ["expiry_warning_30d"]
