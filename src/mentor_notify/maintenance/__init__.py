"""Housekeeping jobs: retention of delivery records."""

from mentor_notify.maintenance.retention import (
    MAXIMUM_RETENTION,
    MINIMUM_RETENTION,
    PRUNED_TABLES,
    PruneResult,
    RetentionError,
    RetentionPruner,
    parse_retention,
)

__all__ = [
    "MAXIMUM_RETENTION",
    "MINIMUM_RETENTION",
    "PRUNED_TABLES",
    "PruneResult",
    "RetentionError",
    "RetentionPruner",
    "parse_retention",
]
