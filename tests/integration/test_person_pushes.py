"""One push per person (issue 16), against real PostgreSQL: devices read when the push is
sent, each device's own outcome, the daily budget and its digests on the organisation's
calendar, a coordinator's one digest about 40 mentors, and the scenario bookkeeping of
notices folded into a digest."""

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from psycopg.types.json import Jsonb

from mentor_notify.db import Pool
from mentor_notify.domain import FixedClock, SystemClock, push_key
from mentor_notify.expiry import ExpirySweep
from mentor_notify.expiry import sweep as sweep_module
from mentor_notify.push.dispatcher import Dispatcher
from mentor_notify.push.outbox import Claim, Outbox, Outcome
from mentor_notify.push.tokens import DeviceTokenRegistration, DeviceTokenRepository
from mentor_notify.scenarios import ScenarioType
from mentor_notify.scenarios.push_outcomes import ScenarioPushOutcomes
from tests.expiry_world import World, build_world
from tests.integration.test_dispatcher import RecordingSender
from tests.integration.test_expiry_sweep import CLOCK, TODAY
from tests.integration.test_outbox import queued_world
from tests.integration.test_push_delivery import Service, dispatch, service  # noqa: F401
from tests.integration.test_scenario_engine import add_rule, make_world, run

LEASE = timedelta(minutes=1)
# 05:00 UTC on 23 November is 06:00 in Oslo: before the default 08:00-21:00 window,
# which opens at 07:00 UTC.
EARLY = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
WINDOW_OPENS = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


