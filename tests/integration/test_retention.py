"""`maintenance prune`: old delivery records go, recent ones and scenario history stay;
settled notifications go only past a retention the operator sets."""

import asyncio
import json
from collections.abc import Coroutine
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from psycopg import AsyncConnection

from mentor_notify.db import Pool, SupabaseLayout
from mentor_notify.demo import load_seed
from mentor_notify.domain import FixedClock
from mentor_notify.expiry import ExpirySweep
from mentor_notify.maintenance import PruneResult, RetentionError, RetentionPruner
from tests.expiry_world import build_world
from tests.integration.test_cli import cli
from tests.support import fetch_column, fetch_value

T = TypeVar("T")

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

# 30 records per log, one every 20 days back from NOW: 19 are younger than a
# year (0..360 days), 11 older (380..580 days).
_FILL = """
insert into public.cert_notification_log
  (certification_id, notification_type, sent_at, recipient_id, idempotency_key, organization_id)
select c.id, 'expiry_warning_30d', %(now)s::timestamptz - make_interval(days => (g - 1) * 20),
       c.peer_mentor_id, encode(sha256(('retention-cert-' || g)::bytea), 'hex'), c.organization_id
from generate_series(1, 30) g
cross join lateral (select * from public.peer_mentor_certifications order by id limit 1) c;

insert into public.follow_up_notification_log
  (peer_mentor_id, chapter_id, scenario_rule_id, delivered_at, delivery_channel, idempotency_key,
   status, organization_id)
select m.user_id, m.chapter_id, r.id, %(now)s::timestamptz - make_interval(days => (g - 1) * 20),
       'fcm', encode(sha256(('retention-follow-up-' || g)::bytea), 'hex'), 'delivered',
       m.organization_id
from generate_series(1, 30) g
cross join lateral (
  select * from public.chapter_memberships where role = 'peer_mentor' order by id limit 1) m
cross join lateral (
  select * from public.scenario_rules
  where organization_id = m.organization_id order by id limit 1) r;

-- 30 inbox notices, one every 20 days back from NOW, every third still
-- pending: of the 11 older than a year, 7 are settled (sent, failed, skipped).
insert into public.notifications
  (organization_id, recipient_id, subject_mentor_id, category, message_key, status,
   idempotency_key, created_at)
select m.organization_id, m.user_id, m.user_id, 'inactivity', 'scenario.inactivity',
       (array['pending', 'sent', 'failed', 'pending', 'skipped', 'sent'])[1 + g % 6],
       encode(sha256(('retention-notice-' || g)::bytea), 'hex'),
       %(now)s::timestamptz - make_interval(days => (g - 1) * 20)
from generate_series(1, 30) g
cross join lateral (
  select * from public.chapter_memberships where role = 'peer_mentor' order by id limit 1) m;

-- A follow-up delivery record points at the oldest settled notice.
update public.follow_up_notification_log
set notification_id = (select id from public.notifications
                       where idempotency_key = encode(sha256('retention-notice-29'::bytea), 'hex'))
where idempotency_key = encode(sha256('retention-follow-up-29'::bytea), 'hex');
-- 30 settled pushes, one every 2 days back from NOW (16 younger than 30 days,
-- 14 older), each with a delivery; and one still pending, older than all.
with notified as (
  insert into public.notifications
    (organization_id, recipient_id, subject_mentor_id, category, message_key, idempotency_key)
  select m.organization_id, m.user_id, m.user_id, 'milestone', 'scenario.milestone',
         encode(sha256(('retention-push-' || g)::bytea), 'hex')
  from generate_series(0, 30) g
  cross join lateral (
    select * from public.chapter_memberships where role = 'peer_mentor' order by id limit 1) m
  returning id, organization_id, recipient_id, idempotency_key
),
queued as (
  insert into public.push_notices
    (organization_id, notification_id, recipient_id, payload, status, settled_at, created_at)
  select n.organization_id, n.id, n.recipient_id, '{}',
         case when g.g = 30 then 'pending' else 'sent' end,
         case when g.g < 30 then %(now)s::timestamptz - make_interval(days => g.g * 2) end,
         %(now)s::timestamptz - interval '100 days'
  from notified n
  join generate_series(0, 30) g(g)
    on n.idempotency_key = encode(sha256(('retention-push-' || g.g)::bytea), 'hex')
  returning id, organization_id, status
)
insert into public.push_deliveries (organization_id, notice_id, provider, status, sent_at)
select organization_id, id, 'fcm', 'sent', %(now)s from queued where status = 'sent';
-- 30 days of one person's push budget, one every 2 days back from NOW.
insert into public.push_budget_days (recipient_id, organization_id, local_day, used)
select m.user_id, m.organization_id, (%(now)s::timestamptz - make_interval(days => g * 2))::date, 1
from generate_series(0, 29) g
cross join lateral (
  select * from public.chapter_memberships where role = 'peer_mentor' order by id limit 1) m;
"""

