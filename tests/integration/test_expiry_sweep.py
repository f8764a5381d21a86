"""The daily expiry sweep against real PostgreSQL: tiers, recipients, keys, payloads,
directory visibility, exactly-once under re-runs and concurrency, dry runs."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import structlog

from mentor_notify.config import Settings
from mentor_notify.db import Pool, open_pool
from mentor_notify.domain import (
    FixedClock,
    Tier,
    cert_log_key,
    classify_tier,
    expiry_notification_key,
    parse_deep_link,
)
from mentor_notify.domain.expiry_messages import Audience, expiry_message
from mentor_notify.expiry import ExpirySweep, SweepResult
from tests.expiry_world import World, build_world
from tests.support import fetch_column, fetch_value

TODAY = date(2026, 11, 23)
# 11:00 UTC is 12:00 in Oslo: the same local date, inside the default send window.
CLOCK = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
TIER_OFFSETS = {"d60": 60, "d30": 30, "d7": 7, "lapsed": -1, "far": 61}


async def make_world(pool: Pool, today: date = TODAY, **kwargs: Any) -> World:
    offsets = kwargs.pop("offsets", TIER_OFFSETS)
    async with pool.connection() as conn:
        return await build_world(conn, today, offsets, **kwargs)


async def sweep(pool: Pool, today: date | None = None, **kwargs: Any) -> SweepResult:
    return await ExpirySweep(pool, CLOCK).run(today=today, **kwargs)


async def counts(pool: Pool) -> dict[str, int]:
    async with pool.connection() as conn:
        return {
            table: await fetch_value(conn, f"select count(*) from public.{table}")
            for table in ("notifications", "cert_notification_log", "push_notices")
        }


async def test_each_tier_notifies_mentor_and_coordinator_once(own_pool: Pool) -> None:
    world = await make_world(own_pool)

    result = await sweep(own_pool)

    (org,) = result.organisations
    assert result.ok
    assert org.due_by_tier == {
        "expiry_warning_60d": 1,
        "expiry_warning_30d": 1,
        "expiry_warning_7d": 1,
        "expired": 1,
    }
    assert org.notifications_created == 8  # mentor + coordinator for four certificates
    assert org.log_entries == 8
    assert org.pushes_queued == 8  # one device each
    assert org.certificates_marked == 4
    async with own_pool.connection() as conn:
        rows = await (
            await conn.execute(
                "select subject_mentor_id, recipient_id, threshold_tier, status, message_key "
                "from public.notifications order by threshold_tier, recipient_id"
            )
        ).fetchall()
        sent = await fetch_value(
            conn,
            "select notification_thresholds_sent from public.certification_expiry_tracking "
            "where certification_id = %s",
            world.mentors["d30"].certification_id,
        )
    by_mentor = {(r["subject_mentor_id"], r["recipient_id"]): r for r in rows}
    for label, tier in (
        ("d60", Tier.WARNING_60D),
        ("d30", Tier.WARNING_30D),
        ("d7", Tier.WARNING_7D),
        ("lapsed", Tier.EXPIRED),
    ):
        mentor = world.mentors[label].person.id
        own = by_mentor[(mentor, mentor)]
        told = by_mentor[(mentor, world.coordinator.id)]
        assert (own["threshold_tier"], own["status"]) == (tier.value, "pending")
        assert own["message_key"] == f"certification_expiry.mentor.{tier.value}"
        assert told["message_key"] == f"certification_expiry.coordinator.{tier.value}"
    assert world.mentors["far"].person.id not in {r["subject_mentor_id"] for r in rows}
    assert sent == [30]


async def test_keys_payloads_and_deep_links_match_the_python_contract(own_pool: Pool) -> None:
    world = await make_world(own_pool, offsets={"d7": 7})
    mentor = world.mentors["d7"]

    await sweep(own_pool)

    async with own_pool.connection() as conn:
        notification = await (
            await conn.execute(
                "select id, idempotency_key, data from public.notifications "
                "where recipient_id = %s",
                [mentor.person.id],
            )
        ).fetchone()
        log_key = await fetch_value(
            conn,
            "select idempotency_key from public.cert_notification_log where recipient_id = %s",
            mentor.person.id,
        )
        push = await (
            await conn.execute(
                "select payload, collapse_key from public.push_notices where recipient_id = %s",
                [mentor.person.id],
            )
        ).fetchone()
        coordinator_link = await fetch_value(
            conn,
            "select data ->> 'deep_link' from public.notifications where recipient_id = %s",
            world.coordinator.id,
        )
    assert notification is not None
    assert push is not None
    tier = Tier.WARNING_7D
    assert notification["idempotency_key"] == expiry_notification_key(
        mentor.certification_id, tier, mentor.expiry_date, mentor.person.id
    )
    assert log_key == cert_log_key(
        mentor.certification_id, tier, mentor.expiry_date, mentor.person.id
    )
    message = expiry_message(
        Audience.MENTOR,
        mentor.person.id,
        mentor.certification_id,
        "hlf_peer_mentor",
        tier,
        mentor.expiry_date,
    )
    assert push["payload"] == {
        "category": "certification_expiry",
        "title_key": f"{message.message_key}.title",
        "body_key": f"{message.message_key}.body",
        "priority": "high",
        "data": {
            "notification_id": str(notification["id"]),
            "category": "certification_expiry",
            "tier": tier.value,
            "certificate_type": "hlf_peer_mentor",
            "certification_id": str(mentor.certification_id),
            "subject_mentor_id": str(mentor.person.id),
            "expiry_date": mentor.expiry_date.isoformat(),
            "deep_link": message.deep_link,
        },
    }
    assert push["collapse_key"] == f"expiry:{mentor.certification_id}"
    link = parse_deep_link(notification["data"]["deep_link"])
    assert link.route == "course-enrolment"
    assert link.params["certification_id"] == str(mentor.certification_id)
    assert parse_deep_link(coordinator_link).route == f"mentors/{mentor.person.id}/certification"


async def test_tier_in_sql_agrees_with_classify_tier_on_every_day(own_pool: Pool) -> None:
    thresholds = (90, 60, 30, 7)
    offsets = {f"o{n}": n for n in range(-3, 96)}
    world = await make_world(own_pool, offsets=offsets, thresholds=thresholds)

    await sweep(own_pool)

    async with own_pool.connection() as conn:
        rows = await (
            await conn.execute(
                "select c.id, n.threshold_tier from public.peer_mentor_certifications c "
                "left join public.notifications n "
                "  on n.subject_mentor_id = c.peer_mentor_id and n.recipient_id = c.peer_mentor_id "
                "where c.organization_id = %s",
                [world.organization_id],
            )
        ).fetchall()
    stored = {r["id"]: r["threshold_tier"] for r in rows}
    for mentor in world.mentors.values():
        expected = classify_tier(mentor.expiry_date, TODAY, thresholds)
        assert stored[mentor.certification_id] == (expected.value if expected else None), (
            mentor.expiry_date
        )


async def test_rerun_and_later_days_in_the_same_window_add_nothing(own_pool: Pool) -> None:
    world = await make_world(own_pool, offsets={"first_seen_at_20": 20})
    mentor = world.mentors["first_seen_at_20"]

    first = await sweep(own_pool)
    after_first = await counts(own_pool)
    again = await sweep(own_pool)
    next_days = [await sweep(own_pool, TODAY + timedelta(days=d)) for d in (1, 5, 12)]
    after_window = await counts(own_pool)
    urgent = await sweep(own_pool, TODAY + timedelta(days=13))  # 7 days left

    assert first.organisations[0].due_by_tier == {"expiry_warning_30d": 1}
    assert after_first == {"notifications": 2, "cert_notification_log": 2, "push_notices": 2}
    assert again.total("notifications_created") == 0
    assert all(r.total("certificates_due") == 0 for r in next_days)
    assert after_window == after_first
    assert urgent.organisations[0].due_by_tier == {"expiry_warning_7d": 1}
    async with own_pool.connection() as conn:
        tiers = await fetch_column(
            conn,
            "select threshold_tier from public.notifications where recipient_id = %s "
            "order by created_at, threshold_tier",
            mentor.person.id,
        )
    assert sorted(tiers) == ["expiry_warning_30d", "expiry_warning_7d"]  # never a late 60-day


async def test_missing_coordinator_falls_back_to_chapter_admins(own_pool: Pool) -> None:
    world = await make_world(own_pool, offsets={"alone": 7}, without_coordinator=("alone",))
    mentor = world.mentors["alone"]

    with structlog.testing.capture_logs() as logs:
        result = await sweep(own_pool)

    (org,) = result.organisations
    assert [(f.mentor_id, f.fallback_recipients) for f in org.missing_coordinator] == [
        (mentor.person.id, 1)
    ]
    async with own_pool.connection() as conn:
        recipients = await fetch_column(
            conn,
            "select data ->> 'audience' from public.notifications where subject_mentor_id = %s "
            "order by 1",
            mentor.person.id,
        )
    assert recipients == ["chapter_admin", "mentor"]
    assert {
        "event": "missing_coordinator_assignment",
        "mentor_id": str(mentor.person.id),
        "certification_id": str(mentor.certification_id),
        "fallback_recipients": 1,
        "log_level": "warning",
    } in logs


async def test_lapsed_mentors_are_hidden_and_shown_again_after_renewal(own_pool: Pool) -> None:
    world = await make_world(own_pool, offsets={"lapsed": -1, "valid": 200})
    lapsed = world.mentors["lapsed"]

    hidden = await sweep(own_pool)
    async with own_pool.connection() as conn:
        status = await fetch_value(
            conn,
            "select suppression_status || '/' || suppression_reason from public.mentor_directory "
            "where peer_mentor_id = %s",
            lapsed.person.id,
        )
        await conn.execute(
            "update public.peer_mentor_certifications set expiry_date = %s where id = %s",
            [TODAY + timedelta(days=365), lapsed.certification_id],
        )
        await conn.commit()
        tracking = await (
            await conn.execute(
                "select notification_thresholds_sent, last_notified_at "
                "from public.certification_expiry_tracking where certification_id = %s",
                [lapsed.certification_id],
            )
        ).fetchone()
        history = await fetch_value(
            conn,
            "select renewal_history from public.peer_mentor_certifications where id = %s",
            lapsed.certification_id,
        )
    shown = await sweep(own_pool)
    async with own_pool.connection() as conn:
        after = await fetch_value(
            conn,
            "select suppression_status from public.mentor_directory where peer_mentor_id = %s",
            lapsed.person.id,
        )

    assert hidden.organisations[0].mentors_suppressed == 1
    assert status == "suppressed/certification_lapsed"
    assert tracking == {"notification_thresholds_sent": [], "last_notified_at": None}
    assert [entry["schema_version"] for entry in history] == [1]
    assert history[0]["new_expiry_date"] == (TODAY + timedelta(days=365)).isoformat()
    assert shown.organisations[0].mentors_restored == 1
    assert after == "active"


async def test_manual_suppression_is_never_lifted(own_pool: Pool) -> None:
    world = await make_world(own_pool, offsets={"valid": 200})
    mentor = world.mentors["valid"]
    async with own_pool.connection() as conn:
        await conn.execute(
            "update public.mentor_directory set suppression_status = 'suppressed', "
            "suppression_reason = 'manual', suppressed_at = now() where peer_mentor_id = %s",
            [mentor.person.id],
        )

    result = await sweep(own_pool)

    async with own_pool.connection() as conn:
        status = await fetch_value(
            conn,
            "select suppression_reason from public.mentor_directory where peer_mentor_id = %s",
            mentor.person.id,
        )
    assert result.organisations[0].mentors_restored == 0
    assert status == "manual"


async def test_dry_run_lists_what_would_be_sent_and_changes_nothing(own_pool: Pool) -> None:
    await make_world(own_pool)
    before = await counts(own_pool)

    dry = await sweep(own_pool, dry_run=True)

    assert await counts(own_pool) == before
    (org,) = dry.organisations
    assert dry.dry_run
    assert org.notifications_created == 8
    assert len(org.planned) == 8
    assert {p.audience for p in org.planned} == {Audience.MENTOR, Audience.COORDINATOR}
    real = await sweep(own_pool)
    assert real.organisations[0].notifications_created == 8  # the dry run marked nothing


async def test_large_renewal_history_is_reported(own_pool: Pool) -> None:
    world = await make_world(own_pool, offsets={"renewed_often": 30})
    mentor = world.mentors["renewed_often"]
    async with own_pool.connection() as conn:
        await conn.execute(
            "update public.peer_mentor_certifications set renewal_history = ("
            "  select jsonb_agg(jsonb_build_object('schema_version', 1)) "
            "  from generate_series(1, 501)) where id = %s",
            [mentor.certification_id],
        )

    result = await sweep(own_pool)

    assert result.organisations[0].large_renewal_histories == [mentor.certification_id]


async def test_organisation_filter_and_unknown_organisation(own_pool: Pool) -> None:
    first = await make_world(own_pool, offsets={"a": 7}, slug="first-org")
    await make_world(own_pool, offsets={"b": 7}, slug="second-org")

    only_first = await sweep(own_pool, organisations=["first-org"])
    by_id = await sweep(own_pool, organisations=[str(first.organization_id)])

    assert [o.slug for o in only_first.organisations] == ["first-org"]
    assert only_first.total("notifications_created") == 2
    assert [o.slug for o in by_id.organisations] == ["first-org"]
    assert by_id.total("notifications_created") == 0
    with pytest.raises(Exception, match="no organisation matches nope"):
        await sweep(own_pool, organisations=["nope"])


async def test_a_failing_certificate_does_not_stop_the_others(own_pool: Pool) -> None:
    world = await make_world(own_pool, offsets={"good": 7, "poisoned": 30, "also_good": -1})
    poisoned = world.mentors["poisoned"]
    async with own_pool.connection() as conn:
        # Fault injection: the database refuses any notice about one mentor.
        await conn.execute(
            f"""
            create function public.test_poison() returns trigger language plpgsql as $$
            begin
              if new.subject_mentor_id = '{poisoned.person.id}' then
                raise exception 'injected failure' using errcode = 'check_violation';
              end if;
              return new;
            end $$;
            create trigger poison before insert on public.notifications
              for each row execute function public.test_poison();
            """
        )

    result = await sweep(own_pool)

    (org,) = result.organisations
    assert not result.ok
    assert [(f.certification_id, f.tier) for f in org.failed] == [
        (poisoned.certification_id, Tier.WARNING_30D)
    ]
    assert org.notifications_created == 4
    async with own_pool.connection() as conn:
        notified = set(
            await fetch_column(conn, "select distinct subject_mentor_id from public.notifications")
        )
        marked = await fetch_value(
            conn,
            "select notification_thresholds_sent from public.certification_expiry_tracking "
            "where certification_id = %s",
            poisoned.certification_id,
        )
    assert notified == {world.mentors["good"].person.id, world.mentors["also_good"].person.id}
    assert marked == []  # left for the next run


async def test_eight_concurrent_sweeps_write_what_one_writes(own_database_url: str) -> None:
    settings = Settings(pool_min_size=1, pool_max_size=2)
    async with open_pool(own_database_url, settings) as setup_pool:
        await make_world(
            setup_pool, offsets={f"m{n}": n for n in range(-5, 65)}, devices_per_mentor=2
        )
        before = await counts(setup_pool)
        planned = await sweep(setup_pool, dry_run=True)

    async def one_sweep() -> SweepResult:
        async with open_pool(own_database_url, settings) as pool:
            return await sweep(pool)

    results = await asyncio.gather(*(one_sweep() for _ in range(8)))

    async with open_pool(own_database_url, settings) as pool:
        after = await counts(pool)
        async with pool.connection() as conn:
            duplicates = await fetch_value(
                conn,
                "select count(*) from (select subject_mentor_id, threshold_tier, recipient_id "
                "from public.notifications group by 1, 2, 3 having count(*) > 1) d",
            )
    one_run = len(planned.organisations[0].planned)
    assert before["notifications"] == 0
    assert after["notifications"] == one_run
    assert sum(r.total("notifications_created") for r in results) == one_run
    # The locks let exactly one copy find each certificate due: every due
    # certificate gets two notices (mentor, coordinator), each queued for push
    # once (its devices are read when it is sent).
    due = sum(r.total("certificates_due") for r in results)
    assert after["notifications"] == 2 * due
    assert after["push_notices"] == 2 * due
    assert duplicates == 0


async def test_slicing_an_organisation_changes_nothing_but_speed(own_pool: Pool) -> None:
    await make_world(own_pool, offsets={f"m{n}": n for n in range(-3, 62)})

    planned = await ExpirySweep(own_pool, CLOCK, partitions=1).run(dry_run=True)
    done = await ExpirySweep(own_pool, CLOCK, partitions=3).run()

    async with own_pool.connection() as conn:
        rows = await (
            await conn.execute(
                "select subject_mentor_id, recipient_id, threshold_tier from public.notifications"
            )
        ).fetchall()
    notices = planned.organisations[0].planned
    expected = {(p.mentor_id, p.recipient_id, p.tier.value) for p in notices}
    assert {(r["subject_mentor_id"], r["recipient_id"], r["threshold_tier"]) for r in rows} == (
        expected
    )
    assert done.organisations[0].notifications_created == len(expected)
    with pytest.raises(ValueError, match="at least 1"):
        ExpirySweep(own_pool, CLOCK, partitions=0)


async def test_small_batches_write_what_one_batch_writes(own_pool: Pool) -> None:
    # The sweep makes its records a batch at a time from the fetched rows: with
    # batches of two, every due certificate (first, middle and last batch) is
    # written once, with its pushes and its tier mark.
    await make_world(own_pool, offsets={f"m{n}": n for n in range(-3, 62)})

    planned = await ExpirySweep(own_pool, CLOCK, partitions=1).run(dry_run=True)
    done = await ExpirySweep(own_pool, CLOCK, partitions=1, batch_size=2).run()

    async with own_pool.connection() as conn:
        rows = await (
            await conn.execute(
                "select subject_mentor_id, recipient_id, threshold_tier from public.notifications"
            )
        ).fetchall()
        marked = await fetch_value(
            conn,
            "select count(*) from public.certification_expiry_tracking "
            "where notification_thresholds_sent <> '{}'",
        )
    expected = {
        (p.mentor_id, p.recipient_id, p.tier.value) for p in planned.organisations[0].planned
    }
    assert len(expected) > 4
    assert {(r["subject_mentor_id"], r["recipient_id"], r["threshold_tier"]) for r in rows} == (
        expected
    )
    result = done.organisations[0]
    assert result.notifications_created == len(rows) == len(expected)
    assert result.certificates_marked == marked == result.certificates_due
    assert result.pushes_queued == planned.organisations[0].pushes_queued


async def test_the_admin_fallback_is_written_by_the_orchestrator_with_the_coordinator_texts(
    own_pool: Pool,
) -> None:
    world = await make_world(own_pool, offsets={"alone": 7}, without_coordinator=("alone",))
    mentor = world.mentors["alone"]

    await sweep(own_pool)

    async with own_pool.connection() as conn:
        cur = await conn.execute(
            "select message_key, data, idempotency_key from public.notifications "
            "where recipient_id = %s",
            [world.admin.id],
        )
        (notice,) = await cur.fetchall()
        logged = await fetch_value(
            conn,
            "select idempotency_key from public.cert_notification_log where recipient_id = %s",
            world.admin.id,
        )
    assert notice["message_key"] == "certification_expiry.coordinator.expiry_warning_7d"
    assert notice["data"]["audience"] == "chapter_admin"
    assert parse_deep_link(notice["data"]["deep_link"]).route == (
        f"mentors/{mentor.person.id}/certification"
    )
    assert notice["idempotency_key"] == expiry_notification_key(
        mentor.certification_id, Tier.WARNING_7D, mentor.expiry_date, world.admin.id
    )
    assert logged == cert_log_key(
        mentor.certification_id, Tier.WARNING_7D, mentor.expiry_date, world.admin.id
    )
