"""The operations endpoints of a long-running process, and the gate that answers them
while the process waits for its database.

`create_ops_app` is the small HTTP listener of the worker and of `push dispatch`:
`/livez`, `/readyz` and `/healthz`, beside which each serves its `/metrics` (from the
one registry module, `mentor_notify.metrics`). `StartupGate`
sits in front of any ASGI app, the API's included: until the process is ready to work
it answers those endpoints itself (live, not ready, with the reason) and everything
else 503 with Retry-After; then it hands every request to the app.
"""

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from mentor_notify import __version__
from mentor_notify.db.probe import Readiness


class Health(BaseModel):
    """Body of GET /readyz and GET /healthz: whether this process can serve requests."""

    status: Literal["ok", "degraded"] = Field(
        description="ok (200) when ready, degraded (503) when not; `reason` says why."
    )
    database: bool = Field(description="Whether the database answered in time.")
    migrations_pending: list[str] | None = Field(
        default=None,
        description="Versions of the migrations this code has that the database lacks "
        "(null when not known: the database did not answer, or no supabase/ folder).",
    )
    reason: str | None = Field(default=None, description="Why the process is not ready.")
    version: str


class Liveness(BaseModel):
    """Body of GET /livez: the process is up (the database is not asked)."""

    status: Literal["ok"]
    version: str


def health_of(report: Readiness) -> Health:
    """The /readyz body for `report`."""
    return Health(
        status="ok" if report.ready else "degraded",
        database=report.database,
        migrations_pending=report.migrations_pending,
        reason=report.reason,
        version=__version__,
    )


def health_response(report: Readiness) -> JSONResponse:
    """The /readyz answer for `report`: 200 when ready, else 503 with the reason."""
    return JSONResponse(
        health_of(report).model_dump(),
        status_code=200 if report.ready else 503,
        headers={"Cache-Control": "no-store"},
    )


ReadinessAnswer = Callable[[], Awaitable[tuple[bool, BaseModel]]]


def create_ops_app(title: str, readiness: ReadinessAnswer, body: type[BaseModel]) -> FastAPI:
    """GET /livez (the process is up), GET /readyz and /healthz (200 with `readiness`'s
    body when it says ready, else 503 with it); the process adds its GET /metrics
    (`mentor_notify.metrics.http.add_metrics_route`)."""
    app = FastAPI(title=title, version=__version__, docs_url=None)

    @app.get("/livez")
    async def livez() -> Liveness:
        """The process is up; the database is not asked."""
        return Liveness(status="ok", version=__version__)

    async def ready() -> JSONResponse:
        ok, report = await readiness()
        return JSONResponse(
            report.model_dump(mode="json"),
            status_code=200 if ok else 503,
            headers={"Cache-Control": "no-store"},
        )

    @app.get("/readyz", responses={503: {"model": body}})
    async def readyz() -> JSONResponse:
        """Ready to work (the database answers and is migrated); 503 with the reason."""
        return await ready()

    @app.get("/healthz", responses={503: {"model": body}})
    async def healthz() -> JSONResponse:
        """The same as /readyz (kept for existing monitors)."""
        return await ready()

    return app


class StartupGate:
    """An ASGI app that answers for a process still waiting for its database, until
    `open` hands it the real app.

    Meanwhile /livez is 200, /readyz and /healthz 503 with what the wait last found
    (answered at once, never waiting on the database), and every other request
    (/metrics included: the process has nothing to count yet) 503 `not_ready` with
    Retry-After.
    """

    def __init__(self, latest: Callable[[], Readiness]) -> None:
        """`latest` gives what the wait last found."""
        self._app: ASGIApp = _waiting_app(latest)

    def open(self, app: ASGIApp) -> None:
        """From now on every request goes to `app`."""
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def _waiting_app(latest: Callable[[], Readiness]) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/livez")
    async def livez() -> Liveness:
        return Liveness(status="ok", version=__version__)

    @app.get("/readyz")
    @app.get("/healthz")
    async def readyz() -> JSONResponse:
        return health_response(latest())

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
    async def not_ready(_: Request) -> JSONResponse:
        report = latest()
        error: dict[str, Any] = {
            "code": "not_ready",
            "message": f"the service is starting: {report.reason}",
        }
        # Clients come back soon; the wait itself retries at most every 30 s.
        return JSONResponse({"error": error}, status_code=503, headers={"Retry-After": "5"})

    return app