# Notices created before NOW - 1 year (g = 20..30) that are settled (g % 3 != 0).
OLD_SETTLED = sum(1 for g in range(20, 31) if g % 3 != 0)
# Budget days before the push retention's cutoff (NOW - 30 days, at noon).
OLD_BUDGET_DAYS = sum(
    1
    for g in range(30)
    if datetime.combine((NOW - timedelta(days=2 * g)).date(), datetime.min.time(), UTC)
    < NOW - timedelta(days=30)
)
YEAR = timedelta(days=365)


async def _counts(pool: Pool) -> dict[str, int]:
    async with pool.connection() as conn:
        return {
            "cert": await fetch_value(conn, "select count(*) from public.cert_notification_log"),
            "follow_up": await fetch_value(
                conn, "select count(*) from public.follow_up_notification_log"
            ),
            "scenario": await fetch_value(
                conn, "select count(*) from public.scenario_notifications"
            ),
            "oldest_cert": await fetch_value(
                conn, "select min(sent_at) from public.cert_notification_log"
            ),
            "notifications": await fetch_value(conn, "select count(*) from public.notifications"),
            "pushes": await fetch_value(conn, "select count(*) from public.push_notices"),
            "deliveries": await fetch_value(conn, "select count(*) from public.push_deliveries"),
            "pending_pushes": await fetch_value(
                conn, "select count(*) from public.push_notices where status = 'pending'"
            ),
            "oldest_budget_day": await fetch_value(
                conn, "select min(local_day) from public.push_budget_days"
            ),
        }


@pytest.fixture
async def filled(own_pool: Pool, supabase_layout: SupabaseLayout) -> Pool:
    async with own_pool.connection() as conn:
        await load_seed(conn, supabase_layout)
        await conn.execute(_FILL.replace("%(now)s", "'" + NOW.isoformat() + "'"))
    return own_pool


async def test_prune_deletes_only_records_older_than_the_period_in_small_batches(
    filled: Pool,
) -> None:
    before = await _counts(filled)

    result = await RetentionPruner(filled, batch_size=4).prune(NOW, timedelta(days=365))
    after = await _counts(filled)
    again = await RetentionPruner(filled, batch_size=4).prune(NOW, timedelta(days=365))

    assert OLD_BUDGET_DAYS == 15
    assert result.deleted == {
        "cert_notification_log": 11,
        "follow_up_notification_log": 11,
        "push_notices": 14,
        "push_budget_days": OLD_BUDGET_DAYS,
    }
    assert result.cutoff == NOW - timedelta(days=365)
    # The budget's days go with the settled pushes; the cutoff's own day began
    # before the cutoff, so it goes too and the oldest left is two days later.
    assert result.cutoffs["push_budget_days"] == NOW - timedelta(days=30)
    assert after["oldest_budget_day"] == (NOW - timedelta(days=28)).date()
    # Settled pushes go after their own, shorter period (30 days by default),
    # with their deliveries; one still pending stays however old.
    assert result.cutoffs["push_notices"] == NOW - timedelta(days=30)
    assert (after["pushes"], after["deliveries"]) == (before["pushes"] - 14, 16)
    assert after["pending_pushes"] == 1
    assert after["cert"] == before["cert"] - 11
    assert after["follow_up"] == before["follow_up"] - 11
    assert after["oldest_cert"] >= NOW - timedelta(days=365)
    assert after["scenario"] == before["scenario"]  # scenario history is never pruned
    assert again.total == 0


