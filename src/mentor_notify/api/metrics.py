"""Prometheus metrics of the API process: runs, notifications, sends, queue depth, durations."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """One registry per app, so several apps (tests) never share counters."""

    def __init__(self) -> None:
        """Create the registry and every metric in it."""
        self.registry = CollectorRegistry()
        self.runs = Counter(
            "mentor_notify_runs",
            "Job runs by job and outcome (ok or failed).",
            ["job", "outcome"],
            registry=self.registry,
        )
        self.run_seconds = Histogram(
            "mentor_notify_run_duration_seconds",
            "How long job runs took.",
            ["job"],
            registry=self.registry,
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
        )
        self.notifications = Counter(
            "mentor_notify_notifications_created",
            "In-app notifications created, by job.",
            ["job"],
            registry=self.registry,
        )
        self.sends = Counter(
            "mentor_notify_push_sends",
            "Push deliveries by outcome (sent or failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "mentor_notify_queue_depth",
            "Pushes waiting in the outbox, read at scrape time.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
