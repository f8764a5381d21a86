"""The worker's health endpoint, for a load balancer, systemd or a monitor."""

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from mentor_notify import __version__
from mentor_notify.worker.worker import Worker, WorkerHealth


def create_health_app(worker: Worker) -> FastAPI:
    """GET /healthz: 200 with what the worker has done while its database answers, else 503."""
    app = FastAPI(title="mentor-notify worker", version=__version__, docs_url=None)

    @app.get("/healthz", responses={503: {"model": WorkerHealth}})
    async def healthz() -> JSONResponse:
        """Liveness, database reachability, the latest cycle per organisation, pushes sent."""
        health = await worker.health()
        return JSONResponse(
            health.model_dump(mode="json"), status_code=200 if health.database else 503
        )

    return app
