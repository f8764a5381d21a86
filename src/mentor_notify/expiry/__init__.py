"""Certificate expiry: the daily sweep (selecting in SQL) and the orchestrator it runs."""

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
