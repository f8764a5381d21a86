"""The sync's service and its HTTP endpoints on this test's own database."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from mentor_notify.api import create_app
from mentor_notify.api.app import ApiLimits
from mentor_notify.api.sync import sync_router
from mentor_notify.db import Pool
from mentor_notify.domain import SystemClock
from mentor_notify.sync import CertificateSync, SyncApplier, WebhookKeys
from tests.api.credentials import legacy_authenticator
from tests.api.fake_runner import RecordingRunner


@pytest_asyncio.fixture
async def stored() -> asyncio.Event:
    """Set by each store, as in `serve`."""
    return asyncio.Event()


@pytest_asyncio.fixture
async def sync(own_pool: Pool, stored: asyncio.Event) -> CertificateSync:
    return CertificateSync(own_pool, SystemClock(), on_stored=stored.set)


@pytest_asyncio.fixture
async def applier(sync: CertificateSync, stored: asyncio.Event) -> SyncApplier:
    return SyncApplier(sync, stored)


@pytest_asyncio.fixture
async def client(
    own_pool: Pool, sync: CertificateSync, applier: SyncApplier
) -> AsyncIterator[httpx.AsyncClient]:
    """The sync endpoints over HTTP; after each answer, one round of the applier (what
    `serve` runs in the background), so a test sees the events applied."""
    app = create_app(
        RecordingRunner(),
        legacy_authenticator(),
        limits=ApiLimits(max_body_bytes=65536),
        routers=[sync_router(sync, WebhookKeys(own_pool, SystemClock()))],
    )
    transport = httpx.ASGITransport(app=app)

    async def apply_held(_: httpx.Response) -> None:
        await applier.run_once()

    async with httpx.AsyncClient(
        transport=transport, base_url="http://api", event_hooks={"response": [apply_held]}
    ) as c:
        yield c
