"""End to end from the push queue through the real FCM and APNs senders to the emulator
and back to recorded statuses: exact payloads (a digest's too), dead tokens, retries,
renewed credentials."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest_asyncio
from cryptography.hazmat.primitives import serialization

from mentor_notify.config import Settings
from mentor_notify.db import Pool
from mentor_notify.domain import FixedClock, SystemClock
from mentor_notify.push.dispatcher import Backoff, Dispatcher, DispatchResult
from mentor_notify.push.outbox import Outbox
from mentor_notify.push.senders import emulator_credentials, open_senders, settings_for_emulator
from mentor_notify_testing.emulator import Emulator, EmulatorServer
from tests.integration.test_expiry_sweep import CLOCK
from tests.integration.test_outbox import queued_world, statuses


@dataclass
class Service:
    emulator: Emulator
    settings: Settings


@pytest_asyncio.fixture
async def service() -> AsyncIterator[Service]:
    """An emulator on a free port, and settings whose senders use it with checked keys."""
    emulator = Emulator()
    server = EmulatorServer(emulator)
    port = await server.start()
    url = f"http://127.0.0.1:{port}"
    credentials = emulator_credentials(url)
    emulator.apns_team_id = credentials.apns_team_id
    emulator.apns_public_key = (
        serialization.load_pem_private_key(credentials.apns_key_pem.encode(), None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    yield Service(emulator, settings_for_emulator(Settings(), url, credentials))
    await server.close()


async def dispatch(pool: Pool, service: Service, clock: FixedClock = CLOCK) -> DispatchResult:
    """One `--once` pass: the dispatcher on `clock`, the senders on real time (APNs checks
    its provider token's age against the real clock)."""
    async with open_senders(service.settings, SystemClock()) as senders:
        dispatcher = Dispatcher(
            Outbox(pool, "worker-1", max_attempts=3),
            senders,
            clock,
            backoff=Backoff(base=timedelta(seconds=30)),
        )
        return await dispatcher.run_once()


async def outbox_rows(pool: Pool) -> list[dict[str, Any]]:
    """Every notice with its notification and the delivery of the push that carried it
    (its own, or its carrier's when it was folded into a digest)."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "select p.*, n.message_key, n.status as notification_status, "
            "(n.data ->> 'certification_id')::uuid as certification_id, d.token, "
            "x.id as delivery_id, x.provider, "
            "private.idempotency_key(x.notice_id::text, x.device_token_id::text) "
            "  as idempotency_key "
            "from push_notices p join notifications n on n.id = p.notification_id "
            "left join push_deliveries x on x.notice_id = coalesce(p.carried_by, p.id) "
            "left join device_tokens d on d.id = x.device_token_id"
        )
        return list(await cursor.fetchall())


def idempotency_key(delivery: dict[str, Any]) -> str:
    """The key a delivery carried: in FCM's data, or in the APNs payload."""
    message = delivery["message"]
    return str((message["data"] if delivery["provider"] == "fcm" else message)["idempotency_key"])


async def token_of(pool: Pool, user: UUID) -> str:
    async with pool.connection() as conn:
        cursor = await conn.execute("select token from device_tokens where user_id = %s", [user])
        row = await cursor.fetchone()
    assert row is not None
    return str(row["token"])


async def test_each_tier_reaches_fcm_and_apns_with_the_exact_payload(
    own_pool: Pool, service: Service
) -> None:
    world = await queued_world(own_pool, {"urgent": 7, "early": 30})

    result = await dispatch(own_pool, service)

    rows = {(r["recipient_id"], r["certification_id"]): r for r in await outbox_rows(own_pool)}
    # Each mentor's push, and one to the coordinator about both (a digest).
    assert len(rows) == 4
    assert result.sent == 3
    assert await statuses(own_pool) == {"sent": 3, "folded": 1}
    assert service.emulator.counts == {"fcm": 2, "apns": 1}
    assert service.emulator.duplicates() == 0
    delivered = {idempotency_key(d): d for d in service.emulator.delivered}
    for label, tier, priority in (
        ("urgent", "expiry_warning_7d", "high"),
        ("early", "expiry_warning_30d", "normal"),
    ):
        mentor = world.mentors[label]
        row = rows[(mentor.person.id, mentor.certification_id)]
        assert row["notification_status"] == "sent"
        fcm = delivered[row["idempotency_key"]]
        assert fcm["provider"] == "fcm"
        key = row["message_key"]
        assert fcm["message"] == {
            "token": row["token"],
            "data": {
                "notification_id": str(row["notification_id"]),
                "category": "certification_expiry",
                "tier": tier,
                "certificate_type": "hlf_peer_mentor",
                "certification_id": str(mentor.certification_id),
                "subject_mentor_id": str(mentor.person.id),
                "expiry_date": row["payload"]["data"]["expiry_date"],
                "deep_link": row["payload"]["data"]["deep_link"],
                "idempotency_key": row["idempotency_key"],
            },
            "android": {
                "priority": priority.upper(),
                "notification": {
                    "title_loc_key": f"{key}.title",
                    "body_loc_key": f"{key}.body",
                    "tag": f"expiry:{mentor.certification_id}",
                },
                "collapse_key": f"expiry:{mentor.certification_id}",
            },
            "apns": {
                "headers": {
                    "apns-priority": "10" if priority == "high" else "5",
                    "apns-push-type": "alert",
                    "apns-collapse-id": f"expiry:{mentor.certification_id}",
                },
                "payload": {
                    "aps": {
                        "alert": {"title-loc-key": f"{key}.title", "loc-key": f"{key}.body"},
                        "sound": "default",
                        "thread-id": "certification_expiry",
                    }
                },
            },
        }
        assert fcm["message"]["data"]["deep_link"].startswith("mentornotify://v1/")

    # The coordinator's two notices went in one push: a digest under the most
    # urgent one's title, counting both by message key, opening their mentors list.
    urgent, early = world.mentors["urgent"], world.mentors["early"]
    carrier = rows[(world.coordinator.id, urgent.certification_id)]
    folded = rows[(world.coordinator.id, early.certification_id)]
    assert (carrier["status"], folded["status"]) == ("sent", "folded")
    assert folded["carried_by"] == carrier["id"]
    assert folded["notification_status"] == "sent"
    apns = delivered[carrier["idempotency_key"]]
    assert apns["provider"] == "apns"
    headers = apns["headers"]
    expiration = int(headers.pop("apns-expiration"))
    assert headers == {
        "apns-topic": "no.mentornotify.app",
        "apns-push-type": "alert",
        "apns-priority": "10",
        "apns-id": str(carrier["delivery_id"]),
        "apns-collapse-id": f"expiry:{urgent.certification_id}",
    }
    assert 6 * 86400 < expiration - SystemClock().now().timestamp() <= 7 * 86400
    assert apns["message"]["aps"] == {
        "alert": {"title-loc-key": f"{carrier['message_key']}.title", "loc-key": "digest.body"},
        "sound": "default",
        "thread-id": "certification_expiry",
    }
    assert apns["message"]["idempotency_key"] == carrier["idempotency_key"]
    assert apns["message"]["category"] == "digest"
    assert apns["message"]["count"] == 2
    assert apns["message"]["counts"] == {carrier["message_key"]: 1, folded["message_key"]: 1}
    assert apns["message"]["deep_link"] == "mentornotify://v1/mentors/renewals"


async def test_unregistered_tokens_are_deleted_and_their_pushes_fail(
    own_pool: Pool, service: Service
) -> None:
    world = await queued_world(own_pool, {"gone": 7})
    mentor_token = await token_of(own_pool, world.mentors["gone"].person.id)
    coordinator_token = await token_of(own_pool, world.coordinator.id)
    service.emulator.script(mentor_token, "unregistered")
    service.emulator.script(coordinator_token, "unregistered")

    result = await dispatch(own_pool, service)

    assert (result.failed, result.tokens_removed, result.sent) == (2, 2, 0)
    rows = await outbox_rows(own_pool)
    assert {(r["provider"], r["status"], r["last_error"]) for r in rows} == {
        ("fcm", "failed", "UNREGISTERED"),
        ("apns", "failed", "Unregistered"),
    }
    assert {r["token"] for r in rows} == {None}
    assert {r["notification_status"] for r in rows} == {"failed"}


async def test_retryable_answers_come_back_after_their_backoff(
    own_pool: Pool, service: Service
) -> None:
    world = await queued_world(own_pool, {"busy": 7, "down": 30})
    service.emulator.retry_after_seconds = 120
    busy = await token_of(own_pool, world.mentors["busy"].person.id)
    down = await token_of(own_pool, world.mentors["down"].person.id)
    service.emulator.script(busy, "rate_limited")
    service.emulator.script(down, "unavailable", times=5)

    first = await dispatch(own_pool, service)
    rows = {r["token"]: r for r in await outbox_rows(own_pool)}
    later = await dispatch(own_pool, service, FixedClock(CLOCK.now() + timedelta(minutes=3)))
    much_later = await dispatch(own_pool, service, FixedClock(CLOCK.now() + timedelta(days=1)))

    assert (first.sent, first.retrying) == (1, 2)  # the coordinator's digest went
    assert rows[busy]["status"] == "pending"
    assert rows[busy]["last_error"] == "QUOTA_EXCEEDED"
    assert rows[busy]["available_at"] >= CLOCK.now() + timedelta(seconds=120)  # Retry-After
    assert rows[down]["last_error"] == "UNAVAILABLE"
    assert rows[down]["available_at"] <= CLOCK.now() + timedelta(seconds=30)  # backoff ceiling
    assert later.sent == 1  # the rate-limited one; the other fails again
    assert much_later.dead == 1  # three attempts (max_attempts=3) used up
    final = {r["token"]: r for r in await outbox_rows(own_pool)}
    assert (final[busy]["status"], final[down]["status"]) == ("sent", "dead")
    assert final[down]["attempts"] == 3


async def test_a_malformed_message_fails_for_good_without_retry(
    own_pool: Pool, service: Service
) -> None:
    world = await queued_world(own_pool, {"bad": 7})
    async with own_pool.connection() as conn:
        await conn.execute(
            # Stored (the database only refuses white space), refused by FCM: not ASCII.
            "update device_tokens set token = 'ikke-gyldig-tøken' where user_id = %s",
            [world.mentors["bad"].person.id],
        )

    result = await dispatch(own_pool, service)

    assert (result.sent, result.failed, result.retrying) == (1, 1, 0)
    rows = {r["provider"]: r for r in await outbox_rows(own_pool)}
    assert (rows["fcm"]["status"], rows["fcm"]["last_error"]) == ("failed", "INVALID_ARGUMENT")
    assert rows["fcm"]["attempts"] == 1


async def test_dropped_connections_and_refused_credentials_are_recovered(
    own_pool: Pool, service: Service
) -> None:
    world = await queued_world(own_pool, {f"m{n}": 7 for n in range(12)})
    service.emulator.script(await token_of(own_pool, world.mentors["m3"].person.id), "drop")
    clock = CLOCK
    async with open_senders(service.settings, SystemClock()) as senders:
        # A message can meet a dropped connection, a refused access token and
        # another drop: three failed attempts, none of them its own fault.
        outbox = Outbox(own_pool, "worker-1", max_attempts=10)
        first = await Dispatcher(outbox, senders, clock).run_once()
        # Every access token issued so far is refused from now on: the sender must
        # notice the 401 and fetch a new one.
        service.emulator.access_tokens.clear()
        service.emulator.script(await token_of(own_pool, world.mentors["m0"].person.id), "drop")
        results = [first]
        for _ in range(4):
            clock = FixedClock(clock.now() + timedelta(hours=1))
            results.append(await Dispatcher(outbox, senders, clock).run_once())

    assert first.retrying >= 1
    assert any(r.retrying for r in results[1:])
    assert len(service.emulator.access_tokens) == 1  # fetched anew after the refusal
    assert await statuses(own_pool) == {"sent": 13, "folded": 11}
    keys = {r["idempotency_key"] for r in await outbox_rows(own_pool)}
    delivered = {idempotency_key(d) for d in service.emulator.delivered}
    assert delivered == keys


async def test_sends_share_one_http2_connection_per_service_with_many_streams(
    own_pool: Pool, service: Service
) -> None:
    await queued_world(own_pool, {f"m{n}": 7 for n in range(40)})
    service.emulator.rates.slow = 1.0  # every answer takes a while, so sends overlap
    service.emulator.slow_seconds = 0.2

    result = await dispatch(own_pool, service)

    # 40 to FCM, and one digest of 40 to the coordinator's iPhone over APNs.
    assert result.sent == 41
    # One to FCM, one to APNs (the access token is fetched over HTTP/1.1, as by google-auth).
    assert service.emulator.connections["h2"] == 2
    assert service.emulator.max_in_flight >= 40


async def test_a_stream_limit_below_the_concurrency_and_goaways_fail_nothing(
    own_pool: Pool, service: Service
) -> None:
    await queued_world(own_pool, {f"m{n}": 7 for n in range(40)})
    service.emulator.max_concurrent_streams = 10  # the dispatcher has 100 sends in flight
    service.emulator.goaway_after = 8
    service.emulator.rates.slow = 1.0  # every answer takes a while, so sends overlap
    service.emulator.slow_seconds = 0.05

    result = await dispatch(own_pool, service)

    # 40 mentors, and one digest of 40 to their coordinator.
    assert (result.sent, result.retrying, result.failed) == (41, 0, 0)
    assert await statuses(own_pool) == {"sent": 41, "folded": 39}
    assert service.emulator.max_streams_per_connection <= 10
    assert service.emulator.connections["h2"] > 2  # more than one per service
    assert service.emulator.goaways >= 2
    assert service.emulator.duplicates() == 0
