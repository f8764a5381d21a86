"""The HTTP API on the real jobs and database: the edge-function equivalents end to end
(sweep, dispatch to the emulator), device tokens only for their owner, and `serve`."""

import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
import pytest_asyncio

from mentor_notify.api import create_app
from mentor_notify.api.runner import DatabaseJobRunner
from mentor_notify.db import Pool
from mentor_notify.domain import SystemClock
from mentor_notify.logging import configure_logging
from mentor_notify.push.senders import open_senders
from tests.api.credentials import (
    API_KEY,
    SECRET,
    SERVE_ENV,
    SERVICE,
    JwksServer,
    SigningKey,
    bearer,
    legacy_authenticator,
    token,
)
from tests.expiry_world import build_world
from tests.integration.test_dispatch_processes import MENTOR_NOTIFY
from tests.integration.test_expiry_sweep import CLOCK, TODAY
from tests.integration.test_push_delivery import Service, service  # noqa: F401 - fixture
from tests.support import free_port, wait_until_answering


@pytest_asyncio.fixture
async def client(own_pool: Pool, service: Service) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    # The senders sign APNs tokens with real time; the jobs run on the test clock.
    async with open_senders(service.settings, SystemClock()) as senders:
        runner = DatabaseJobRunner(own_pool, service.settings, CLOCK, senders)
        transport = httpx.ASGITransport(app=create_app(runner, legacy_authenticator()))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


def real_today() -> date:
    """The date the API's business dates are bounded around (the real clock's)."""
    return SystemClock().now().date()


async def test_sweep_then_dispatch_over_http(own_pool: Pool, client: httpx.AsyncClient) -> None:
    async with own_pool.connection() as conn:
        await build_world(conn, real_today(), {"a": 7, "b": 30})

    swept = await client.post(
        "/functions/v1/certificate-expiry",
        json={"today": real_today().isoformat()},
        headers=SERVICE,
    )
    depth = (await client.get("/metrics")).text
    dispatched = await client.post("/functions/v1/dispatch", json={}, headers=SERVICE)
    again = await client.post("/functions/v1/dispatch", json={}, headers=SERVICE)

    assert swept.status_code == 200, swept.text
    assert swept.json()["ok"] is True
    assert sum(o["notifications_created"] for o in swept.json()["result"]["organisations"]) == 4
    assert "mentor_notify_queue_depth 4.0" in depth
    assert dispatched.status_code == 200, dispatched.text
    # Two mentors' pushes and the coordinator's one, a digest of both notices.
    assert dispatched.json()["result"]["sent"] == 3
    assert dispatched.json()["result"]["folded"] == 1
    assert again.json()["result"]["claimed"] == 0


async def test_an_unknown_organisation_is_a_404_that_says_so(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/functions/v1/certificate-expiry",
        json={"organization_id": "505e8d38-5d90-1148-8ff1-3c30a21a1c1f"},
        headers=SERVICE,
    )

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert "no organisation matches" in answer.json()["error"]["message"]


async def test_every_log_entry_of_a_request_carries_its_run_id(
    own_pool: Pool, client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    async with own_pool.connection() as conn:
        world = await build_world(conn, real_today(), {"a": 7})
    configure_logging("info", "json")
    capsys.readouterr()

    swept = await client.post(
        "/functions/v1/certificate-expiry",
        json={"today": real_today().isoformat()},
        headers=SERVICE,
    )
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]

    run_id = swept.headers["X-Run-Id"]
    assert swept.json()["run_id"] == swept.json()["result"]["run_id"] == run_id
    assert len(entries) >= 5  # job started, the sweep's steps, job finished
    assert {e.get("run_id") for e in entries} == {run_id}
    # No personal data: ids of organisations at most, never a person's.
    people = {str(m.person.id) for m in world.mentors.values()}
    assert not any(person in json.dumps(e) for e in entries for person in people)


