"""The FastAPI application: the edge-function equivalents and the device-token endpoint.

Every error reaches the client as JSON `{"error": {"code", "message"}}` with a
4xx or 5xx status; a stack trace never does (it goes to the log with the
request's run id).
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol
from uuid import UUID

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import Counter, Gauge
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mentor_notify import __version__
from mentor_notify.api.auth import Authenticator, Forbidden, Unauthenticated
from mentor_notify.api.jobs import (
    DispatchRequest,
    ExpiryRequest,
    JobOutcome,
    JobResponse,
    JobRunner,
    ScenarioRequest,
)
from mentor_notify.api.signing_keys import SigningKeysUnavailable
from mentor_notify.config import Settings
from mentor_notify.db import DatabaseError
from mentor_notify.db.errors import ConnectionFailed, ConstraintViolation
from mentor_notify.db.probe import Readiness
from mentor_notify.domain.problems import describe_problems
from mentor_notify.expiry import UnknownOrganisation
from mentor_notify.metrics import Metrics
from mentor_notify.push.tokens import DeviceTokenRegistration, DeviceTokenResponse
from mentor_notify.service.endpoints import Health, Liveness, health_response

log = structlog.get_logger(__name__)


class ErrorDetail(BaseModel):
    """What went wrong, for the client."""

    code: str
    message: str


class ErrorBody(BaseModel):
    """Body of every error response."""

    error: ErrorDetail


class ReadinessCheck(Protocol):
    """What GET /readyz asks; `DatabaseJobRunner` is one. It must answer promptly
    whatever the state of the database."""

    async def readiness(self) -> Readiness:
        """Whether the database answers and its schema is up to date with the code."""
        ...


@dataclass(frozen=True)
class ApiLimits:
    """Limits that protect one API process; see the settings of the same names."""

    max_body_bytes: int = 65536
    max_in_flight: int = 16
    health_timeout_seconds: float = 0.5
    # Shed load comes back soon: a second spreads the retries without idling the server.
    retry_after_seconds: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> "ApiLimits":
        """The limits configured in `settings`."""
        return cls(
            max_body_bytes=settings.api_max_body_bytes,
            max_in_flight=settings.api_max_in_flight,
            health_timeout_seconds=settings.api_health_timeout_seconds,
        )


# Never refused for load: an orchestrator that cannot see a busy process is healthy
# would restart it, and scrapes are how an operator sees the overload.
UNLIMITED_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})
# Paths with an admission budget of their own, outside the in-flight limit: the
# certificate sync's webhooks, which a counterpart tries again at most once (so a
# 503 there loses an event) and which only store a row (issue 24).
OWN_BUDGET_PREFIXES = ("/v1/sync/",)


class ApiError(Exception):
    """An error with a status, a stable code and a message for the client."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _error_bytes(code: str, message: str) -> bytes:
    return ErrorBody(error=ErrorDetail(code=code, message=message)).model_dump_json().encode()


async def _send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class InFlight:
    """How many requests the process is working on now."""

    def __init__(self) -> None:
        """Start at none."""
        self.now = 0


class LimitInFlight:
    """ASGI middleware: at most `limit` requests at once; beyond it 503 with
    Retry-After at once.

    Queueing instead would only make every caller wait longer (the server's rate
    does not grow with its queue), until clients time out on work already done.
    One event loop runs the process, so the counter needs no lock.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        retry_after: int,
        counter: InFlight,
        on_shed: Callable[[], None],
    ) -> None:
        """Wrap `app`; `limit` 0 means no limit."""
        self._app = app
        self._limit = limit
        self._counter = counter
        self._on_shed = on_shed
        self._headers = [(b"retry-after", str(retry_after).encode())]
        self._body = _error_bytes(
            "overloaded",
            f"the server is at its limit of {limit} requests in flight; "
            f"retry after {retry_after} s",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or refuse it when the process is full."""
        if (
            scope["type"] != "http"
            or scope["path"] in UNLIMITED_PATHS
            or scope["path"].startswith(OWN_BUDGET_PREFIXES)
        ):
            await self._app(scope, receive, send)
            return
        if self._limit and self._counter.now >= self._limit:
            self._on_shed()
            await _send_json(send, 503, self._body, self._headers)
            return
        self._counter.now += 1
        try:
            await self._app(scope, receive, send)
        finally:
            self._counter.now -= 1


