"""The worker's operations endpoints, for a load balancer, systemd or a monitor."""

from fastapi import FastAPI
from pydantic import BaseModel

from mentor_notify.metrics import DatabaseGauges, Metrics
from mentor_notify.metrics.http import add_metrics_route
from mentor_notify.service import create_ops_app
from mentor_notify.worker.worker import Worker, WorkerHealth


def create_health_app(
    worker: Worker, metrics: Metrics | None = None, gauges: DatabaseGauges | None = None
) -> FastAPI:
    """GET /livez (the process is up), GET /readyz and GET /healthz (200 with what the
    worker has done while its database answers and is migrated, else 503 with the
    reason), and GET /metrics when given the process's `metrics` and `gauges`."""

    async def readiness() -> tuple[bool, BaseModel]:
        health = await worker.health()
        return health.status == "ok", health

    app = create_ops_app("mentor-notify worker", readiness, WorkerHealth)
    if metrics is not None and gauges is not None:
        add_metrics_route(app, metrics, gauges)
    return app