async def rows(pool: Pool, query: str, *params: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        return list(await (await conn.execute(query, list(params))).fetchall())


async def value(pool: Pool, query: str, *params: Any) -> Any:
    (row,) = await rows(pool, query, *params)
    return next(iter(row.values()))


async def add_notice(
    pool: Pool,
    world: World,
    recipient: UUID,
    message_key: str,
    at: datetime,
    *,
    tier: str | None = None,
) -> UUID:
    """A notification and its push notice, queued at `at` as the enqueue statements queue
    them (`tier`: the expiry tier its payload carries)."""
    data: dict[str, Any] = {"category": "inactivity", "deep_link": "mentornotify://v1/home"}
    if tier:
        data["tier"] = tier
    payload = {
        "category": "inactivity",
        "title_key": f"{message_key}.title",
        "body_key": f"{message_key}.body",
        "priority": "high" if tier == "expired" else "normal",
        "data": data,
    }
    async with pool.connection() as conn:
        cur = await conn.execute(
            "with n as ("
            "  insert into notifications (organization_id, recipient_id, subject_mentor_id,"
            "    category, message_key, idempotency_key, created_at)"
            "  values (%s, %s, %s, 'inactivity', %s, encode(sha256(%s::bytea), 'hex'), %s)"
            "  returning id)"
            " insert into push_notices (organization_id, notification_id, recipient_id, payload,"
            "   available_at, created_at)"
            " select %s, n.id, %s, %s, %s, %s from n returning id",
            [
                world.organization_id,
                recipient,
                recipient,
                message_key,
                uuid4().bytes,
                at,
                world.organization_id,
                recipient,
                Jsonb(payload),
                at,
                at,
            ],
        )
        row = await cur.fetchone()
    assert row is not None
    return UUID(str(row["id"]))


async def lonely_world(pool: Pool, **org: Any) -> tuple[World, UUID]:
    """A world whose one mentor is not yet due (nothing queued); returns the mentor."""
    async with pool.connection() as conn:
        world = await build_world(conn, TODAY, {"m": 200})
        for column, setting in org.items():
            await conn.execute(
                f"update organizations set {column} = %s where id = %s",
                [setting, world.organization_id],
            )
    return world, world.mentors["m"].person.id


async def settle_all(outbox: Outbox, claim: Claim, at: datetime) -> None:
    await outbox.record([Outcome(p.id, "sent") for p in claim.pushes], at)


# --- devices read when the push is sent ---------------------------------------------


async def test_a_device_that_changed_hands_while_a_push_waited_never_gets_it(
    own_pool: Pool,
) -> None:
    world = await queued_world(own_pool, {"a": 30})
    mentor = world.mentors["a"]
    async with own_pool.connection() as conn:
        await conn.execute("update push_notices set available_at = %s", [EARLY])
    sender = RecordingSender()
    outbox = Outbox(own_pool, "worker-1")

    early = await Dispatcher(outbox, {"fcm": sender, "apns": sender}, FixedClock(EARLY)).run_once()
    # While the push waits for the window: the mentor's phone goes to the coordinator
    # (the app re-registers its token under them), and the mentor registers a new one.
    (old_token,) = [
        r["token"]
        for r in await rows(
            own_pool, "select token from device_tokens where user_id = %s", mentor.person.id
        )
    ]
    async with own_pool.connection() as conn:
        tokens = DeviceTokenRepository(conn)
        moved = await tokens.register(
            world.coordinator.id,
            DeviceTokenRegistration(platform="android", provider="fcm", token=old_token),
            EARLY,
        )
        new = await tokens.register(
            mentor.person.id,
            DeviceTokenRegistration(platform="android", provider="fcm", token="token-new-phone-1"),
            EARLY,
        )
    claim = await outbox.claim_batch(100, LEASE, WINDOW_OPENS)

    assert (early.held, early.sent) == (2, 0)
    assert moved.id == mentor.device_ids[0]
    to_mentor = [p for p in claim.pushes if p.recipient_id == mentor.person.id]
    to_coordinator = [p for p in claim.pushes if p.recipient_id == world.coordinator.id]
    # The mentor's push goes to the phone they own now, never to the one they gave away.
    assert [(p.device_token_id, p.token) for p in to_mentor] == [(new.id, "token-new-phone-1")]
    # The coordinator's own push goes to both their devices, the given one included.
    assert {p.device_token_id for p in to_coordinator} == {world.coordinator_device, moved.id}


async def test_each_device_has_its_own_outcome_and_a_retry_goes_only_to_the_failed_one(
    own_pool: Pool,
) -> None:
    async with own_pool.connection() as conn:
        world = await build_world(conn, TODAY, {"a": 7}, devices_per_mentor=2)
    await ExpirySweep(own_pool, CLOCK).run()
    mentor = world.mentors["a"].person.id
    outbox = Outbox(own_pool, "worker-1")
    now = CLOCK.now()

    first = [
        p for p in (await outbox.claim_batch(100, LEASE, now)).pushes if p.recipient_id == mentor
    ]
    ok, busy = sorted(first, key=lambda p: str(p.device_token_id))
    counts = await outbox.record(
        [
            Outcome(ok.id, "sent"),
            Outcome(busy.id, "retry", "UNAVAILABLE", now + timedelta(seconds=30)),
        ],
        now,
    )
    waiting = await value(own_pool, "select status from push_notices where id = %s", ok.notice_id)
    retry = [
        p
        for p in (await outbox.claim_batch(100, LEASE, now + timedelta(seconds=31))).pushes
        if p.recipient_id == mentor
    ]
    await outbox.record([Outcome(p.id, "sent") for p in retry], now + timedelta(seconds=32))
    deliveries = await rows(
        own_pool,
        "select device_token_id, status, attempts from push_deliveries where notice_id = %s",
        ok.notice_id,
    )
    notification = await value(
        own_pool,
        "select n.status from notifications n join push_notices p on p.notification_id = n.id"
        " where p.id = %s",
        ok.notice_id,
    )

    # One push to the person, a send per device, each keyed by push and device.
    assert ok.notice_id == busy.notice_id
    assert {p.device_token_id for p in first} == set(world.mentors["a"].device_ids)
    assert {p.idempotency_key for p in first} == {
        push_key(p.notice_id, p.device_token_id) for p in first
    }
    assert (counts.sent, counts.retrying) == (1, 1)
    assert waiting == "pending"
    # The retry goes to the device that failed, under the same delivery id and key.
    assert [(p.id, p.idempotency_key) for p in retry] == [(busy.id, busy.idempotency_key)]
    assert {(d["device_token_id"], d["status"], d["attempts"]) for d in deliveries} == {
        (ok.device_token_id, "sent", 1),
        (busy.device_token_id, "sent", 2),
    }
    assert notification == "sent"


async def test_a_person_without_a_device_keeps_the_inbox_notice(own_pool: Pool) -> None:
    world, mentor = await lonely_world(own_pool)
    async with own_pool.connection() as conn:
        await conn.execute("delete from device_tokens where user_id = %s", [mentor])
    await add_notice(own_pool, world, mentor, "scenario.inactivity", CLOCK.now())

    claim = await Outbox(own_pool, "w").claim_batch(10, LEASE, CLOCK.now())

    assert (claim.pushes, claim.no_device) == ([], 1)
    assert (
        await value(
            own_pool,
            "select status || ' ' || last_error from push_notices where recipient_id = %s",
            mentor,
        )
        == "skipped NO_DEVICE"
    )
    assert (
        await value(own_pool, "select status from notifications where recipient_id = %s", mentor)
        == "skipped"
    )


# --- the daily budget ---------------------------------------------------------------


async def test_past_the_budget_notices_wait_for_the_next_day_and_go_as_one_digest(
    own_pool: Pool,
) -> None:
    world, mentor = await lonely_world(own_pool)
    outbox = Outbox(own_pool, "w")
    noon = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    await add_notice(own_pool, world, mentor, "scenario.inactivity", noon)
    first = await outbox.claim_batch(10, LEASE, noon)
    await settle_all(outbox, first, noon)
    # Two more the same day: one push a day by default, so they wait.
    later = noon + timedelta(hours=3)
    await add_notice(own_pool, world, mentor, "scenario.milestone", later)
    await add_notice(
        own_pool, world, mentor, "certification_expiry.mentor.expired", later, tier="expired"
    )
    held = await outbox.claim_batch(10, LEASE, later)
    held_until = await rows(
        own_pool, "select distinct available_at from push_notices where status = 'pending'"
    )
    next_morning = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # 08:00 in Oslo
    too_soon = await outbox.claim_batch(10, LEASE, next_morning - timedelta(minutes=1))
    digest = await outbox.claim_batch(10, LEASE, next_morning)
    await settle_all(outbox, digest, next_morning)
    ledger = await rows(
        own_pool,
        "select local_day, used from push_budget_days where recipient_id = %s order by 1",
        mentor,
    )
    inbox = await rows(own_pool, "select status from notifications where recipient_id = %s", mentor)

    assert len(first.pushes) == 1
    assert (held.pushes, held.budget_held) == ([], 2)
    assert held_until == [{"available_at": next_morning}]
    assert too_soon.touched is False
    (push,) = digest.pushes
    assert digest.folded == 1
    # The carrier is the most urgent (the lapsed certificate); the body counts both.
    assert push.payload["title_key"] == "certification_expiry.mentor.expired.title"
    assert push.payload["body_key"] == "digest.body"
    assert push.payload["priority"] == "high"
    assert push.payload["data"]["count"] == 2
    assert push.payload["data"]["counts"] == {
        "certification_expiry.mentor.expired": 1,
        "scenario.milestone": 1,
    }
    assert push.payload["data"]["deep_link"] == "mentornotify://v1/inbox"
    assert (
        await value(own_pool, "select private.contains_personal_data(%s)", Jsonb(push.payload))
        is False
    )
    assert [(r["local_day"], r["used"]) for r in ledger] == [
        (date(2026, 11, 23), 1),
        (date(2026, 11, 24), 1),
    ]
    # Nothing dropped: every notice is in the inbox, all settled as sent.
    assert [r["status"] for r in inbox] == ["sent"] * 3


async def test_an_organisation_may_allow_more_pushes_a_day(own_pool: Pool) -> None:
    world, mentor = await lonely_world(own_pool, push_daily_budget=3)
    outbox = Outbox(own_pool, "w")
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    claims = []
    for hour in range(4):
        at = start + timedelta(hours=hour)
        await add_notice(own_pool, world, mentor, "scenario.inactivity", at)
        claim = await outbox.claim_batch(10, LEASE, at)
        await settle_all(outbox, claim, at)
        claims.append(claim)

    assert [len(c.pushes) for c in claims] == [1, 1, 1, 0]
    assert claims[3].budget_held == 1
    assert (
        await value(own_pool, "select used from push_budget_days where recipient_id = %s", mentor)
        == 3
    )


async def test_an_immediate_tier_goes_at_once_past_the_budget_and_counts_in_the_window(
    own_pool: Pool,
) -> None:
    world, mentor = await lonely_world(own_pool, push_immediate_tiers=["expired"])
    outbox = Outbox(own_pool, "w")
    noon = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    await add_notice(own_pool, world, mentor, "scenario.inactivity", noon)
    await settle_all(outbox, await outbox.claim_batch(10, LEASE, noon), noon)
    # Past the budget, in the window: a lapse goes at once, and counts.
    afternoon = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    await add_notice(
        own_pool, world, mentor, "certification_expiry.mentor.expired", afternoon, tier="expired"
    )
    await settle_all(outbox, await outbox.claim_batch(10, LEASE, afternoon), afternoon)
    # Past the budget, at night (outside the window): a lapse still goes at once, and
    # spends nothing, for no budget governs the hours outside the window.
    night = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
    await add_notice(own_pool, world, mentor, "scenario.milestone", night)
    await add_notice(
        own_pool, world, mentor, "certification_expiry.mentor.expired", night, tier="expired"
    )
    claim = await outbox.claim_batch(10, LEASE, night)

    (push,) = claim.pushes
    assert push.payload["title_key"] == "certification_expiry.mentor.expired.title"
    # The milestone waits for the window (it is no immediate tier); nothing is lost.
    assert claim.held == 1
    assert (
        await value(own_pool, "select used from push_budget_days where recipient_id = %s", mentor)
        == 2
    )


async def test_an_immediate_push_at_night_leaves_the_day_s_budget_to_its_window(
    own_pool: Pool,
) -> None:
    # A coordinator told at 00:05 (Oslo) about a 7-day certificate, an immediate tier,
    # gets that day's regular 30-day notices in that day's 08:00 window all the same.
    world, mentor = await lonely_world(own_pool, push_immediate_tiers=["expiry_warning_7d"])
    outbox = Outbox(own_pool, "w")
    five_past_midnight = datetime(2026, 11, 22, 23, 5, tzinfo=UTC)  # 00:05 on 23 November
    await add_notice(
        own_pool,
        world,
        mentor,
        "certification_expiry.mentor.expiry_warning_7d",
        five_past_midnight,
        tier="expiry_warning_7d",
    )
    for key in ("certification_expiry.mentor.expiry_warning_30d", "scenario.inactivity"):
        await add_notice(
            own_pool, world, mentor, key, five_past_midnight, tier="expiry_warning_30d"
        )
    at_night = await outbox.claim_batch(10, LEASE, five_past_midnight)
    await settle_all(outbox, at_night, five_past_midnight)
    in_the_window = await outbox.claim_batch(10, LEASE, WINDOW_OPENS)

    assert [p.payload["title_key"] for p in at_night.pushes] == [
        "certification_expiry.mentor.expiry_warning_7d.title"
    ]
    assert at_night.held == 2
    # At 08:00 the same local day: one push (a digest of both), not held to the next day.
    (push,) = in_the_window.pushes
    assert (in_the_window.budget_held, in_the_window.folded) == (0, 1)
    assert push.payload["data"]["count"] == 2
    ledger = await rows(
        own_pool, "select local_day, used from push_budget_days where recipient_id = %s", mentor
    )
    assert [(r["local_day"], r["used"]) for r in ledger] == [(date(2026, 11, 23), 1)]


async def test_the_budget_follows_the_organisation_s_calendar_day(own_pool: Pool) -> None:
    # Kiritimati is UTC+14: its day turns at 10:00 UTC. No send window, to see the day alone.
    world, mentor = await lonely_world(
        own_pool, timezone="Pacific/Kiritimati", push_window_start="00:00", push_window_end="00:00"
    )
    outbox = Outbox(own_pool, "w")
    before_midnight = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # 23:30 local, 23 November
    await add_notice(own_pool, world, mentor, "scenario.inactivity", before_midnight)
    await settle_all(outbox, await outbox.claim_batch(10, LEASE, before_midnight), before_midnight)
    last_minute = datetime(2026, 11, 23, 9, 59, tzinfo=UTC)
    await add_notice(own_pool, world, mentor, "scenario.milestone", last_minute)
    held = await outbox.claim_batch(10, LEASE, last_minute)
    waits_until = await value(
        own_pool, "select available_at from push_notices where status = 'pending'"
    )
    midnight = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 00:00 local, 24 November
    after = await outbox.claim_batch(10, LEASE, midnight)
    ledger = await rows(
        own_pool,
        "select local_day, used from push_budget_days where recipient_id = %s order by 1",
        mentor,
    )

    assert held.budget_held == 1
    assert waits_until == midnight
    assert len(after.pushes) == 1
    assert [(r["local_day"], r["used"]) for r in ledger] == [
        (date(2026, 11, 23), 1),
        (date(2026, 11, 24), 1),
    ]


# --- a coordinator's one digest -------------------------------------------------------


async def test_a_coordinator_with_40_mentors_due_gets_one_digest(
    own_pool: Pool,
    service: Service,  # noqa: F811
) -> None:
    world = await queued_world(own_pool, {f"m{n}": 7 for n in range(40)})
    coordinator_token = await value(
        own_pool, "select token from device_tokens where id = %s", world.coordinator_device
    )

    result = await dispatch(own_pool, service)

    to_coordinator = [d for d in service.emulator.delivered if d["token"] == coordinator_token]
    inbox = await rows(
        own_pool,
        "select message_key, status from notifications where recipient_id = %s",
        world.coordinator.id,
    )

    assert result.sent == 41  # 40 mentors and the coordinator, one device each
    (digest,) = to_coordinator  # exactly one push to the coordinator
    # The inbox keeps one notice per mentor; the push counts them by message key.
    assert len(inbox) == 40
    assert Counter(r["status"] for r in inbox) == {"sent": 40}
    assert digest["message"]["count"] == 40
    assert digest["message"]["counts"] == Counter(r["message_key"] for r in inbox)
    assert digest["message"]["deep_link"] == "mentornotify://v1/mentors/renewals"
    assert digest["message"]["aps"]["alert"]["loc-key"] == "digest.body"


# --- scenario bookkeeping -------------------------------------------------------------


async def test_a_follow_up_folded_into_a_digest_is_settled_with_it(own_pool: Pool) -> None:
    world = await make_world(own_pool, {"quiet": 7})
    quiet = world.mentors["quiet"].person.id
    await add_rule(own_pool, world, "inactivity", {"inactivity_days": 30})
    await ExpirySweep(own_pool, CLOCK).run()
    await run(own_pool, ScenarioType.INACTIVITY)
    async with own_pool.connection() as conn:
        await conn.execute("update organizations set push_window_start = push_window_end")
    outbox = Outbox(own_pool, "w")
    now = SystemClock().now() + timedelta(minutes=1)

    claim = await outbox.claim_batch(100, LEASE, now)
    (push,) = [p for p in claim.pushes if p.recipient_id == quiet]
    reaction = ScenarioPushOutcomes(own_pool)
    for _ in range(2):  # reported twice, as a dispatcher does: settled, then reacted to
        counts = await outbox.record([Outcome(p.id, "sent") for p in claim.pushes], now)
        await reaction.settled(counts.settled_notifications, now)
    log = await rows(
        own_pool, "select peer_mentor_id, status, delivery_channel from follow_up_notification_log"
    )
    scenario = await rows(own_pool, "select delivery_status from scenario_notifications")
    notices = await rows(
        own_pool,
        "select p.status, n.status as notification from push_notices p"
        " join notifications n on n.id = p.notification_id where p.recipient_id = %s",
        quiet,
    )

    # The expiry notice (more urgent) carried the push; the nudge was folded into it.
    keys = await rows(
        own_pool, "select message_key from notifications where recipient_id = %s", quiet
    )
    assert push.payload["data"]["counts"] == Counter(r["message_key"] for r in keys)
    assert push.payload["data"]["count"] == 2
    assert push.payload["title_key"].startswith("certification_expiry.")
    assert sorted((n["status"], n["notification"]) for n in notices) == [
        ("folded", "sent"),
        ("sent", "sent"),
    ]
    assert [r["delivery_status"] for r in scenario] == ["sent"]
    assert [(r["peer_mentor_id"], r["status"], r["delivery_channel"]) for r in log] == [
        (quiet, "delivered", "fcm")
    ]


async def test_a_device_deleted_while_a_claim_reads_it_is_left_out_not_an_error(
    own_pool: Pool,
) -> None:
    """The claim reads the recipient's devices, then writes a delivery row per device,
    whose foreign key checks the device again. A device deleted (its token unregistered)
    between the two makes that check fail; the claim is tried again and the device is
    simply no longer among the recipient's."""
    world = await queued_world(own_pool, {"a": 30})
    mentor = world.mentors["a"].person.id
    (device,) = world.mentors["a"].device_ids
    async with own_pool.connection() as conn:
        await conn.execute("update push_notices set available_at = %s", [WINDOW_OPENS])
    outbox = Outbox(own_pool, "worker-1")

    async with own_pool.connection() as deleting:
        # The deletion holds the device row until it commits; the claim's foreign-key
        # check waits on it, then finds the row gone.
        await deleting.execute("delete from device_tokens where id = %s", [device])
        claiming = asyncio.create_task(outbox.claim_batch(100, LEASE, WINDOW_OPENS))
        await asyncio.sleep(1)
        blocked = await rows(
            own_pool,
            "select wait_event_type, left(query, 40) as q from pg_stat_activity"
            " where datname = current_database() and pid <> pg_backend_pid()",
        )
        await deleting.commit()
    claim = await claiming

    assert {"wait_event_type": "Lock", "q": '-- Stage "claim" of the claim statement '} in blocked
    assert [p for p in claim.pushes if p.recipient_id == mentor] == []
    assert (
        await value(
            own_pool,
            "select p.last_error from push_notices p"
            " join notifications n on n.id = p.notification_id where n.recipient_id = %s",
            mentor,
        )
        == "NO_DEVICE"
    )


async def test_a_large_sweep_refreshes_the_statistics_of_the_queue_it_grew(
    own_pool: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past `ANALYZE_AFTER` notices (lowered here to the two this world makes) the sweep
    analyses what it wrote, so the dispatcher's next claim is planned for the queue as
    it now is. `reltuples` is -1 until a table is first analysed."""
    async with own_pool.connection() as conn:
        await build_world(conn, TODAY, {"a": 7})
    never = await value(own_pool, "select reltuples from pg_class where relname = 'push_notices'")
    monkeypatch.setattr(sweep_module, "ANALYZE_AFTER", 2)

    await ExpirySweep(own_pool, CLOCK).run()

    assert never == -1
    assert (
        await value(own_pool, "select reltuples from pg_class where relname = 'push_notices'") == 2
    )