class LimitBody:
    """ASGI middleware: a request body over `max_bytes` is answered 413 before the app
    sees it, without reading the rest.

    With a Content-Length the decision is made from the header, before a byte of the
    body is read (a client waiting for `100 Continue` never sends it). Without one
    (chunked) the body is read up to the limit and then replayed to the app; our
    bodies are small, so holding them is cheap. The 413 closes the connection, so the
    server stops reading the rest of a body it will never use. (FastAPI's own
    `max_body_size` acts only once the endpoint reads the body, and keeps the
    connection, so the server still reads, and discards, the rest of it.)
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        """Wrap `app`."""
        self._app = app
        self._max = max_bytes
        self._body = _error_bytes(
            "payload_too_large", f"the request body is larger than {max_bytes} bytes"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, or read a body of unknown length up to the limit."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        lengths = [v for k, v in scope["headers"] if k == b"content-length"]
        if lengths:
            # The server enforces the declared length, so checking it is enough.
            if any(not v.strip().isdigit() or int(v) > self._max for v in lengths):
                await self._too_large(send)
                return
            await self._app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before its body was complete
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self._max:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self._app(scope, _replay(b"".join(chunks), receive), send)

    async def _too_large(self, send: Send) -> None:
        await _send_json(send, 413, self._body, [(b"connection", b"close")])


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands out `body` once, then whatever the server says next
    (a disconnect)."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


class BindRunId:
    """ASGI middleware: one id per request, on every log entry it causes and in
    X-Run-Id, so a caller's report can be matched with the server's log.

    Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware
    runs every request through an extra task and memory streams, which cost a fifth
    of the server's CPU per device-token registration (BENCHMARKS.md).
    """

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Bind a new run id for the request and name it in the response."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        run_id = str(uuid.uuid4())
        # What `request.state.run_id` reads in the endpoints and error handlers.
        scope.setdefault("state", {})["run_id"] = run_id
        header = (b"x-run-id", run_id.encode())

        async def send_with_run_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        with structlog.contextvars.bound_contextvars(run_id=run_id):
            await self._app(scope, receive, send_with_run_id)


class _RunnerReadiness:
    """Readiness from a runner that only knows whether its database answers, bounded
    in time so that a hanging database cannot hang the probe."""

    def __init__(self, runner: JobRunner, timeout: float) -> None:
        self._runner = runner
        self._timeout = timeout

    async def readiness(self) -> Readiness:
        try:
            async with asyncio.timeout(self._timeout):
                answers = await self._runner.healthy()
        except TimeoutError:
            return Readiness(False, reason=f"the database did not answer within {self._timeout} s")
        except Exception:
            # A check that fails says no more than one that answers no.
            log.exception("the health check failed")
            return Readiness(False, reason="the database check failed; see the server log")
        return Readiness(answers, reason=None if answers else "the database does not answer")


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "The request is malformed."),
        (401, "No valid credentials (API key or access token)."),
        (403, "Valid credentials of a kind this endpoint does not take."),
        (404, "No such organisation, device token or path."),
        (413, "The request body is larger than MENTOR_NOTIFY_API_MAX_BODY_BYTES."),
        (422, "The request body is invalid; the message says which field and why."),
        (500, "Internal error; the server log has the details."),
        (
            503,
            "The database, or the project's signing keys, cannot be reached; or the "
            "process is at its limit of requests in flight (code `overloaded`): try "
            "again after Retry-After seconds.",
        ),
    )
}
_ERRORS[503]["headers"] = {
    "Retry-After": {
        "description": "Seconds to wait before trying again (when given).",
        "schema": {"type": "integer"},
    }
}


def create_app(
    runner: JobRunner,
    auth: Authenticator,
    *,
    limits: ApiLimits | None = None,
    readiness: ReadinessCheck | None = None,
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """The API over `runner`; callers are authenticated by `auth`.

    `limits` bound the request bodies and the requests in flight (defaults: those of
    the settings' defaults). `readiness` answers GET /readyz and /healthz; without it
    they report only whether `runner.healthy()` answers true in time. `routers` add
    further endpoints (the certificate sync's).
    """
    limits = limits or ApiLimits()
    readiness = readiness or _RunnerReadiness(runner, limits.health_timeout_seconds)
    app = FastAPI(
        title="mentor-notify",
        version=__version__,
        description="Certificate-expiry, follow-up and push jobs of the peer-mentor "
        "notification system, as Supabase edge-function equivalents.\n\n"
        "Operations: `GET /livez` (liveness: the process is up; never asks the "
        "database), `GET /readyz` (readiness: 503 with the reason while the database "
        "does not answer within the health timeout or migrations are pending) and "
        "`GET /healthz` (the same as /readyz, for existing clients). Request bodies "
        "over the configured limit are answered 413; beyond the configured number of "
        "requests in flight a request is answered 503 with Retry-After at once "
        "(health checks and /metrics never are).",
        responses=_ERRORS,
    )
    metrics = Metrics(database=False)
    in_flight = InFlight()
    shed = Counter(
        "mentor_notify_http_requests_shed",
        "Requests refused with 503 because the process was at its in-flight limit.",
        registry=metrics.registry,
    )
    Gauge(
        "mentor_notify_http_requests_in_flight",
        "Requests the process is working on, read at scrape time.",
        registry=metrics.registry,
    ).set_function(lambda: in_flight.now)
    # One OpenAPI security scheme per kind of credential, so the document says
    # which endpoint takes which: a user's access token is never a job key, and
    # the sync's webhook keys (api/sync.py) are neither.
    user_bearer = HTTPBearer(
        scheme_name="UserAccessToken",
        auto_error=False,
        description="A signed-in user's Supabase access token (a JWT signed with one of the "
        "project's signing keys, or its legacy JWT secret).",
    )
    job_bearer = HTTPBearer(
        scheme_name="JobApiKeyBearer",
        auto_error=False,
        description="One of the API's secret keys as the bearer token (or, while allowed, "
        "the project's legacy service-role key).",
    )
    api_key = APIKeyHeader(
        name="apikey",
        scheme_name="JobApiKey",
        auto_error=False,
        description="One of the API's secret keys in the apikey header.",
    )

    def token_of(credentials: HTTPAuthorizationCredentials | None) -> str | None:
        if credentials is None or credentials.scheme.lower() != "bearer":
            return None
        return credentials.credentials

    async def job_caller(
        key: Annotated[str | None, Depends(api_key)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(job_bearer)],
    ) -> str:
        try:
            return await auth.job_caller(key, token_of(credentials))
        except Unauthenticated as exc:
            raise ApiError(401, "unauthorized", str(exc)) from exc
        except Forbidden as exc:
            raise ApiError(403, "forbidden", str(exc)) from exc

    async def signed_in_user(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(user_bearer)],
    ) -> UUID:
        try:
            return await auth.user(token_of(credentials))
        except Unauthenticated as exc:
            raise ApiError(401, "unauthorized", str(exc)) from exc
        except Forbidden as exc:
            raise ApiError(403, "forbidden", str(exc)) from exc

    JobCaller = Annotated[str, Depends(job_caller)]
    User = Annotated[UUID, Depends(signed_in_user)]

    async def run_job(
        request: Request, job: str, work: Callable[[str], Awaitable[JobOutcome]]
    ) -> JobResponse:
        run_id: str = request.state.run_id
        started = datetime.now(UTC)
        clock = time.perf_counter()
        with structlog.contextvars.bound_contextvars(job=job):
            log.info("job started")
            try:
                outcome = await work(run_id)
            except Exception:
                metrics.runs.labels(job, "failed").inc()
                raise
            elapsed = time.perf_counter() - clock
            metrics.run_seconds.labels(job).observe(elapsed)
            metrics.runs.labels(job, "failed" if outcome.failed else "ok").inc()
            metrics.notifications.labels(job).inc(outcome.notifications_created)
            metrics.sends.labels("sent").inc(outcome.pushes_sent)
            metrics.sends.labels("failed").inc(outcome.pushes_failed)
            log.info("job finished", ok=not outcome.failed, duration_ms=round(elapsed * 1000, 1))
        return JobResponse(
            job=job,
            run_id=run_id,
            started_at=started,
            duration_ms=round(elapsed * 1000, 3),
            ok=not outcome.failed,
            result=outcome.result,
        )

    @app.post("/functions/v1/certificate-expiry", tags=["jobs"])
    async def certificate_expiry(
        http: Request, _: JobCaller, body: ExpiryRequest | None = None
    ) -> JobResponse:
        """Run the certificate-expiry sweep (API key only)."""
        request = body or ExpiryRequest()
        return await run_job(
            http, "certificate-expiry", lambda r: runner.certificate_expiry(request, r)
        )

    @app.post("/functions/v1/scenario-evaluation", tags=["jobs"])
    async def scenario_evaluation(
        http: Request, _: JobCaller, body: ScenarioRequest | None = None
    ) -> JobResponse:
        """Evaluate the follow-up scenarios (API key only)."""
        request = body or ScenarioRequest()
        return await run_job(
            http, "scenario-evaluation", lambda r: runner.scenario_evaluation(request, r)
        )

    @app.post("/functions/v1/dispatch", tags=["jobs"])
    async def dispatch(
        http: Request, _: JobCaller, body: DispatchRequest | None = None
    ) -> JobResponse:
        """Send the pushes that are due, once (API key only)."""
        request = body or DispatchRequest()
        return await run_job(http, "dispatch", lambda r: runner.dispatch(request, r))

    @app.post("/v1/device-tokens", tags=["devices"], status_code=201)
    async def register_device_token(
        user: User, body: DeviceTokenRegistration
    ) -> DeviceTokenResponse:
        """Register the calling user's device token, or refresh it if known."""
        return await runner.register_device_token(user, body)

    @app.delete("/v1/device-tokens/{token_id}", tags=["devices"], status_code=204)
    async def delete_device_token(user: User, token_id: UUID) -> Response:
        """Delete one of the calling user's device tokens."""
        if not await runner.delete_device_token(user, token_id):
            raise ApiError(404, "not_found", "you have no device token with that id")
        return Response(status_code=204)

    async def ready() -> JSONResponse:
        return health_response(await readiness.readiness())

    not_ready: dict[int | str, dict[str, Any]] = {
        503: {
            "model": Health,
            "description": "Not ready: the database did not answer in time, or migrations "
            "are pending; `reason` says which.",
        }
    }

    @app.get("/livez", tags=["operations"], response_model=Liveness)
    async def livez() -> Liveness:
        """Liveness: the process is up and its event loop turns. Never asks the database,
        so a database outage does not get the process restarted."""
        return Liveness(status="ok", version=__version__)

    @app.get("/readyz", tags=["operations"], response_model=Health, responses=not_ready)
    async def readyz() -> JSONResponse:
        """Readiness: 200 when the database answers (within the health timeout, default
        0.5 s) and has every migration this code has; else 503 with the reason."""
        return await ready()

    @app.get("/healthz", tags=["operations"], response_model=Health, responses=not_ready)
    async def healthz() -> JSONResponse:
        """The same as GET /readyz (kept for existing clients)."""
        return await ready()

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def prometheus_metrics() -> Response:
        """Prometheus metrics in the text exposition format."""
        metrics.queue_depth.set(await runner.queue_depth())
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    for router in routers:
        app.include_router(router)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _error(exc.status, exc.code, exc.message, headers)

    @app.exception_handler(SigningKeysUnavailable)
    async def signing_keys_unavailable(_: Request, exc: SigningKeysUnavailable) -> JSONResponse:
        return _error(503, "signing_keys_unavailable", str(exc), {"Retry-After": "60"})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = describe_problems(exc.errors(), "body", skip=("body",))
        return _error(422, "invalid_request", problems or "the request is invalid")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        # Starlette names the methods a 405's path takes in `Allow` (RFC 9110 requires
        # it); the JSON answer keeps it.
        headers = None if exc.headers is None else dict(exc.headers)
        return _error(exc.status_code, code, str(exc.detail), headers)

    @app.exception_handler(UnknownOrganisation)
    async def unknown_organisation(_: Request, exc: UnknownOrganisation) -> JSONResponse:
        return _error(404, "not_found", str(exc))

    @app.exception_handler(Forbidden)
    async def forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return _error(403, "forbidden", str(exc))

    @app.exception_handler(ConstraintViolation)
    async def constraint_violation(_: Request, exc: ConstraintViolation) -> JSONResponse:
        # The message names tables and constraints: for the operator's log, not for
        # an app user (issue 26).
        log.warning("request refused by a database rule", error=str(exc))
        return _error(
            422,
            "constraint_violation",
            "the request breaks a rule of the stored data; the server log has the details",
        )

    @app.exception_handler(ConnectionFailed)
    async def database_down(_: Request, exc: ConnectionFailed) -> JSONResponse:
        log.error("database unreachable", error=str(exc))
        return _error(503, "database_unavailable", "the database is unreachable; try again later")

    @app.exception_handler(DatabaseError)
    async def database_error(_: Request, exc: DatabaseError) -> JSONResponse:
        log.error("database error", error=str(exc))
        return _error(
            500, "database_error", "the database refused the operation; see the server log"
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Outside the middleware's context by now: name the request's run id.
        log.exception("unexpected error", run_id=getattr(request.state, "run_id", None))
        return _error(500, "internal_error", "internal error; the server log has the details")

    # The last added runs first: every answer carries its run id, and a request is
    # counted (or shed) before its body is read.
    app.add_middleware(LimitBody, max_bytes=limits.max_body_bytes)
    app.add_middleware(
        LimitInFlight,
        limit=limits.max_in_flight,
        retry_after=limits.retry_after_seconds,
        counter=in_flight,
        on_shed=shed.inc,
    )
    app.add_middleware(BindRunId)
    return app
