"""Housekeeping jobs: retention of delivery records."""

from mentor_notify.maintenance.retention import (
    DEFAULT_PUSH_RETENTION,
    MAXIMUM_RETENTION,
    MINIMUM_RETENTION,
    PRUNED_TABLES,
    PruneResult,
    RetentionError,
    RetentionPruner,
    parse_retention,
)

__all__ = [
    "DEFAULT_PUSH_RETENTION",
    "MAXIMUM_RETENTION",
    "MINIMUM_RETENTION",
    "PRUNED_TABLES",
    "PruneResult",
    "RetentionError",
    "RetentionPruner",
    "parse_retention",
]
