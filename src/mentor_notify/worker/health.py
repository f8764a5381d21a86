"""The worker's operations endpoints, for a load balancer, systemd or a monitor."""

from fastapi import FastAPI
from pydantic import BaseModel

from mentor_notify.service import ServiceMetrics, create_ops_app
from mentor_notify.worker.worker import Worker, WorkerHealth


def create_health_app(worker: Worker, metrics: ServiceMetrics) -> FastAPI:
    """GET /livez (the process is up), GET /readyz and GET /healthz (200 with what the
    worker has done while its database answers and is migrated, else 503 with the
    reason) and GET /metrics (`metrics`)."""

    async def readiness() -> tuple[bool, BaseModel]:
        health = await worker.health()
        metrics.note_ready(health.status == "ok")
        return health.status == "ok", health

    return create_ops_app("mentor-notify worker", readiness, metrics, WorkerHealth)
