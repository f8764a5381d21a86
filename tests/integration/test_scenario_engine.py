"""The scenario engine against real PostgreSQL: each scenario's rule, rule precedence,
cooldowns under re-runs and concurrent runs, dry runs, the command line."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb
from typer.testing import CliRunner

from mentor_notify.cli import app
from mentor_notify.config import Settings
from mentor_notify.db import Pool, open_pool
from mentor_notify.domain import AsOf, SystemClock, parse_deep_link
from mentor_notify.domain.scenarios import ScenarioType
from mentor_notify.push.outbox import Outbox, Outcome
from mentor_notify.scenarios.engine import EngineResult, ScenarioEngine
from mentor_notify.scenarios.push_outcomes import ScenarioPushOutcomes
from tests.expiry_world import World, build_world
from tests.support import fetch_column, fetch_value

# The business moment the tests decide for; rows are stamped on the real clock.
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
TODAY = NOW.date()
AS_OF = AsOf.at(NOW)


async def add_rule(
    pool: Pool,
    world: World,
    scenario: str,
    parameters: dict[str, Any],
    *,
    cooldown: timedelta = timedelta(days=14),
    chapter: UUID | None = None,
    enabled: bool = True,
) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "insert into public.scenario_rules (organization_id, chapter_id, scenario_type, "
            "parameters, cooldown, enabled, messages) values (%s, %s, %s, %s, %s, %s, %s)",
            [
                world.organization_id,
                chapter,
                scenario,
                Jsonb(parameters),
                cooldown,
                enabled,
                Jsonb({"nb": f"scenario.{scenario}", "en": f"scenario.{scenario}"}),
            ],
        )


async def add_activities(pool: Pool, world: World, label: str, *days_ago: float) -> None:
    mentor = world.mentors[label]
    async with pool.connection() as conn:
        for days in days_ago:
            await conn.execute(
                "insert into public.activities (organization_id, chapter_id, peer_mentor_id, "
                "activity_type, occurred_at, created_at) "
                "values (%s, %s, %s, 'conversation', %s, %s)",
                [
                    world.organization_id,
                    mentor.chapter_id,
                    mentor.person.id,
                    NOW - timedelta(days=days),
                    NOW,
                ],
            )


async def make_world(pool: Pool, offsets: dict[str, int]) -> World:
    """The expiry test world, its mentors members for over a year."""
    async with pool.connection() as conn:
        world = await build_world(conn, TODAY, offsets)
        # Members for long enough that "never active" counts as inactive.
        await conn.execute(
            "update public.chapter_memberships set created_at = %s where organization_id = %s",
            [NOW - timedelta(days=400), world.organization_id],
        )
    return world


async def run(pool: Pool, *only: ScenarioType, dry_run: bool = False) -> EngineResult:
    return await ScenarioEngine(pool, SystemClock()).run(
        as_of=AS_OF, only=list(only) or None, dry_run=dry_run
    )


async def notified(pool: Pool, category: str) -> list[UUID]:
    async with pool.connection() as conn:
        return await fetch_column(
            conn,
            "select recipient_id from public.notifications where category = %s order by 1",
            category,
        )


async def test_inactivity_nudges_the_inactive_once_per_cooldown(own_pool: Pool) -> None:
    world = await make_world(own_pool, {"idle": 400, "busy": 400, "never": 400})
    await add_rule(own_pool, world, "inactivity", {"inactivity_days": 30})
    await add_activities(own_pool, world, "idle", 45, 90)
    await add_activities(own_pool, world, "busy", 3)

    first = await run(own_pool, ScenarioType.INACTIVITY)
    again = await run(own_pool, ScenarioType.INACTIVITY)

    idle, never = world.mentors["idle"].person.id, world.mentors["never"].person.id
    assert first.scenarios[0].recorded == 2
    assert sorted(await notified(own_pool, "inactivity")) == sorted([idle, never])
    assert (again.scenarios[0].hits, again.scenarios[0].recorded) == (2, 0)
    assert again.scenarios[0].held_back == 2
    async with own_pool.connection() as conn:
        metadata = await fetch_value(
            conn,
            "select metadata from public.scenario_notifications where user_id = %s",
            idle,
        )
        link = await fetch_value(
            conn,
            "select data ->> 'deep_link' from public.notifications where recipient_id = %s",
            idle,
        )
        pushes = await fetch_value(conn, "select count(*) from public.push_notices")
        push = await (
            await conn.execute(
                "select notification_id, payload, collapse_key from public.push_notices "
                "where recipient_id = %s",
                [idle],
            )
        ).fetchone()
    assert metadata["days_inactive"] == 45
    assert parse_deep_link(link).route == "activities/new"
    assert pushes == 2
    # The nudge's push, key for key (built by private.push_payload).
    assert push is not None
    assert push["payload"] == {
        "category": "inactivity",
        "title_key": "scenario.inactivity.title",
        "body_key": "scenario.inactivity.body",
        "priority": "normal",
        "data": {
            "notification_id": str(push["notification_id"]),
            "category": "inactivity",
            "deep_link": link,
        },
    }
    assert push["collapse_key"] == "scenario:inactivity"


async def test_milestones_celebrate_the_highest_reached_and_never_repeat(own_pool: Pool) -> None:
    world = await make_world(own_pool, {"keen": 400})
    await add_rule(
        own_pool, world, "milestone", {"milestones": [10, 25, 50]}, cooldown=timedelta(0)
    )
    await add_activities(own_pool, world, "keen", *[d + 1 for d in range(26)])

    first = await run(own_pool, ScenarioType.MILESTONE)
    second = await run(own_pool, ScenarioType.MILESTONE)
    await add_activities(own_pool, world, "keen", *[0.5] * 24)
    third = await run(own_pool, ScenarioType.MILESTONE)

    async with own_pool.connection() as conn:
        values = await fetch_column(
            conn,
            "select milestone_value from public.scenario_notifications order by milestone_value",
        )
    assert (first.scenarios[0].recorded, second.scenarios[0].hits, third.scenarios[0].recorded) == (
        1,
        0,
        1,
    )
    assert values == [25, 50]


async def told_earlier(pool: Pool, world: World, *labels: str, tiers: list[int]) -> None:
    """The sweep told these mentors about `tiers` of their certificate on an
    earlier day, so it has nothing to tell them today."""
    async with pool.connection() as conn:
        await conn.execute(
            "update public.certification_expiry_tracking "
            "set notification_thresholds_sent = %s, last_notified_on = %s "
            "where certification_id = any (%s)",
            [
                tiers,
                TODAY - timedelta(days=3),
                [world.mentors[label].certification_id for label in labels],
            ],
        )


async def test_certification_follow_up_uses_the_sweeps_tier_rule(own_pool: Pool) -> None:
    world = await make_world(own_pool, {"d30": 30, "d20": 20, "d7": 7, "far": 100})
    await add_rule(own_pool, world, "certification_expiry", {"tier": "expiry_warning_30d"})
    await told_earlier(own_pool, world, "d30", "d20", "d7", tiers=[60, 30, 7])

    result = await run(own_pool, ScenarioType.CERTIFICATION_EXPIRY)

    assert result.scenarios[0].recorded == 2
    expected = sorted([world.mentors["d30"].person.id, world.mentors["d20"].person.id])
    assert sorted(await notified(own_pool, "certification_follow_up")) == expected
    async with own_pool.connection() as conn:
        data = await fetch_value(
            conn,
            "select data from public.notifications where recipient_id = %s",
            world.mentors["d30"].person.id,
        )
    assert data["tier"] == "expiry_warning_30d"
    assert data["certification_id"] == str(world.mentors["d30"].certification_id)
    assert parse_deep_link(data["deep_link"]).route == "course-enrolment"


async def test_the_as_of_moment_decides_and_the_real_clock_stamps(own_pool: Pool) -> None:
    world = await make_world(own_pool, {"idle": 400, "d30": 30})
    await add_rule(own_pool, world, "inactivity", {"inactivity_days": 30})
    await add_rule(own_pool, world, "certification_expiry", {"tier": "expiry_warning_7d"})
    await add_activities(own_pool, world, "idle", 10)
    await told_earlier(own_pool, world, "d30", tiers=[60, 30, 7])
    # A month after NOW (whatever the real date is): "idle" is 40 days inactive and
    # the 30-day certificate 7 days from expiry.
    later = NOW + timedelta(days=23)
    before = SystemClock().now()

    result = await ScenarioEngine(own_pool, SystemClock()).run(as_of=AsOf.at(later))

    after = SystemClock().now()
    assert result.as_of == later
    assert sorted(await notified(own_pool, "inactivity")) == sorted(
        [world.mentors["idle"].person.id, world.mentors["d30"].person.id]
    )
    assert await notified(own_pool, "certification_follow_up") == [world.mentors["d30"].person.id]
    async with own_pool.connection() as conn:
        triggered = set(
            await fetch_column(conn, "select triggered_at from public.scenario_notifications")
        )
        created = await fetch_column(conn, "select created_at from public.notifications")
        due = await fetch_column(
            conn,
            "select available_at from public.push_notices union all "
            "select created_at from public.push_notices",
        )
    # The scenario's own record (and its cooldown) is of the business moment...
    assert triggered == {later}
    # ...while the inbox and the pushes live in real time: due now, not in a month.
    assert created
    assert all(before <= at <= after for at in created)
    assert due
    assert all(before <= at <= after for at in due)


async def test_welcome_back_after_a_long_gap_once(own_pool: Pool) -> None:
    world = await make_world(own_pool, {"back": 400, "steady": 400, "old_return": 400})
    await add_rule(own_pool, world, "welcome_back", {"inactive_days_before_return": 30})
    await add_activities(own_pool, world, "back", 1, 70)
    await add_activities(own_pool, world, "steady", 1, 8, 15)
    await add_activities(own_pool, world, "old_return", 20, 90)

    first = await run(own_pool, ScenarioType.WELCOME_BACK)
    second = await run(own_pool, ScenarioType.WELCOME_BACK)

    assert await notified(own_pool, "welcome_back") == [world.mentors["back"].person.id]
    assert first.scenarios[0].recorded == 1
    assert second.scenarios[0].hits == 0


async def test_a_chapter_rule_replaces_the_default_and_can_switch_it_off(own_pool: Pool) -> None:
    # Mentor b is in chapter B, whose own (disabled) rule switches the default off.
    async with own_pool.connection() as conn:
        world = await build_world(conn, TODAY, {"a": 400, "b": 400}, without_coordinator=("b",))
        await conn.execute(
            "update public.chapter_memberships set created_at = %s where organization_id = %s",
            [NOW - timedelta(days=400), world.organization_id],
        )
    await add_rule(own_pool, world, "inactivity", {"inactivity_days": 30})
    await add_rule(
        own_pool,
        world,
        "inactivity",
        {"inactivity_days": 30},
        chapter=world.chapter_b,
        enabled=False,
    )

    result = await run(own_pool, ScenarioType.INACTIVITY)

    assert result.scenarios[0].mentors_evaluated == 1
    assert await notified(own_pool, "inactivity") == [world.mentors["a"].person.id]


async def test_dry_run_writes_nothing(own_pool: Pool) -> None:
    world = await make_world(own_pool, {"idle": 400})
    await add_rule(own_pool, world, "inactivity", {"inactivity_days": 30})

    dry = await run(own_pool, dry_run=True)

    assert dry.total("recorded") == 1
    async with own_pool.connection() as conn:
        assert await fetch_value(conn, "select count(*) from public.scenario_notifications") == 0
        assert await fetch_value(conn, "select count(*) from public.notifications") == 0


async def test_concurrent_runs_never_notify_anyone_twice(own_database_url: str) -> None:
    settings = Settings(pool_min_size=1, pool_max_size=1)
    async with open_pool(own_database_url, settings) as pool:
        world = await make_world(pool, {f"m{n}": 400 for n in range(40)})
        await add_rule(pool, world, "inactivity", {"inactivity_days": 30})
        await add_rule(pool, world, "milestone", {"milestones": [1]}, cooldown=timedelta(0))
        for label in list(world.mentors)[:20]:
            await add_activities(pool, world, label, 40)

    async def one() -> EngineResult:
        async with open_pool(own_database_url, settings) as pool:
            return await run(pool)

    results = await asyncio.gather(*(one() for _ in range(6)))

    async with open_pool(own_database_url, settings) as pool, pool.connection() as conn:
        per_person = await fetch_column(
            conn,
            "select count(*) from public.scenario_notifications group by user_id, scenario_type",
        )
        notifications = await fetch_value(conn, "select count(*) from public.notifications")
    recorded = sum(r.total("recorded") for r in results)
    assert recorded == 40 + 20  # everyone inactive; the 20 with an activity reach milestone 1
    assert set(per_person) == {1}
    assert notifications == recorded


def test_cli_runs_and_explains_a_bad_instant(own_database_url: str) -> None:
    runner = CliRunner()
    runner.invoke(app, ["--database-url", own_database_url, "demo"])
    base = ["--database-url", own_database_url, "scenarios", "run"]

    result = runner.invoke(app, [*base, "--json", "--only", "inactivity"])
    bad = runner.invoke(app, [*base, "--now", "yesterday"])

    assert result.exit_code == 0, result.output
    (outcome,) = json.loads(result.stdout)["scenarios"]
    assert outcome["scenario_type"] == "inactivity"
    assert outcome["hits"] > 0
    assert bad.exit_code == 2
    assert "with a UTC offset" in " ".join(bad.output.replace("│", " ").split())


async def test_deliveries_are_logged_for_coordinators_as_they_happen(own_pool: Pool) -> None:
    world = await make_world(own_pool, {"reached": 400, "unreachable": 400})
    await add_rule(own_pool, world, "inactivity", {"inactivity_days": 30})
    await run(own_pool, ScenarioType.INACTIVITY)
    reached = world.mentors["reached"].person.id
    unreachable = world.mentors["unreachable"].person.id
    async with own_pool.connection() as conn:
        await conn.execute("update public.organizations set push_window_start = push_window_end")
    # What a dispatcher does: claim, then settle one push sent and the other refused
    # by FCM, in the settle statement (no trigger), and tell the scenarios' reaction.
    outbox = Outbox(own_pool, "worker-1")
    reaction = ScenarioPushOutcomes(own_pool)
    now = SystemClock().now() + timedelta(minutes=1)
    claim = await outbox.claim_batch(100, timedelta(minutes=1), now)
    by_recipient = {p.recipient_id: p for p in claim.pushes}
    outcomes = [
        Outcome(by_recipient[reached].id, "sent"),
        Outcome(by_recipient[unreachable].id, "permanent", "UNREGISTERED: token gone"),
    ]
    first = await outbox.record(outcomes, now)
    await reaction.settled(first.settled_notifications, now)
    # An outcome recorded twice (a retried report), and reacted to twice, adds nothing.
    repeated = await outbox.record(outcomes, now)
    await reaction.settled([*first.settled_notifications, *repeated.settled_notifications], now)
    async with own_pool.connection() as conn:
        rows = await (
            await conn.execute(
                "select peer_mentor_id, chapter_id, status, delivery_channel, failure_reason "
                "from public.follow_up_notification_log order by status"
            )
        ).fetchall()
    again = await run(own_pool, ScenarioType.INACTIVITY)

    assert [(r["peer_mentor_id"], r["status"], r["failure_reason"]) for r in rows] == [
        (reached, "delivered", None),
        (unreachable, "failed", "UNREGISTERED:_token_gone"),
    ]
    assert {r["chapter_id"] for r in rows} == {world.chapter_a}
    assert {r["delivery_channel"] for r in rows} == {"fcm"}
    async with own_pool.connection() as conn:
        by_person = {
            row["user_id"]: row["statuses"]
            for row in await (
                await conn.execute(
                    "select user_id, array_agg(delivery_status order by triggered_at) as statuses "
                    "from public.scenario_notifications group by user_id"
                )
            ).fetchall()
        }
    # The failed nudge released its cooldown, so the next run tried again.
    assert by_person == {reached: ["sent"], unreachable: ["failed", "pending"]}
    assert again.scenarios[0].recorded == 1
