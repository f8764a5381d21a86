"""The emulator judges an APNs provider token's issue time against the real clock, as
APNs does: issued within the last hour is accepted, older is ExpiredProviderToken,
and an issue time in the future is InvalidProviderToken. Whether the emulator
checks signatures (the tests' service) or not (the demo's) makes no difference."""

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization

from mentor_notify.domain import FixedClock, SystemClock
from mentor_notify.push.apns import ProviderToken
from mentor_notify.push.senders import EmulatorCredentials, emulator_credentials
from mentor_notify_testing.emulator import Emulator, EmulatorServer

DEVICE = "ab" * 32


@pytest_asyncio.fixture(params=["signature checked", "signature not checked"])
async def emulator(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[str, EmulatorCredentials]]:
    emulator = Emulator()
    server = EmulatorServer(emulator)
    url = f"http://127.0.0.1:{await server.start()}"
    credentials = emulator_credentials(url)
    if request.param == "signature checked":
        emulator.apns_team_id = credentials.apns_team_id
        emulator.apns_public_key = (
            serialization.load_pem_private_key(credentials.apns_key_pem.encode(), None)
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
    yield url, credentials
    await server.close()


@pytest.mark.parametrize(
    ("issued", "refusal"),
    [
        (timedelta(0), None),
        (-timedelta(minutes=59), None),
        (-timedelta(minutes=61), "ExpiredProviderToken"),
        (-timedelta(days=7), "ExpiredProviderToken"),
        (timedelta(minutes=5), "InvalidProviderToken"),
        (timedelta(days=30), "InvalidProviderToken"),
    ],
    ids=["now", "59-min-old", "61-min-old", "week-old", "5-min-ahead", "month-ahead"],
)
async def test_a_provider_token_is_judged_by_its_age_on_the_real_clock(
    emulator: tuple[str, EmulatorCredentials], issued: timedelta, refusal: str | None
) -> None:
    url, credentials = emulator
    # The expectation comes from the clock the emulator reads: the real one.
    signed_at = FixedClock(SystemClock().now() + issued)
    token = ProviderToken(
        credentials.apns_key_pem, credentials.apns_key_id, credentials.apns_team_id, signed_at
    ).token()

    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        response = await client.post(
            f"/3/device/{DEVICE}",
            headers={"authorization": f"bearer {token}", "apns-topic": "no.example.mentor"},
            json={"aps": {"alert": "x"}},
        )

    if refusal is None:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 403
        assert response.json()["reason"] == refusal
