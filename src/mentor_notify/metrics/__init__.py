"""Prometheus metrics of every long-running process: one registry module, names in
docs/operations.md."""

from mentor_notify.metrics.database import DatabaseGauges
from mentor_notify.metrics.registry import Metrics, answer_class

__all__ = ["DatabaseGauges", "Metrics", "answer_class"]
