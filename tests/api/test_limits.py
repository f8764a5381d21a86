"""What protects an API process: the body limit (413 before the body is read), the
in-flight limit (503 with Retry-After at once, never for health checks), and health
endpoints that answer whatever the runner does (jobs faked)."""

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ParamSpec
from uuid import UUID

import httpx
import pytest
import pytest_asyncio
from starlette.types import ASGIApp, Message

from mentor_notify.api import DeviceTokenRegistration, DeviceTokenResponse, create_app
from mentor_notify.api.app import ApiLimits
from mentor_notify.db.probe import Readiness
from tests.api.credentials import bearer, legacy_authenticator, token
from tests.api.fake_runner import RecordingRunner

LIMIT = 4096
P = ParamSpec("P")
DEVICE = {"token": "device-token-0001", "platform": "android", "provider": "fcm"}


class BlockingRunner(RecordingRunner):
    """Registers a device only once `release` is set; `entered` says a call is waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.health_blocks = False
        self.health_fails = False

    async def register_device_token(
        self, user_id: UUID, registration: DeviceTokenRegistration
    ) -> DeviceTokenResponse:
        self.entered.set()
        await self.release.wait()
        return await super().register_device_token(user_id, registration)

    async def healthy(self) -> bool:
        if self.health_blocks:
            await asyncio.Event().wait()  # a database that never answers
        if self.health_fails:
            raise RuntimeError("the check itself broke")
        return await super().healthy()


class Raw:
    """An ASGI request driven by hand: what the app sent, and how often it read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.reads = 0
        self.sent: list[Message] = []

    async def post(self, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> int:
        """POST /v1/device-tokens with `chunks` as the body; returns the status."""
        pending = list(chunks)

        async def receive() -> Message:
            self.reads += 1
            if not pending:
                await asyncio.Event().wait()  # a client still sending, slowly
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

        async def send(message: Message) -> None:
            self.sent.append(message)

        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/device-tokens",
            "raw_path": b"/v1/device-tokens",
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"api"),
                (b"content-type", b"application/json"),
                (b"authorization", f"Bearer {token('authenticated')}".encode()),
                *headers,
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        async with asyncio.timeout(5):  # a hang fails the test instead of stalling it
            await self.app(scope, receive, send)
        return int(self.sent[0]["status"])

    def header(self, name: bytes) -> bytes | None:
        return dict(self.sent[0]["headers"]).get(name)

    def json(self) -> Any:
        return json.loads(b"".join(m.get("body", b"") for m in self.sent[1:]))


@pytest.fixture
def runner() -> BlockingRunner:
    return BlockingRunner()


@pytest.fixture
def app(runner: BlockingRunner) -> ASGIApp:
    return create_app(
        runner,
        legacy_authenticator(),
        limits=ApiLimits(max_body_bytes=LIMIT, max_in_flight=1, health_timeout_seconds=0.2),
    )


