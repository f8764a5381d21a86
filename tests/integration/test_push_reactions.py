"""Other packages react to settled pushes (issue 25): the push statements write none of
the scenarios' tables; the dispatcher tells the scenarios' reaction what settled, and a
dispatcher that starts catches up with what settled while no reaction ran."""

from datetime import timedelta

from mentor_notify.db import Pool
from mentor_notify.domain import FixedClock, SystemClock
from mentor_notify.push.dispatcher import Dispatcher
from mentor_notify.push.outbox import Outbox, Outcome
from mentor_notify.scenarios import ScenarioType
from mentor_notify.scenarios.push_outcomes import ScenarioPushOutcomes
from tests.integration.test_dispatcher import RecordingSender
from tests.integration.test_person_pushes import rows
from tests.integration.test_scenario_engine import add_rule, make_world, run


async def test_a_dispatcher_catches_up_with_pushes_settled_while_no_reaction_ran(
    own_pool: Pool,
) -> None:
    world = await make_world(own_pool, {"quiet": 400})
    quiet = world.mentors["quiet"].person.id
    await add_rule(own_pool, world, "inactivity", {"inactivity_days": 30})
    await run(own_pool, ScenarioType.INACTIVITY)
    async with own_pool.connection() as conn:
        await conn.execute("update organizations set push_window_start = push_window_end")
    outbox = Outbox(own_pool, "w")
    now = SystemClock().now() + timedelta(minutes=1)
    # Settled, then the dispatcher stopped before its reaction ran.
    claim = await outbox.claim_batch(100, timedelta(minutes=1), now)
    counts = await outbox.record([Outcome(p.id, "sent") for p in claim.pushes], now)
    unreacted = await rows(own_pool, "select delivery_status from scenario_notifications")
    # A dispatcher starts, with nothing due.
    sender = RecordingSender()
    result = await Dispatcher(
        outbox,
        {"fcm": sender, "apns": sender},
        FixedClock(now),
        reactions=[ScenarioPushOutcomes(own_pool)],
    ).run_once()
    scenario = await rows(own_pool, "select delivery_status from scenario_notifications")
    log = await rows(
        own_pool, "select peer_mentor_id, status, delivery_channel from follow_up_notification_log"
    )

    assert counts.settled_notifications
    assert [r["delivery_status"] for r in unreacted] == ["pending"]
    assert result.claimed == 0
    assert [r["delivery_status"] for r in scenario] == ["sent"]
    assert [(r["peer_mentor_id"], r["status"], r["delivery_channel"]) for r in log] == [
        (quiet, "delivered", "fcm")
    ]