async def test_dry_run_counts_and_deletes_nothing(filled: Pool) -> None:
    before = await _counts(filled)

    result = await RetentionPruner(filled).prune(NOW, timedelta(days=365), dry_run=True)

    assert result.dry_run
    assert result.deleted == {
        "cert_notification_log": 11,
        "follow_up_notification_log": 11,
        "push_notices": 14,
        "push_budget_days": OLD_BUDGET_DAYS,
    }
    assert await _counts(filled) == before


async def test_too_short_a_period_or_a_naive_instant_is_refused(filled: Pool) -> None:
    with pytest.raises(RetentionError, match="at least 90 days"):
        await RetentionPruner(filled).prune(NOW, timedelta(days=30))
    with pytest.raises(RetentionError, match="timezone-aware"):
        await RetentionPruner(filled).prune(NOW.replace(tzinfo=None), timedelta(days=365))
    with pytest.raises(RetentionError, match="at least 7 days"):
        await RetentionPruner(filled).prune(
            NOW, timedelta(days=365), retention={"push_notices": timedelta(days=6)}
        )
    with pytest.raises(RetentionError, match="batch size"):
        RetentionPruner(filled, batch_size=0)


async def test_cli_prunes_and_reports_as_json(filled: Pool, own_database_url: str) -> None:
    dry = await cli(
        "--database-url", own_database_url, "maintenance", "prune", "--dry-run", "--json"
    )
    bad = await cli(
        "--database-url", own_database_url, "maintenance", "prune", "--older-than", "1m"
    )
    short = await cli(
        "--database-url", own_database_url, "maintenance", "prune", "--pushes-older-than", "6d"
    )

    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.stdout)
    assert report["dry_run"] is True
    assert set(report["deleted"]) == {
        "cert_notification_log",
        "follow_up_notification_log",
        "push_notices",
        "push_budget_days",
    }
    assert short.exit_code == 2
    assert "at least 7 days" in " ".join(short.output.replace("│", " ").split())
    assert bad.exit_code == 2
    # typer boxes and wraps the message; compare its words
    assert "write a whole number and a unit" in " ".join(bad.output.replace("│", " ").split())


async def test_notifications_are_kept_unless_a_retention_is_set(filled: Pool) -> None:
    before = await _counts(filled)

    result = await RetentionPruner(filled).prune(NOW, YEAR)

    assert "notifications" not in result.deleted
    assert (await _counts(filled))["notifications"] == before["notifications"]


async def test_settled_notifications_past_their_retention_go_in_small_batches(
    filled: Pool,
) -> None:
    assert OLD_SETTLED == 7
    before = await _counts(filled)
    two_years = timedelta(days=730)

    dry = await RetentionPruner(filled).prune(
        NOW, two_years, retention={"notifications": YEAR}, dry_run=True
    )
    result = await RetentionPruner(filled, batch_size=2).prune(
        NOW, two_years, retention={"notifications": YEAR}
    )
    again = await RetentionPruner(filled, batch_size=2).prune(
        NOW, two_years, retention={"notifications": YEAR}
    )

    assert dry.deleted["notifications"] == OLD_SETTLED
    assert result.deleted["notifications"] == OLD_SETTLED
    assert result.cutoffs == {
        "cert_notification_log": NOW - two_years,
        "follow_up_notification_log": NOW - two_years,
        "notifications": NOW - YEAR,
        "push_notices": NOW - timedelta(days=30),
        "push_budget_days": NOW - timedelta(days=30),
    }
    assert again.deleted["notifications"] == 0
    async with filled.connection() as conn:
        old = await fetch_column(
            conn,
            "select status from public.notifications where created_at < %s",
            NOW - YEAR,
        )
        orphaned = await fetch_value(
            conn,
            "select notification_id is null from public.follow_up_notification_log "
            "where idempotency_key = encode(sha256('retention-follow-up-29'::bytea), 'hex')",
        )
    assert old == ["pending"] * (11 - OLD_SETTLED)  # a pending notice may still be pushed
    assert (await _counts(filled))["notifications"] == before["notifications"] - OLD_SETTLED
    # The delivery record outlives its notice (its own retention is longer here).
    assert orphaned is True


