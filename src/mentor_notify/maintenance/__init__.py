"""Housekeeping jobs: retention of delivery records."""

from mentor_notify.maintenance.retention import (
    MINIMUM_RETENTION,
    PRUNED_TABLES,
    PruneResult,
    RetentionError,
    RetentionPruner,
    parse_retention,
)

__all__ = [
    "MINIMUM_RETENTION",
    "PRUNED_TABLES",
    "PruneResult",
    "RetentionError",
    "RetentionPruner",
    "parse_retention",
]
