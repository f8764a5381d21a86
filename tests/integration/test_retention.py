"""`maintenance prune`: old delivery records go, recent ones and scenario history stay."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from mentor_notify.db import Pool, SupabaseLayout
from mentor_notify.demo import load_seed
from mentor_notify.maintenance import RetentionError, RetentionPruner
from tests.integration.test_cli import cli
from tests.support import fetch_value

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
"""


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
            "pushes": await fetch_value(conn, "select count(*) from public.push_notices"),
            "deliveries": await fetch_value(conn, "select count(*) from public.push_deliveries"),
            "pending_pushes": await fetch_value(
                conn, "select count(*) from public.push_notices where status = 'pending'"
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

    assert result.deleted == {
        "cert_notification_log": 11,
        "follow_up_notification_log": 11,
        "push_notices": 14,
    }
    assert result.cutoff == NOW - timedelta(days=365)
    # Settled pushes go after their own, shorter period (30 days by default),
    # with their deliveries; one still pending stays however old.
    assert result.push_cutoff == NOW - timedelta(days=30)
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
    }
    assert await _counts(filled) == before


async def test_too_short_a_period_or_a_naive_instant_is_refused(filled: Pool) -> None:
    with pytest.raises(RetentionError, match="at least 90 days"):
        await RetentionPruner(filled).prune(NOW, timedelta(days=30))
    with pytest.raises(RetentionError, match="timezone-aware"):
        await RetentionPruner(filled).prune(NOW.replace(tzinfo=None), timedelta(days=365))
    with pytest.raises(RetentionError, match="at least 7 days"):
        await RetentionPruner(filled).prune(
            NOW, timedelta(days=365), pushes_older_than=timedelta(days=6)
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
    }
    assert short.exit_code == 2
    assert "at least 7 days" in " ".join(short.output.replace("│", " ").split())
    assert bad.exit_code == 2
    # typer boxes and wraps the message; compare its words
    assert "write a whole number and a unit" in " ".join(bad.output.replace("│", " ").split())