async def _without_waiting_on(
    holder: AsyncConnection[Any], url: str, work: Coroutine[Any, Any, T]
) -> T:
    """Run `work`; fail the test if it ever waits on a lock `holder` holds."""
    task = asyncio.create_task(work)
    waited = False
    async with await AsyncConnection.connect(url, autocommit=True) as watcher:
        while not task.done() and not waited:
            waited = bool(
                await fetch_value(
                    watcher,
                    "select count(*) from pg_stat_activity where %s = any (pg_blocking_pids(pid))",
                    holder.info.backend_pid,
                )
            )
            await asyncio.sleep(0.01)
    if waited:
        await holder.rollback()  # let it finish before failing
        await task
        pytest.fail("the prune waited on a row another transaction holds")
    return await task


async def test_a_notice_in_use_is_skipped_not_waited_for_and_a_rerun_takes_it(
    filled: Pool, own_database_url: str
) -> None:
    retention = {"notifications": YEAR}
    async with await AsyncConnection.connect(own_database_url) as holder:
        # The app marks the oldest settled notice read in a transaction still open.
        await holder.execute(
            "update public.notifications set seen_at = %s where created_at = "
            "(select min(created_at) from public.notifications where status <> 'pending')",
            [NOW],
        )
        result: PruneResult = await _without_waiting_on(
            holder,
            own_database_url,
            RetentionPruner(filled, batch_size=2).prune(NOW, YEAR, retention=retention),
        )
        await holder.commit()

    rerun = await RetentionPruner(filled, batch_size=2).prune(NOW, YEAR, retention=retention)

    assert result.deleted["notifications"] == OLD_SETTLED - 1
    assert rerun.deleted["notifications"] == 1


async def test_pruned_notices_do_not_make_the_sweep_tell_a_tier_again(own_pool: Pool) -> None:
    today = date(2026, 11, 23)
    clock = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
    async with own_pool.connection() as conn:
        await build_world(conn, today, {"d30": 30, "lapsed": -1})
    first = await ExpirySweep(own_pool, clock).run(today=today)
    async with own_pool.connection() as conn:
        await conn.execute("update public.notifications set status = 'sent'")
    # Long after: every notice is past a 90-day retention and goes.
    later = clock.now() + timedelta(days=120)
    pruned = await RetentionPruner(own_pool).prune(
        later, YEAR, retention={"notifications": timedelta(days=90)}
    )

    rerun = await ExpirySweep(own_pool, clock).run(today=today)
    next_day = await ExpirySweep(own_pool, clock).run(today=today + timedelta(days=1))

    assert first.total("notifications_created") > 0
    assert pruned.deleted["notifications"] == first.total("notifications_created")
    assert rerun.total("notifications_created") == 0
    assert next_day.total("notifications_created") == 0


async def test_a_bad_notification_retention_is_a_one_line_error(
    filled: Pool, own_database_url: str
) -> None:
    short = await cli(
        "--database-url",
        own_database_url,
        "maintenance",
        "prune",
        "--notifications-older-than",
        "30d",
    )
    unreadable = await cli(
        "--database-url",
        own_database_url,
        "maintenance",
        "prune",
        "--notifications-older-than",
        "forever",
    )
    with pytest.raises(RetentionError, match="no retention for 'inbox'"):
        await RetentionPruner(filled).prune(NOW, YEAR, retention={"inbox": YEAR})

    assert short.exit_code == 2
    assert "--notifications-older-than" in short.output
    assert "use at least 90 days" in " ".join(short.output.replace("│", " ").split())
    assert unreadable.exit_code == 2
    assert "write a whole number and a unit" in " ".join(
        unreadable.output.replace("│", " ").split()
    )


async def test_cli_prunes_notifications_when_asked(filled: Pool, own_database_url: str) -> None:
    result = await cli(
        "--database-url",
        own_database_url,
        "maintenance",
        "prune",
        "--json",
        "--notifications-older-than",
        "400d",
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["deleted"]["notifications"] > 0
    assert set(report["cutoffs"]) == {
        "cert_notification_log",
        "follow_up_notification_log",
        "notifications",
        "push_notices",
        "push_budget_days",
    }
