"""ScenarioNotificationRepository against real PostgreSQL: every item of ticket 003's
testing requirements, the batch lookups, typed errors, and RLS."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from psycopg import AsyncConnection
from psycopg.rows import DictRow

from mentor_notify.scenarios import (
    CooldownActive,
    DeliveryStatus,
    NewScenarioNotification,
    ScenarioNotification,
    ScenarioNotificationRepository,
    ScenarioRepositoryError,
    ScenarioType,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
Conn = AsyncConnection[DictRow]


async def person(conn: Conn) -> UUID:
    user = uuid4()
    await conn.execute("insert into auth.users (id) values (%s)", [user])
    await conn.execute(
        "insert into public.users (id, display_name) values (%s, 'Kari Nordmann')", [user]
    )
    return user


async def organisation(conn: Conn) -> UUID:
    org = uuid4()
    await conn.execute(
        "insert into public.organizations (id, slug, name, certificate_type) "
        "values (%s, %s, 'Test', 'hlf_peer_mentor')",
        [org, f"t-{org.hex[:10]}"],
    )
    return org


async def record(
    repo: ScenarioNotificationRepository,
    user: UUID,
    org: UUID,
    scenario: ScenarioType = ScenarioType.INACTIVITY,
    *,
    days_ago: float = 0,
    status: DeliveryStatus = DeliveryStatus.SENT,
    milestone: int | None = None,
) -> ScenarioNotification:
    return await repo.insert_notification(
        NewScenarioNotification(
            user_id=user,
            organization_id=org,
            scenario_type=scenario,
            triggered_at=NOW - timedelta(days=days_ago),
            delivery_status=status,
            milestone_value=milestone,
            metadata={"rule": "inactivity-14d", "days_inactive": 15},
        )
    )


async def test_insert_returns_a_typed_row_that_reads_back(conn: Conn) -> None:
    repo = ScenarioNotificationRepository(conn)
    user, org = await person(conn), await organisation(conn)

    stored = await record(repo, user, org)

    assert isinstance(stored, ScenarioNotification)
    assert (stored.user_id, stored.scenario_type, stored.triggered_at) == (
        user,
        ScenarioType.INACTIVITY,
        NOW,
    )
    assert stored.metadata == {"rule": "inactivity-14d", "days_inactive": 15}
    assert await repo.get_last_sent_at(user, ScenarioType.INACTIVITY) == NOW


async def test_last_sent_at_is_none_for_someone_never_notified(conn: Conn) -> None:
    repo = ScenarioNotificationRepository(conn)

    assert await repo.get_last_sent_at(uuid4(), ScenarioType.INACTIVITY) is None


async def test_last_sent_at_is_the_most_recent_and_ignores_failed_and_other_types(
    conn: Conn,
) -> None:
    repo = ScenarioNotificationRepository(conn)
    user, org = await person(conn), await organisation(conn)
    for days in (30, 3, 10):
        await record(repo, user, org, days_ago=days)
    await record(repo, user, org, days_ago=1, status=DeliveryStatus.FAILED)
    await record(repo, user, org, ScenarioType.WELCOME_BACK, days_ago=0)

    assert await repo.get_last_sent_at(user, ScenarioType.INACTIVITY) == NOW - timedelta(days=3)


async def test_sent_since_threshold_inside_and_outside_the_window(conn: Conn) -> None:
    repo = ScenarioNotificationRepository(conn)
    user, org = await person(conn), await organisation(conn)
    await record(repo, user, org, days_ago=5)

    inside = await repo.has_been_sent_since_threshold(
        user, ScenarioType.INACTIVITY, NOW - timedelta(days=7)
    )
    outside = await repo.has_been_sent_since_threshold(
        user, ScenarioType.INACTIVITY, NOW - timedelta(days=4)
    )

    assert inside
    assert not outside


async def test_milestone_records_are_found_once_per_value(conn: Conn) -> None:
    repo = ScenarioNotificationRepository(conn)
    user, org = await person(conn), await organisation(conn)
    ten = await record(repo, user, org, ScenarioType.MILESTONE, milestone=10)

    assert await repo.get_milestone_record(user, 10) == ten
    assert await repo.get_milestone_record(user, 25) is None


async def test_a_muted_milestone_reads_back_as_skipped(conn: Conn) -> None:
    repo = ScenarioNotificationRepository(conn)
    user, org = await person(conn), await organisation(conn)
    ten = await record(repo, user, org, ScenarioType.MILESTONE, milestone=10)
    # What the dispatcher writes when the mentor muted milestones.
    await conn.execute(
        "update public.scenario_notifications set delivery_status = 'skipped' where id = %s",
        [ten.id],
    )

    stored = await repo.get_milestone_record(user, 10)

    assert stored is not None
    assert stored.delivery_status is DeliveryStatus.SKIPPED


async def test_batch_lookups_answer_for_many_people_in_one_call(conn: Conn) -> None:
    repo = ScenarioNotificationRepository(conn)
    org = await organisation(conn)
    recent, old, never = await person(conn), await person(conn), await person(conn)
    await record(repo, recent, org, days_ago=2)
    await record(repo, old, org, days_ago=40)
    await record(repo, recent, org, ScenarioType.MILESTONE, milestone=25)

    last = await repo.get_last_sent_at_many([recent, old, never], ScenarioType.INACTIVITY)
    within = await repo.have_been_sent_since_threshold(
        [recent, old, never], ScenarioType.INACTIVITY, NOW - timedelta(days=14)
    )
    milestones = await repo.get_milestone_records_many([recent, old, never], 25)

    assert last == {recent: NOW - timedelta(days=2), old: NOW - timedelta(days=40), never: None}
    assert within == {recent}
    assert set(milestones) == {recent}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"scenario_type": ScenarioType.MILESTONE}, "needs its milestone_value"),
        ({"milestone_value": 10}, "only for milestones"),
        ({"triggered_at": datetime(2026, 11, 23, 12, 0)}, "timezone-aware"),
    ],
)
def test_invalid_notifications_are_refused_before_the_database(
    changes: dict[str, Any], message: str
) -> None:
    fields: dict[str, Any] = {
        "user_id": uuid4(),
        "organization_id": uuid4(),
        "scenario_type": ScenarioType.INACTIVITY,
    }
    with pytest.raises(ValueError, match=message):
        NewScenarioNotification(**(fields | changes))


async def test_database_errors_come_out_typed_with_the_operation(conn: Conn) -> None:
    repo = ScenarioNotificationRepository(conn)
    org = await organisation(conn)

    with pytest.raises(ScenarioRepositoryError) as unknown_user:
        await record(repo, uuid4(), org)
    with pytest.raises(ScenarioRepositoryError, match=r"insert_notification: .*e-mail"):
        await repo.insert_notification(
            NewScenarioNotification(
                user_id=await person(conn),
                organization_id=org,
                scenario_type=ScenarioType.INACTIVITY,
                metadata={"contact": "kari@example.no"},
            )
        )

    assert unknown_user.value.operation == "insert_notification"
    assert unknown_user.value.constraint == "scenario_notifications_user_id_fkey"
    # The connection is still usable after the failures.
    assert await repo.get_last_sent_at(uuid4(), ScenarioType.INACTIVITY) is None


async def test_rls_lets_a_mentor_read_only_their_own_history(
    conn: Conn, impersonate: Callable[..., Any]
) -> None:
    repo = ScenarioNotificationRepository(conn)
    org = await organisation(conn)
    first, second = await person(conn), await person(conn)
    await record(repo, first, org, days_ago=1)

    async with impersonate(conn, first):
        own = await repo.get_last_sent_at(first, ScenarioType.INACTIVITY)
    async with impersonate(conn, second):
        others = await repo.get_last_sent_at(first, ScenarioType.INACTIVITY)
        cur = await conn.execute("select count(*) as n from scenario_notifications")
        visible = await cur.fetchone()

    assert own == NOW - timedelta(days=1)
    assert others is None
    assert visible == {"n": 0}


async def test_the_database_refuses_a_notification_inside_a_cooldown(conn: Conn) -> None:
    repo = ScenarioNotificationRepository(conn)
    user, org = await person(conn), await organisation(conn)

    def notice(days_ago: int) -> NewScenarioNotification:
        at = NOW - timedelta(days=days_ago)
        return NewScenarioNotification(
            user_id=user,
            organization_id=org,
            scenario_type=ScenarioType.INACTIVITY,
            triggered_at=at,
            cooldown_until=at + timedelta(days=7),
        )

    first = await repo.insert_notification(notice(10))
    with pytest.raises(CooldownActive, match="still cooling down"):
        await repo.insert_notification(notice(5))
    later = await repo.insert_notification(notice(2))

    assert first.cooldown_until == NOW - timedelta(days=3)
    assert later.triggered_at == NOW - timedelta(days=2)
