"""The sync's service and its HTTP endpoints on this test's own database."""

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from mentor_notify.api import create_app
from mentor_notify.api.app import ApiLimits
from mentor_notify.api.sync import sync_router
from mentor_notify.db import Pool
from mentor_notify.domain import SystemClock
from mentor_notify.sync import CertificateSync, WebhookKeys
from tests.api.credentials import legacy_authenticator
from tests.api.fake_runner import RecordingRunner


@pytest_asyncio.fixture
async def sync(own_pool: Pool) -> CertificateSync:
    return CertificateSync(own_pool, SystemClock())


@pytest_asyncio.fixture
async def client(own_pool: Pool, sync: CertificateSync) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        RecordingRunner(),
        legacy_authenticator(),
        limits=ApiLimits(max_body_bytes=65536),
        routers=[sync_router(sync, WebhookKeys(own_pool, SystemClock()))],
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
        yield c
