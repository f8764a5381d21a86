"""GET /metrics for the processes without the API: the worker (beside its health
endpoints) and `push dispatch` (on a port of its own, `--metrics-port`)."""

from fastapi import FastAPI, Response

from mentor_notify import __version__
from mentor_notify.metrics.database import DatabaseGauges
from mentor_notify.metrics.registry import Metrics

# Prometheus's text exposition format, version 0.0.4.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def add_metrics_route(app: FastAPI, metrics: Metrics, gauges: DatabaseGauges) -> None:
    """Serve `metrics` at GET /metrics on `app`, the database gauges read per scrape."""

    @app.get("/metrics", response_class=Response)
    async def prometheus_metrics() -> Response:
        """Prometheus metrics in the text exposition format."""
        await gauges.refresh(metrics)
        return Response(metrics.render(), media_type=CONTENT_TYPE)


def create_metrics_app(metrics: Metrics, gauges: DatabaseGauges, title: str) -> FastAPI:
    """An app with GET /metrics only (the process's health endpoints may join it)."""
    app = FastAPI(title=title, version=__version__, docs_url=None, redoc_url=None)
    add_metrics_route(app, metrics, gauges)
    return app
