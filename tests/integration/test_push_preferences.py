"""Per-person push preferences and send windows, applied when the dispatcher claims:
muted categories are skipped (the in-app notice stays), pushes outside the window are
held as rows until it opens, urgent tiers can go at once."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from mentor_notify.db import Pool
from mentor_notify.domain import Clock, FixedClock, SystemClock
from mentor_notify.push.dispatcher import Dispatcher, DispatchResult
from mentor_notify.push.outbox import Outbox
from mentor_notify.scenarios import ScenarioType
from mentor_notify.scenarios.push_outcomes import ScenarioPushOutcomes
from tests.integration.test_dispatcher import RecordingSender
from tests.integration.test_expiry_sweep import CLOCK
from tests.integration.test_outbox import queued_world
from tests.integration.test_scenario_engine import add_rule, make_world, run

# 05:00 UTC on 23 November is 06:00 in Oslo: before the default 08:00-21:00 window.
EARLY = FixedClock(datetime(2026, 11, 23, 5, 0, tzinfo=UTC))
WINDOW_OPENS = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


async def dispatch(pool: Pool, clock: Clock, sender: RecordingSender) -> DispatchResult:
    dispatcher = Dispatcher(
        Outbox(pool, "worker-1"),
        {"fcm": sender, "apns": sender},
        clock,
        reactions=[ScenarioPushOutcomes(pool)],
    )
    return await dispatcher.run_once()


async def rows(pool: Pool, query: str, *params: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        return list(await (await conn.execute(query, list(params))).fetchall())


async def pushes_by_recipient(pool: Pool) -> dict[UUID, dict[str, Any]]:
    found = await rows(
        pool,
        "select p.recipient_id, p.status, p.available_at, p.attempts, n.status as notice "
        "from push_notices p join notifications n on n.id = p.notification_id "
        "where n.subject_mentor_id = p.recipient_id",
    )
    return {r["recipient_id"]: r for r in found}


async def test_a_muted_category_is_skipped_and_the_notice_kept(own_pool: Pool) -> None:
    world = await queued_world(own_pool, {"muted": 7, "keen": 7})
    muted = world.mentors["muted"].person.id
    async with own_pool.connection() as conn:
        await conn.execute(
            "insert into push_preferences (user_id, muted_categories) "
            "values (%s, '{certification_expiry}')",
            [muted],
        )
    sender = RecordingSender()

    result = await dispatch(own_pool, FixedClock(CLOCK.now() + timedelta(hours=1)), sender)

    by_recipient = await pushes_by_recipient(own_pool)
    # The keen mentor's push, and the coordinator's one push about both (a digest).
    assert (result.skipped, result.sent, result.folded) == (1, 2, 1)
    assert (by_recipient[muted]["status"], by_recipient[muted]["notice"]) == ("skipped", "skipped")
    assert by_recipient[muted]["attempts"] == 0
    keen = world.mentors["keen"].person.id
    assert (by_recipient[keen]["status"], by_recipient[keen]["notice"]) == ("sent", "sent")
    notices = await rows(
        own_pool, "select count(*) as n from notifications where recipient_id = %s", muted
    )
    assert notices[0]["n"] == 1  # the in-app notice is still there to read


async def test_pushes_are_held_until_the_window_opens_even_across_a_restart(
    own_pool: Pool,
) -> None:
    world = await queued_world(own_pool, {"a": 30})
    mentor = world.mentors["a"].person.id
    async with own_pool.connection() as conn:
        await conn.execute(
            "update push_notices set available_at = %s", [EARLY.now() - timedelta(minutes=1)]
        )
    sender = RecordingSender()

    early = await dispatch(own_pool, EARLY, sender)
    held = (await pushes_by_recipient(own_pool))[mentor]
    # A new dispatcher (as after a restart), a minute before and at the opening.
    before = await dispatch(own_pool, FixedClock(WINDOW_OPENS - timedelta(minutes=1)), sender)
    at_opening = await dispatch(own_pool, FixedClock(WINDOW_OPENS), sender)

    assert (early.held, early.sent) == (2, 0)
    assert (held["status"], held["available_at"], held["attempts"]) == ("pending", WINDOW_OPENS, 0)
    assert before.claimed == 0
    assert at_opening.sent == 2
    assert sum(sender.sent.values()) == 2


async def test_urgent_tiers_can_go_at_once_and_a_person_may_have_their_own_window(
    own_pool: Pool,
) -> None:
    world = await queued_world(own_pool, {"urgent": 7, "early_bird": 30, "sleeper": 30})
    early_bird = world.mentors["early_bird"].person.id
    async with own_pool.connection() as conn:
        await conn.execute(
            "update organizations set push_immediate_tiers = '{expiry_warning_7d,expired}'"
        )
        await conn.execute(
            "insert into push_preferences (user_id, window_start, window_end) "
            "values (%s, '05:30', '22:00')",
            [early_bird],
        )
        await conn.execute(
            "update push_notices set available_at = %s", [EARLY.now() - timedelta(minutes=1)]
        )

    await dispatch(own_pool, EARLY, RecordingSender())

    by_recipient = await pushes_by_recipient(own_pool)
    status = {
        label: by_recipient[world.mentors[label].person.id]["status"] for label in world.mentors
    }
    assert status == {"urgent": "sent", "early_bird": "sent", "sleeper": "pending"}
    assert by_recipient[world.mentors["sleeper"].person.id]["available_at"] == WINDOW_OPENS


async def test_a_skipped_scenario_push_is_logged_for_the_coordinators(own_pool: Pool) -> None:
    world = await make_world(own_pool, {"quiet": 400})
    await add_rule(own_pool, world, "inactivity", {"inactivity_days": 30})
    await run(own_pool, ScenarioType.INACTIVITY)
    quiet = world.mentors["quiet"].person.id
    async with own_pool.connection() as conn:
        await conn.execute(
            "insert into push_preferences (user_id, muted_categories) values (%s, '{inactivity}')",
            [quiet],
        )

    # The engine queued the push on the real clock; a muted category is skipped
    # whatever the hour, so the real clock dispatches it.
    result = await dispatch(own_pool, SystemClock(), RecordingSender())

    log = await rows(
        own_pool, "select peer_mentor_id, status, delivery_channel from follow_up_notification_log"
    )
    scenario = await rows(own_pool, "select delivery_status from scenario_notifications")
    assert result.skipped == 1
    assert [(r["peer_mentor_id"], r["status"]) for r in log] == [(quiet, "skipped")]
    assert [r["delivery_status"] for r in scenario] == ["skipped"]
