"""Certificate expiry: the daily set-based sweep and the ticket-004 orchestrator."""

from mentor_notify.expiry.models import (
    FailedRecord,
    MentorRecord,
    MissingCoordinator,
    OrchestrationResult,
    OrganisationSweep,
    PlannedNotice,
    SweepResult,
)
from mentor_notify.expiry.sweep import (
    DEFAULT_PARTITIONS,
    EXPIRY_LOCK_CLASS,
    RENEWAL_HISTORY_WARNING,
    ExpirySweep,
)
from mentor_notify.organisations import NoOrganisationVisible, UnknownOrganisation

__all__ = [
    "DEFAULT_PARTITIONS",
    "EXPIRY_LOCK_CLASS",
    "RENEWAL_HISTORY_WARNING",
    "ExpirySweep",
    "FailedRecord",
    "MentorRecord",
    "MissingCoordinator",
    "NoOrganisationVisible",
    "OrchestrationResult",
    "OrganisationSweep",
    "PlannedNotice",
    "SweepResult",
    "UnknownOrganisation",
]
