"""The ingest never sheds (issue 24): a webhook is stored and answered, the
applier applies it in the background, and the API's in-flight limit does not
refuse webhooks."""

import asyncio
from datetime import timedelta

import httpx

from mentor_notify.api import create_app
from mentor_notify.api.app import ApiLimits
from mentor_notify.api.sync import sync_router
from mentor_notify.db import Pool
from mentor_notify.domain import SystemClock
from mentor_notify.sync import CertificateSync, SyncApplier, WebhookKeys
from tests.api.credentials import legacy_authenticator
from tests.api.fake_runner import RecordingRunner
from tests.sync.payloads import dataverse, dataverse_headers
from tests.sync.test_sync_http import AUTH, build, certificate, moment, rows, today


def bare_client(pool: Pool, sync: CertificateSync, max_in_flight: int) -> httpx.AsyncClient:
    """The API as `serve` builds it, with nothing applying after each answer."""
    app = create_app(
        RecordingRunner(),
        legacy_authenticator(),
        limits=ApiLimits(max_in_flight=max_in_flight),
        routers=[sync_router(sync, WebhookKeys(pool, SystemClock()))],
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


async def test_the_applier_applies_what_was_stored_without_being_asked(
    own_pool: Pool, sync: CertificateSync, applier: SyncApplier
) -> None:
    world = await build(own_pool, {"a": 20})
    renewed = today() + timedelta(days=700)
    body = dataverse(
        "Update", world.certificates["a"], world.holders["a"], moment(0), expiry=renewed
    )
    running = asyncio.create_task(applier.run())
    try:
        async with bare_client(own_pool, sync, 16) as client:
            answer = await client.post(
                f"/v1/sync/{world.slug}/dataverse",
                content=body,
                headers=dataverse_headers(body) | AUTH,
            )
        # Woken by the store; the wait ends as soon as the event is applied.
        # (Polled: the applier signals nothing when it is done.)
        while await rows(  # noqa: ASYNC110
            own_pool,
            "select 1 from public.certificate_sync_events where status = 'pending'",
        ):
            await asyncio.sleep(0.05)
    finally:
        running.cancel()

    assert (answer.status_code, answer.json()["status"]) == (202, "pending")
    assert (await certificate(own_pool, world, "a"))["expiry_date"] == renewed


async def test_webhooks_have_their_own_budget_beyond_the_in_flight_limit(
    own_pool: Pool, sync: CertificateSync
) -> None:
    world = await build(own_pool, {"a": 20, "b": 20, "c": 20})
    bodies = [
        dataverse(
            "Update",
            world.certificates[label],
            world.holders[label],
            moment(minute),
            expiry=today() + timedelta(days=100 + minute),
        )
        for label in ("a", "b", "c")
        for minute in range(10)
    ]

    async with bare_client(own_pool, sync, 1) as client:
        answers = await asyncio.gather(
            *(
                client.post(
                    f"/v1/sync/{world.slug}/dataverse",
                    content=body,
                    headers=dataverse_headers(body) | AUTH,
                )
                for body in bodies
            )
        )

    assert [a.status_code for a in answers] == [202] * len(bodies)
    stored = await rows(own_pool, "select id from public.certificate_sync_events")
    assert len(stored) == len(bodies)
