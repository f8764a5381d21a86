"""The silent re-registration push (ticket 000): stale devices of organisations that
turned it on get a background push through the real senders, checked by the
emulator as Apple and Google document it; at most once per device per week; never
a person push, so never against the daily budget."""

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest_asyncio

from mentor_notify.config import Settings
from mentor_notify.daily import DailyCycle
from mentor_notify.db import Pool, open_pool
from mentor_notify.domain import FixedClock, SystemClock
from mentor_notify.expiry import ExpirySweep
from mentor_notify.metrics import Metrics
from mentor_notify.push.senders import open_senders
from mentor_notify.reregistration import REREGISTER_ACTION, Reregistration, ReregistrationResult
from mentor_notify_testing.emulator import Emulator, Request
from tests.integration.test_dispatch_processes import (  # noqa: F401 - fixture
    MENTOR_NOTIFY,
    deliveries,
    emulator_url,
)
from tests.integration.test_push_delivery import Service, service  # noqa: F401 - fixture

# A Wednesday; the week starts on Monday 2026-03-02.
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
APNS_STALE = "a1" * 32
APNS_FRESH = "b2" * 32
FCM_STALE = "fcm-stale-token-0001"
FCM_OTHER_ORG = "fcm-stale-token-0002"


@pytest_asyncio.fixture
async def devices(own_pool: Pool) -> AsyncIterator[dict[str, UUID]]:
    """The stale world as of NOW."""
    yield await stale_world(own_pool, NOW)


async def stale_world(pool: Pool, now: datetime) -> dict[str, UUID]:
    """Two organisations, one with the re-registration push on; a member of each with
    stale and fresh devices (ages counted back from `now`). The device ids by token."""
    ids: dict[str, UUID] = {}
    async with pool.connection() as conn:
        for slug, on in (("on-org", True), ("off-org", False)):
            org = (
                await (
                    await conn.execute(
                        "insert into organizations (slug, name, certificate_type, "
                        "reregistration_push, push_daily_budget) "
                        "values (%s, %s, 'hlf_peer_mentor', %s, 1) returning id",
                        (slug, slug, on),
                    )
                ).fetchone()
            )["id"]
            chapter = (
                await (
                    await conn.execute(
                        "insert into chapters (organization_id, name) values (%s, 'c') "
                        "returning id",
                        (org,),
                    )
                ).fetchone()
            )["id"]
            person = uuid4()
            await conn.execute("insert into auth.users (id) values (%s)", (person,))
            await conn.execute(
                "insert into users (id, display_name) values (%s, 'Person')", (person,)
            )
            await conn.execute(
                "insert into chapter_memberships (organization_id, chapter_id, user_id, role) "
                "values (%s, %s, %s, 'peer_mentor')",
                (org, chapter, person),
            )
            tokens = (
                [
                    ("ios", "apns", APNS_STALE, 40),
                    ("ios", "apns", APNS_FRESH, 3),
                    ("android", "fcm", FCM_STALE, 31),
                ]
                if on
                else [("android", "fcm", FCM_OTHER_ORG, 60)]
            )
            for platform, provider, token, age_days in tokens:
                row = await (
                    await conn.execute(
                        "insert into device_tokens (user_id, platform, provider, token, "
                        "last_refreshed_at) values (%s, %s, %s, %s, %s) returning id",
                        (person, platform, provider, token, now - timedelta(days=age_days)),
                    )
                ).fetchone()
                ids[token] = row["id"]
    return ids


async def reregister(
    pool: Pool,
    service: Service,  # noqa: F811
    at: datetime,
    metrics: Metrics | None = None,
) -> ReregistrationResult:
    # The senders on real time: APNs judges its provider token by the real clock.
    async with open_senders(service.settings, SystemClock()) as senders:
        return await Reregistration(pool, senders, FixedClock(at), observer=metrics).run()


