"""Metrics where the work happens: `push dispatch --metrics-port` serves GET /metrics
with its own counts and the database's figures; the database gauges read the queue,
the dead letters, the last successful cycle and the data-quality findings."""

import asyncio
import contextlib
import re
import signal
import socket
import subprocess
from datetime import UTC, datetime, timedelta

import httpx

from mentor_notify.config import Settings
from mentor_notify.daily import DailyCycle
from mentor_notify.db import Pool, open_pool
from mentor_notify.domain import FixedClock
from mentor_notify.expiry import ExpirySweep
from mentor_notify.metrics import DatabaseGauges, Metrics
from tests.integration.test_dispatch_processes import (  # noqa: F401 - fixture
    MENTOR_NOTIFY,
    dispatcher,
    emulator_url,
    queue,
)
from tests.integration.test_expiry_sweep import CLOCK, TODAY
from tests.integration.test_outbox import queued_world
from tests.support import free_port


def sample(text: str, name: str, labels: str = "") -> float | None:
    """The value of one sample in an exposition text, None when absent."""
    pattern = re.escape(name) + (re.escape("{" + labels + "}") if labels else "") + r" (\S+)"
    match = re.search(r"^" + pattern + "$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


async def test_push_dispatch_serves_its_counts_and_the_database_figures(
    own_pool: Pool,
    own_database_url: str,
    emulator_url: str,  # noqa: F811
) -> None:
    queued = await queue(own_pool, 5)
    port = free_port()
    process = dispatcher(own_database_url, emulator_url, "--metrics-port", str(port))
    try:
        async with asyncio.timeout(60), httpx.AsyncClient() as client:
            while True:
                seen = (await client.get(f"{emulator_url}/emulator/deliveries")).json()
                text = ""
                with contextlib.suppress(httpx.TransportError):
                    text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                if (
                    sum(seen["counts"].values()) >= queued
                    and sample(text, "mentor_notify_push_due") == 0
                    and sample(text, "mentor_notify_push_settled_total", 'outcome="sent"')
                ):
                    break
                await asyncio.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)

    assert process.returncode == 0
    sent = sum(
        float(v)
        for v in re.findall(
            r'^mentor_notify_push_send_attempts_total\{answer="2xx",kind="person",'
            r'outcome="sent",provider="(?:fcm|apns)"\} (\S+)$',
            text,
            re.MULTILINE,
        )
    )
    assert sent == queued
    assert sample(text, "mentor_notify_push_settled_total", 'outcome="sent"') == queued
    assert (sample(text, "mentor_notify_push_claims_total", 'result="claimed"') or 0) >= 1
    assert sample(text, "mentor_notify_push_duplicate_sends_total") == 0
    assert sample(text, "mentor_notify_push_notices", 'status="pending"') == 0
    assert sample(text, "mentor_notify_push_notices", 'status="sent"') is None
    assert sample(text, "mentor_notify_push_oldest_due_age_seconds") == 0
    assert sample(text, "mentor_notify_metrics_database_up") == 1
    assert "mentor_notify_push_send_duration_seconds_bucket" in text


async def test_the_database_gauges_read_queue_dead_letters_cycles_and_findings(
    own_pool: Pool,
) -> None:
    await queued_world(own_pool, {"a": 7, "b": 30})
    due_since = CLOCK.now() - timedelta(minutes=10)
    async with own_pool.connection() as conn:
        await conn.execute(
            "update push_notices set available_at = %s where status = 'pending'", (due_since,)
        )
        await conn.execute(
            "insert into certificate_sync_events (organization_id, source, source_event_id, "
            "event_type, external_person_id, external_certificate_id, revoked_on, "
            "source_modified_at, body_sha256, status, reason, processed_at) "
            "select id, 'dataverse', 'e1', 'revoked', 'p1', 'c1', '2026-11-01', now(), "
            "repeat('a', 64), 'dead', 'why', now() from organizations limit 1"
        )
    metrics = Metrics()
    await DatabaseGauges(own_pool, CLOCK).refresh(metrics)
    before_cycle = metrics.render().decode()

    # The day's cycle, deciding for the same date, records each organisation's success.
    finished = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)
    cycle = DailyCycle(
        own_pool,
        FixedClock(finished),
        None,
        expiry_job=lambda on_progress=None: ExpirySweep(own_pool, CLOCK),
    )
    assert (await cycle.run()).ok
    await DatabaseGauges(own_pool, CLOCK).refresh(metrics)
    after_cycle = metrics.render().decode()

    pending = sample(before_cycle, "mentor_notify_push_notices", 'status="pending"')
    assert pending is not None
    assert pending > 0
    assert sample(before_cycle, "mentor_notify_push_due") == pending
    assert sample(before_cycle, "mentor_notify_push_oldest_due_age_seconds") == 600
    assert sample(before_cycle, "mentor_notify_sync_events", 'status="dead"') == 1
    assert sample(before_cycle, "mentor_notify_data_quality_findings", 'issue="dead_sync_event"')
    slugs = re.findall(
        r'^mentor_notify_cycle_last_success_timestamp_seconds\{organization="([^"]+)"\} 0\.0$',
        before_cycle,
        re.MULTILINE,
    )
    assert slugs  # never run: 0, so the missed-cycle alert sees them
    for slug in slugs:
        assert (
            sample(
                after_cycle,
                "mentor_notify_cycle_last_success_timestamp_seconds",
                f'organization="{slug}"',
            )
            == finished.timestamp()
        )
    assert TODAY  # the world's business date is the clock's


async def test_a_scrape_without_a_database_says_so_and_keeps_the_process_counts(
    own_pool: Pool,
) -> None:
    metrics = Metrics()
    metrics.claims.labels("empty").inc()
    async with own_pool.connection() as conn:
        await conn.execute("alter table public.daily_cycle_successes rename to gone")

    await DatabaseGauges(own_pool, CLOCK).refresh(metrics)

    text = metrics.render().decode()
    assert sample(text, "mentor_notify_metrics_database_up") == 0
    assert sample(text, "mentor_notify_push_claims_total", 'result="empty"') == 1


def test_a_metrics_port_in_use_is_one_plain_line(
    own_database_url: str,
    emulator_url: str,  # noqa: F811
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                str(MENTOR_NOTIFY),
                "--database-url",
                own_database_url,
                "push",
                "dispatch",
                "--once",
                "--emulator",
                emulator_url,
                "--metrics-port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--metrics-port" in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_database_that_does_not_answer_in_time_is_away_for_the_scrape(
    own_database_url: str,
) -> None:
    metrics = Metrics()
    settings = Settings(pool_min_size=1, pool_max_size=1)
    # The pool's only connection is taken: the scrape cannot get one.
    async with open_pool(own_database_url, settings) as pool, pool.connection():
        await DatabaseGauges(pool, CLOCK, answer_within=0.2).refresh(metrics)

    assert sample(metrics.render().decode(), "mentor_notify_metrics_database_up") == 0
