"""Housekeeping jobs: retention of delivery records."""

from mentor_notify.maintenance.retention import (
    MAXIMUM_RETENTION,
    MINIMUM_RETENTION,
    PRUNED_TABLES,
    PUSH_TABLE,
    PruneResult,
    RetentionError,
    RetentionPruner,
    parse_push_retention,
    parse_retention,
)

__all__ = [
    "MAXIMUM_RETENTION",
    "MINIMUM_RETENTION",
    "PRUNED_TABLES",
    "PUSH_TABLE",
    "PruneResult",
    "RetentionError",
    "RetentionPruner",
    "parse_push_retention",
    "parse_retention",
]
