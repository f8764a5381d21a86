"""Device-token registration and the push emulator apply one format rule per service:
a token the API registers is one the emulator delivers to, and the other way round."""

import time
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
import pytest_asyncio
from pydantic import ValidationError

from mentor_notify.domain import SystemClock
from mentor_notify.push import DeviceTokenRegistration
from mentor_notify.push.apns import ProviderToken
from mentor_notify.push.kinds import Provider
from mentor_notify.push.senders import emulator_credentials
from mentor_notify_testing.emulator import Emulator, EmulatorServer

HEX = "a9d0ed10e9cfd022a61cb08753f49c5a0b0dfb383697bf9f9d750a1003da19c7"

SAMPLES: list[tuple[Provider, str]] = [
    ("apns", HEX),
    ("apns", HEX.upper()),
    ("apns", HEX * 3),  # longer tokens, as Apple says may come
    ("apns", HEX[:62]),
    ("apns", HEX * 4),  # 256 digits: too long
    ("apns", "apns-" + HEX),
    ("apns", HEX.replace("a", "g")),
    ("apns", "fcm-token-123456"),
    ("fcm", "dXk3abc:APA91bH-registration_token"),
    ("fcm", "fcm/token+with=printable~ASCII"),
    ("fcm", "ikke-gyldig-tøken"),
    ("fcm", "short"),
    ("fcm", "with space inside"),
]


@pytest_asyncio.fixture
async def emulator_url() -> AsyncIterator[str]:
    server = EmulatorServer(Emulator())
    yield f"http://127.0.0.1:{await server.start()}"
    await server.close()


def registers(provider: Provider, token: str) -> bool:
    platform = "ios" if provider == "apns" else "android"
    try:
        DeviceTokenRegistration(token=token, platform=platform, provider=provider)
    except ValidationError:
        return False
    return True


async def emulator_delivers(url: str, provider: Provider, token: str) -> bool:
    credentials = emulator_credentials(url)
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        if provider == "apns":
            bearer = ProviderToken(
                credentials.apns_key_pem,
                credentials.apns_key_id,
                credentials.apns_team_id,
                SystemClock(),
            ).token()
            response = await client.post(
                f"/3/device/{token}",
                headers={"authorization": f"bearer {bearer}", "apns-topic": "no.example"},
                json={"aps": {"alert": "x"}},
            )
            refused = response.status_code == 400 and response.json()["reason"] == "BadDeviceToken"
        else:
            assertion = jwt.encode(
                {
                    "iss": "dispatcher@example",
                    "scope": "https://www.googleapis.com/auth/firebase.messaging",
                    "iat": int(time.time()),
                },
                "the emulator does not check this signature",
            )
            access = await client.post(
                "/token",
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    "assertion": assertion,
                },
            )
            response = await client.post(
                f"/v1/projects/{credentials.project_id}/messages:send",
                headers={"authorization": f"Bearer {access.json()['access_token']}"},
                json={"message": {"token": token, "data": {"k": "v"}}},
            )
            refused = response.status_code == 400
    assert refused or response.status_code == 200, response.text
    return not refused


@pytest.mark.parametrize(("provider", "token"), SAMPLES)
async def test_registration_and_the_emulator_agree(
    emulator_url: str, provider: Provider, token: str
) -> None:
    assert registers(provider, token) == await emulator_delivers(emulator_url, provider, token)