async def test_a_user_registers_and_deletes_only_their_own_device(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    async with own_pool.connection() as conn:
        world = await build_world(conn, TODAY, {"owner": 30, "other": 30})
    owner = bearer(token("authenticated", sub=str(world.mentors["owner"].person.id)))
    other = bearer(token("authenticated", sub=str(world.mentors["other"].person.id)))

    created = await client.post(
        "/v1/device-tokens",
        json={"token": "fresh-device-token-1", "platform": "android", "provider": "fcm"},
        headers=owner,
    )
    token_id = created.json()["id"]
    stolen = await client.delete(f"/v1/device-tokens/{token_id}", headers=other)
    deleted = await client.delete(f"/v1/device-tokens/{token_id}", headers=owner)
    health = await client.get("/healthz")

    assert created.status_code == 201, created.text
    assert stolen.status_code == 404
    assert deleted.status_code == 204
    assert health.status_code == 200


async def test_a_signed_in_user_without_a_profile_is_refused_in_plain_words(
    own_pool: Pool, client: httpx.AsyncClient
) -> None:
    # Signed in to Supabase (an auth.users row would exist), but never added to any
    # organisation's programme: no public.users row.
    stranger = bearer(token("authenticated"))

    answer = await client.post(
        "/v1/device-tokens",
        json={"token": "stranger-device-token-1", "platform": "android", "provider": "fcm"},
        headers=stranger,
    )

    assert answer.status_code == 403, answer.text
    message = answer.json()["error"]["message"]
    assert "ask your coordinator" in message
    for internal in ("device_tokens", "fkey", "users", "constraint"):
        assert internal not in answer.text
    async with own_pool.connection() as conn:
        stored = await (await conn.execute("select count(*) from public.device_tokens")).fetchone()
    assert stored is not None
    assert next(iter(stored.values())) == 0


@pytest_asyncio.fixture
async def owner_id(own_pool: Pool) -> str:
    """A mentor in the test's database, who registers a device."""
    async with own_pool.connection() as conn:
        world = await build_world(conn, TODAY, {"owner": 30})
    return str(world.mentors["owner"].person.id)


def test_serve_verifies_signing_keys_and_api_keys_and_stops_on_sigterm(
    own_database_url: str, owner_id: str
) -> None:
    jwks = JwksServer()
    key = SigningKey.es256()
    jwks.keys = [key]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with jwks.running():
        process = subprocess.Popen(
            [str(MENTOR_NOTIFY), "--database-url", own_database_url, "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            # A project on signing keys: no legacy JWT secret at all.
            env=os.environ
            | {k: v for k, v in SERVE_ENV.items() if k != "MENTOR_NOTIFY_JWT_SECRET"}
            | {"MENTOR_NOTIFY_SUPABASE_URL": jwks.url},
        )
        try:
            health = wait_until_answering(f"{base}/healthz", process)
            refused = httpx.post(f"{base}/functions/v1/dispatch", json={})
            dispatched = httpx.post(f"{base}/functions/v1/dispatch", json={}, headers=SERVICE)
            owner = owner_id
            registered = httpx.post(
                f"{base}/v1/device-tokens",
                json={"token": "es256-signed-device-1", "platform": "android"},
                headers=bearer(key.sign(jwks.user_claims(sub=owner))),
            )
            legacy = httpx.post(
                f"{base}/v1/device-tokens",
                json={"token": "hs256-signed-device-1", "platform": "android"},
                headers=bearer(token("authenticated", sub=owner)),
            )
        finally:
            process.send_signal(signal.SIGTERM)
            _, errors = process.communicate(timeout=30)

    assert health.status_code == 200
    assert refused.status_code == 401
    assert dispatched.status_code == 200, dispatched.text
    assert registered.status_code == 201, registered.text
    assert legacy.status_code == 401
    assert process.returncode == 0, errors


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"MENTOR_NOTIFY_API_KEYS": API_KEY}, "MENTOR_NOTIFY_SUPABASE_URL"),
        ({"MENTOR_NOTIFY_JWT_SECRET": SECRET}, "MENTOR_NOTIFY_API_KEYS"),
        (
            {"MENTOR_NOTIFY_JWT_SECRET": "x" * 40, "MENTOR_NOTIFY_API_KEYS": "too-short"},
            "at least 32",
        ),
        (
            {"MENTOR_NOTIFY_JWT_SECRET": "x" * 40, "MENTOR_NOTIFY_API_KEYS_VAULT_SECRET": "k"},
            "no Supabase Vault",
        ),
    ],
)
def test_serve_without_what_it_needs_says_what_to_set(
    own_database_url: str, env: dict[str, str], fragment: str
) -> None:
    result = subprocess.run(
        [str(MENTOR_NOTIFY), "--database-url", own_database_url, "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("MENTOR_NOTIFY_")} | env,
    )
    assert result.returncode == 1
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
