"""The FastAPI application: the edge-function equivalents and the device-token endpoint.

Every error reaches the client as JSON `{"error": {"code", "message"}}` with a
4xx or 5xx status; a stack trace never does (it goes to the log with the
request's run id).
"""

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import structlog
from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

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
from mentor_notify.api.metrics import Metrics
from mentor_notify.api.signing_keys import SigningKeysUnavailable
from mentor_notify.db import DatabaseError
from mentor_notify.db.errors import ConnectionFailed, ConstraintViolation
from mentor_notify.expiry import UnknownOrganisation
from mentor_notify.push.tokens import DeviceTokenRegistration, DeviceTokenResponse

log = structlog.get_logger(__name__)


class ErrorDetail(BaseModel):
    """What went wrong, for the client."""

    code: str
    message: str


class ErrorBody(BaseModel):
    """Body of every error response."""

    error: ErrorDetail


class Health(BaseModel):
    """Body of GET /healthz."""

    status: str
    database: bool
    version: str


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


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "The request is malformed."),
        (401, "No valid credentials (API key or access token)."),
        (403, "Valid credentials of a kind this endpoint does not take."),
        (404, "No such organisation, device token or path."),
        (422, "The request body is invalid; the message says which field and why."),
        (500, "Internal error; the server log has the details."),
        (503, "The database, or the project's signing keys, cannot be reached."),
    )
}


def create_app(runner: JobRunner, auth: Authenticator) -> FastAPI:
    """The API over `runner`; callers are authenticated by `auth`."""
    app = FastAPI(
        title="mentor-notify",
        version=__version__,
        description="Certificate-expiry, follow-up and push jobs of the peer-mentor "
        "notification system, as Supabase edge-function equivalents.",
        responses=_ERRORS,
    )
    metrics = Metrics()
    bearer = HTTPBearer(
        auto_error=False,
        description="A signed-in user's Supabase access token (device tokens), or one of "
        "the API's secret keys (jobs).",
    )
    api_key = APIKeyHeader(
        name="apikey", auto_error=False, description="One of the API's secret keys (jobs)."
    )

    def token_of(credentials: HTTPAuthorizationCredentials | None) -> str | None:
        if credentials is None or credentials.scheme.lower() != "bearer":
            return None
        return credentials.credentials

    async def job_caller(
        key: Annotated[str | None, Depends(api_key)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> str:
        try:
            return await auth.job_caller(key, token_of(credentials))
        except Unauthenticated as exc:
            raise ApiError(401, "unauthorized", str(exc)) from exc
        except Forbidden as exc:
            raise ApiError(403, "forbidden", str(exc)) from exc

    async def signed_in_user(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> UUID:
        try:
            return await auth.user(token_of(credentials))
        except Unauthenticated as exc:
            raise ApiError(401, "unauthorized", str(exc)) from exc
        except Forbidden as exc:
            raise ApiError(403, "forbidden", str(exc)) from exc

    JobCaller = Annotated[str, Depends(job_caller)]
    User = Annotated[UUID, Depends(signed_in_user)]

    @app.middleware("http")
    async def bind_run_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        # One id per request, on every log entry it causes and in X-Run-Id, so a
        # caller's report can be matched with the server's log.
        run_id = str(uuid.uuid4())
        request.state.run_id = run_id
        with structlog.contextvars.bound_contextvars(run_id=run_id):
            response = await call_next(request)
        response.headers["X-Run-Id"] = run_id
        return response

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

    @app.get("/healthz", tags=["operations"], responses={503: {"model": Health}})
    async def healthz() -> JSONResponse:
        """Liveness and database reachability."""
        database = await runner.healthy()
        body = Health(
            status="ok" if database else "degraded", database=database, version=__version__
        )
        return JSONResponse(body.model_dump(), status_code=200 if database else 503)

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def prometheus_metrics() -> Response:
        """Prometheus metrics in the text exposition format."""
        metrics.queue_depth.set(await runner.queue_depth())
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _error(exc.status, exc.code, exc.message, headers)

    @app.exception_handler(SigningKeysUnavailable)
    async def signing_keys_unavailable(_: Request, exc: SigningKeysUnavailable) -> JSONResponse:
        return _error(503, "signing_keys_unavailable", str(exc), {"Retry-After": "60"})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}"
            for e in exc.errors()
        )
        return _error(422, "invalid_request", problems or "the request is invalid")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(UnknownOrganisation)
    async def unknown_organisation(_: Request, exc: UnknownOrganisation) -> JSONResponse:
        return _error(404, "not_found", str(exc))

    @app.exception_handler(ConstraintViolation)
    async def constraint_violation(_: Request, exc: ConstraintViolation) -> JSONResponse:
        return _error(422, "constraint_violation", str(exc))

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

    return app
