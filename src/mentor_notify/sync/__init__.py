"""Inbound certificate sync from membership systems (issue 19): Dataverse webhooks
and our own `v1` contract into a durable inbox, applied through the certificate
table while the organisation's sync is on."""

from mentor_notify.sync.dataverse import parse_dataverse
from mentor_notify.sync.keys import WebhookKeys
from mentor_notify.sync.models import (
    CallerKeys,
    ContractBroken,
    DataverseMapping,
    DateBehavior,
    DeadEvent,
    EventStatus,
    EventType,
    InvalidEvent,
    InvalidMapping,
    NewWebhookKey,
    OutcomeCounts,
    Receipt,
    ReplayResult,
    Source,
    StatusRow,
    SyncError,
    SyncEvent,
    UnknownEvents,
    UnknownKey,
    V1Event,
    WebhookKey,
)
from mentor_notify.sync.repository import SyncRepository
from mentor_notify.sync.service import CertificateSync, parse
from mentor_notify.sync.v1 import parse_v1, v1_json_schema
from mentor_notify.sync.worker import SyncApplier

__all__ = [
    "CallerKeys",
    "CertificateSync",
    "ContractBroken",
    "DataverseMapping",
    "DateBehavior",
    "DeadEvent",
    "EventStatus",
    "EventType",
    "InvalidEvent",
    "InvalidMapping",
    "NewWebhookKey",
    "OutcomeCounts",
    "Receipt",
    "ReplayResult",
    "Source",
    "StatusRow",
    "SyncApplier",
    "SyncError",
    "SyncEvent",
    "SyncRepository",
    "UnknownEvents",
    "UnknownKey",
    "V1Event",
    "WebhookKey",
    "WebhookKeys",
    "parse",
    "parse_dataverse",
    "parse_v1",
    "v1_json_schema",
]