@pytest_asyncio.fixture
async def client(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    # Server errors come back as the JSON 500 a client would get, not as exceptions.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
        yield c


def bounded(test: Callable[P, Awaitable[None]]) -> Callable[P, Awaitable[None]]:
    """The ASGI transport knows no timeouts: a request that hangs (queued behind a
    blocked one, a health check waiting on the database) fails the test instead."""

    @functools.wraps(test)
    async def within(*args: P.args, **kwargs: P.kwargs) -> None:
        async with asyncio.timeout(10):
            await test(*args, **kwargs)

    return within


async def test_a_body_declared_too_large_is_refused_before_a_byte_is_read(app: ASGIApp) -> None:
    raw = Raw(app)

    status = await raw.post([(b"content-length", b"20000000")], [b"x" * 65536] * 306)

    assert status == 413
    assert raw.reads == 0
    assert raw.json() == {
        "error": {
            "code": "payload_too_large",
            "message": f"the request body is larger than {LIMIT} bytes",
        }
    }
    # The server stops reading the connection rather than draining the rest.
    assert raw.header(b"connection") == b"close"


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(app: ASGIApp) -> None:
    raw = Raw(app)
    # 1 KiB chunks, and a client that would go on sending for ever.
    chunks = [b"x" * 1024] * (LIMIT // 1024 + 1)

    status = await raw.post([(b"transfer-encoding", b"chunked")], chunks)

    assert status == 413
    assert raw.json()["error"]["code"] == "payload_too_large"
    assert raw.reads == LIMIT // 1024 + 1  # up to the first byte past the limit, no more


async def test_a_chunked_body_within_the_limit_reaches_the_endpoint(
    app: ASGIApp, runner: BlockingRunner
) -> None:
    runner.release.set()
    body = json.dumps(DEVICE).encode()
    raw = Raw(app)

    status = await raw.post([(b"transfer-encoding", b"chunked")], [body[:10], body[10:]])

    assert status == 201, raw.json()
    [(_, registration)] = runner.tokens.values()
    assert registration.token == DEVICE["token"]


@bounded
async def test_beyond_the_in_flight_limit_a_request_is_refused_at_once(
    client: httpx.AsyncClient, runner: BlockingRunner
) -> None:
    user = bearer(token("authenticated"))
    first = asyncio.create_task(client.post("/v1/device-tokens", json=DEVICE, headers=user))
    await runner.entered.wait()

    # The first is still in flight (its runner call has not returned) when these answer.
    second = await client.post("/v1/device-tokens", json=DEVICE, headers=user)
    job = await client.post("/functions/v1/dispatch", headers={"apikey": "x"})
    health = [await client.get(path) for path in ("/livez", "/readyz", "/healthz", "/metrics")]
    assert not first.done()
    runner.release.set()
    first_answer = await first
    third = await client.post("/v1/device-tokens", json=DEVICE, headers=user)

    assert second.status_code == 503
    assert second.headers["Retry-After"] == "1"
    assert second.json()["error"]["code"] == "overloaded"
    assert "limit of 1 requests in flight" in second.json()["error"]["message"]
    assert job.status_code == 503
    assert [h.status_code for h in health] == [200, 200, 200, 200]
    assert "mentor_notify_http_requests_shed_total 2.0" in health[3].text
    assert "mentor_notify_http_requests_in_flight 1.0" in health[3].text
    assert first_answer.status_code == 201
    assert third.status_code == 201  # the slot is free again


@bounded
async def test_a_failing_request_frees_its_slot(
    client: httpx.AsyncClient, runner: BlockingRunner
) -> None:
    runner.fail_with = RuntimeError("boom")
    runner.release.set()
    user = bearer(token("authenticated"))

    failed = await client.post("/v1/device-tokens", json=DEVICE, headers=user)
    runner.fail_with = None
    after = await client.post("/v1/device-tokens", json=DEVICE, headers=user)

    assert failed.status_code == 500
    assert after.status_code == 201


@bounded
async def test_without_a_limit_nothing_is_shed(runner: BlockingRunner) -> None:
    app = create_app(runner, legacy_authenticator(), limits=ApiLimits(max_in_flight=0))
    user = bearer(token("authenticated"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as client:
        waiting = [
            asyncio.create_task(client.post("/v1/device-tokens", json=DEVICE, headers=user))
            for _ in range(50)
        ]
        await runner.entered.wait()
        runner.release.set()
        answers = await asyncio.gather(*waiting)

    assert {a.status_code for a in answers} == {201}


@bounded
async def test_liveness_never_asks_the_database(
    client: httpx.AsyncClient, runner: BlockingRunner
) -> None:
    runner.health_blocks = True

    live = await client.get("/livez")

    assert live.status_code == 200
    assert live.json()["status"] == "ok"


@bounded
async def test_readiness_answers_while_the_database_hangs(
    client: httpx.AsyncClient, runner: BlockingRunner
) -> None:
    runner.health_blocks = True

    for path in ("/readyz", "/healthz"):
        answer = await client.get(path)

        assert answer.status_code == 503
        assert answer.json()["database"] is False
        assert "did not answer within 0.2 s" in answer.json()["reason"]


@bounded
async def test_a_failing_check_is_not_ready_rather_than_an_error(
    client: httpx.AsyncClient, runner: BlockingRunner
) -> None:
    runner.health_fails = True

    answer = await client.get("/readyz")

    assert answer.status_code == 503
    assert answer.json()["reason"] == "the database check failed; see the server log"


class Schema:
    """A readiness check reporting what the test says."""

    def __init__(self, report: Readiness) -> None:
        self.report = report

    async def readiness(self) -> Readiness:
        return self.report


@pytest.mark.parametrize(
    ("report", "status"),
    [
        (Readiness(True, migrations_pending=[]), 200),
        (Readiness(True, ["20991231000000"], "migrations pending: 20991231000000"), 503),
        (Readiness(False, reason="the database does not answer: cannot connect"), 503),
    ],
)
@bounded
async def test_readiness_reports_what_the_check_found(
    runner: BlockingRunner, report: Readiness, status: int
) -> None:
    app = create_app(runner, legacy_authenticator(), readiness=Schema(report))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as client:
        ready = await client.get("/readyz")
        health = await client.get("/healthz")

    assert ready.status_code == health.status_code == status
    assert ready.json() == health.json()
    assert ready.json()["status"] == ("ok" if status == 200 else "degraded")
    assert ready.json()["migrations_pending"] == report.migrations_pending
    assert ready.json()["reason"] == report.reason
    assert ready.headers["Cache-Control"] == "no-store"


def test_the_openapi_document_describes_the_probes_and_the_limits(app: Any) -> None:
    document = app.openapi()

    assert {"/livez", "/readyz", "/healthz"} <= set(document["paths"])
    ready = document["paths"]["/readyz"]["get"]["responses"]
    assert {"200", "503"} <= set(ready)
    device = document["paths"]["/v1/device-tokens"]["post"]["responses"]
    assert "413" in device
    assert "Retry-After" in device["503"]["headers"]


def test_the_openapi_document_names_each_kind_of_credential_apart(app: Any) -> None:
    document = app.openapi()

    def schemes(path: str, method: str) -> set[str]:
        return {name for entry in document["paths"][path][method]["security"] for name in entry}

    assert schemes("/v1/device-tokens", "post") == {"UserAccessToken"}
    assert schemes("/functions/v1/dispatch", "post") == {"JobApiKey", "JobApiKeyBearer"}
    defined = document["components"]["securitySchemes"]
    assert defined["UserAccessToken"]["scheme"] == "bearer"
    assert defined["JobApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "apikey",
        "description": "One of the API's secret keys in the apikey header.",
    }