async def rows(pool: Pool, query: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        return list(await (await conn.execute(query)).fetchall())


async def test_stale_devices_get_a_background_push_with_the_documented_headers(
    own_pool: Pool,
    service: Service,  # noqa: F811
    devices: dict[str, UUID],
) -> None:
    metrics = Metrics()
    result = await reregister(own_pool, service, NOW, metrics)

    delivered = {d["token"]: d for d in service.emulator.delivered}
    # Only the stale devices of the organisation that turned it on.
    assert set(delivered) == {APNS_STALE, FCM_STALE}
    assert (result.taken, result.sent, result.failed) == (2, 2, 0)
    apns = delivered[APNS_STALE]
    assert apns["headers"]["apns-push-type"] == "background"
    assert apns["headers"]["apns-priority"] == "5"
    assert apns["message"] == {"aps": {"content-available": 1}, "action": REREGISTER_ACTION}
    fcm = delivered[FCM_STALE]["message"]
    assert "notification" not in fcm
    assert fcm["data"] == {"action": REREGISTER_ACTION}
    assert fcm["android"] == {"priority": "NORMAL"}
    assert fcm["apns"]["headers"] == {"apns-push-type": "background", "apns-priority": "5"}
    assert fcm["apns"]["payload"] == {"aps": {"content-available": 1}}
    recorded = await rows(
        own_pool, "select device_token_id, week_start::text, status from device_reregistrations"
    )
    assert {(r["device_token_id"], r["week_start"], r["status"]) for r in recorded} == {
        (devices[APNS_STALE], "2026-03-02", "sent"),
        (devices[FCM_STALE], "2026-03-02", "sent"),
    }
    text = metrics.render().decode()
    assert (
        'mentor_notify_push_send_attempts_total{answer="2xx",kind="reregistration",'
        'outcome="sent",provider="apns"} 1.0' in text
    )


async def test_at_most_once_a_week_per_device(
    own_pool: Pool,
    service: Service,  # noqa: F811
    devices: dict[str, UUID],
) -> None:
    first = await reregister(own_pool, service, NOW)
    # Later the same week (Sunday evening), and again by a second run at once.
    again = await reregister(own_pool, service, NOW + timedelta(days=4, hours=13))
    next_week = await reregister(own_pool, service, NOW + timedelta(days=5))

    assert (first.taken, again.taken) == (2, 0)
    assert next_week.taken == 2
    assert next_week.week_start == "2026-03-09"
    assert service.emulator.counts["apns"] == 2
    assert service.emulator.counts["fcm"] == 2


async def test_it_never_touches_the_person_queue_or_the_daily_budget(
    own_pool: Pool,
    service: Service,  # noqa: F811
    devices: dict[str, UUID],
) -> None:
    await reregister(own_pool, service, NOW)

    assert await rows(own_pool, "select * from push_budget_days") == []
    assert await rows(own_pool, "select * from push_notices") == []
    assert await rows(own_pool, "select * from notifications") == []


async def test_a_dead_token_is_deleted(
    own_pool: Pool,
    service: Service,  # noqa: F811
    devices: dict[str, UUID],
) -> None:
    service.emulator.script(FCM_STALE, "unregistered")

    result = await reregister(own_pool, service, NOW)

    assert (result.sent, result.failed, result.tokens_removed) == (1, 1, 1)
    tokens = {r["token"] for r in await rows(own_pool, "select token from device_tokens")}
    assert FCM_STALE not in tokens
    assert APNS_STALE in tokens


async def test_the_emulator_refuses_a_background_push_apple_or_google_would_not_take() -> None:
    emulator = Emulator()
    headers = {"apns-topic": "t", "apns-push-type": "background", "authorization": "x"}
    bad = [
        ({**headers, "apns-priority": "10"}, {"aps": {"content-available": 1}}, "BadPriority"),
        (
            {**headers, "apns-priority": "5"},
            {"aps": {"alert": "hi", "content-available": 1}},
            "InvalidPushType",
        ),
        ({**headers, "apns-priority": "5"}, {"aps": {}}, "InvalidPushType"),
    ]
    # The provider token is another test's subject; these requests carry none.
    emulator._check_provider_token = lambda _: None  # type: ignore[method-assign]
    for sent_headers, payload, reason in bad:
        reply = await emulator.handle(
            Request("POST", f"/3/device/{APNS_STALE}", sent_headers, _json(payload))
        )
        assert (reply.status, reason) == (400, _reason(reply.body))
    emulator.access_tokens.add("tok")
    data_only_high = {
        "message": {
            "token": FCM_STALE,
            "data": {"action": REREGISTER_ACTION},
            "apns": {"headers": {"apns-priority": "10"}},
        }
    }
    reply = await emulator.handle(
        Request(
            "POST",
            f"/v1/projects/{emulator.project_id}/messages:send",
            {"authorization": "Bearer tok"},
            _json(data_only_high),
        )
    )
    assert reply.status == 400
    assert b"INVALID_ARGUMENT" in reply.body


def _json(document: object) -> bytes:
    return json.dumps(document).encode()


def _reason(body: bytes) -> str:
    return str(json.loads(body)["reason"])


async def test_the_daily_cycle_sends_it_for_the_organisations_that_turned_it_on(
    own_pool: Pool,
    service: Service,  # noqa: F811
    devices: dict[str, UUID],
) -> None:
    clock = FixedClock(NOW)
    async with open_senders(service.settings, SystemClock()) as senders:
        cycle = DailyCycle(
            own_pool,
            clock,
            None,
            expiry_job=lambda on_progress=None: ExpirySweep(own_pool, clock),
            reregistration=Reregistration(own_pool, senders, clock),
        )
        first = await cycle.run()
        second = await cycle.run()

    assert first.ok
    assert second.ok
    assert first.reregistration is not None
    assert first.reregistration.sent == 2
    assert second.reregistration is not None
    assert second.reregistration.taken == 0
    assert service.emulator.counts["apns"] + service.emulator.counts["fcm"] == 2


def test_the_command_sends_it_and_says_what_it_did_as_json(
    own_database_url: str,
    emulator_url: str,  # noqa: F811
) -> None:
    asyncio.run(_stale_world(own_database_url))
    command = [str(MENTOR_NOTIFY), "--database-url", own_database_url, "push", "reregister"]

    helped = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=60)
    first = subprocess.run(
        [*command, "--emulator", emulator_url, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    again = subprocess.run(
        [*command, "--emulator", emulator_url, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert helped.returncode == 0
    assert "at most" in helped.stdout
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["sent"] == 2
    assert json.loads(again.stdout)["taken"] == 0
    assert sum(deliveries(emulator_url)["counts"].values()) == 2


async def _stale_world(url: str) -> None:
    """The stale world by the real clock (the command runs now)."""
    async with open_pool(url, Settings(pool_min_size=1, pool_max_size=2)) as pool:
        await stale_world(pool, datetime.now(UTC))
