"""The worker's health endpoints, for a load balancer, systemd or a monitor."""

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from mentor_notify import __version__
from mentor_notify.metrics import DatabaseGauges, Metrics
from mentor_notify.metrics.http import add_metrics_route
from mentor_notify.worker.worker import Worker, WorkerHealth


def create_health_app(
    worker: Worker, metrics: Metrics | None = None, gauges: DatabaseGauges | None = None
) -> FastAPI:
    """GET /livez (the process is up), GET /readyz and GET /healthz (200 with what the
    worker has done while its database answers and is migrated, else 503 with the
    reason), and GET /metrics when given the process's `metrics` and `gauges`."""
    app = FastAPI(title="mentor-notify worker", version=__version__, docs_url=None)
    if metrics is not None and gauges is not None:
        add_metrics_route(app, metrics, gauges)

    @app.get("/livez")
    async def livez() -> dict[str, str]:
        """The process is up; the database is not asked."""
        return {"status": "ok", "version": __version__}

    async def readiness() -> JSONResponse:
        health = await worker.health()
        ready = health.status == "ok"
        return JSONResponse(health.model_dump(mode="json"), status_code=200 if ready else 503)

    @app.get("/readyz", responses={503: {"model": WorkerHealth}})
    async def readyz() -> JSONResponse:
        """Database reachable and migrated, the latest cycle per organisation, pushes sent."""
        return await readiness()

    @app.get("/healthz", responses={503: {"model": WorkerHealth}})
    async def healthz() -> JSONResponse:
        """The same as /readyz (kept for existing monitors)."""
        return await readiness()

    return app
