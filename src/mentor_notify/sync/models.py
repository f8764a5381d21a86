"""What the inbound certificate sync reads, stores and reports: typed, and free of
personal data by construction (a parsed event has no field a name could go in)."""

from datetime import date, datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from mentor_notify.db import DatabaseError
from mentor_notify.domain.problems import describe_problems


class SyncError(DatabaseError):
    """The sync's error family; a `DatabaseError`, so the CLI and the API report it
    in one line like every other data-layer failure."""


class InvalidEvent(SyncError):
    """A body that is not an event this endpoint understands; nothing is stored."""


class UnknownMessage(InvalidEvent):
    """A well-formed message of a kind the sync does not handle (another Dataverse
    message or table); nothing is stored."""


class UnknownEvents(SyncError):
    """`sync retry` named events that do not exist or are not dead."""


class UnknownKey(SyncError):
    """`sync keys revoke` named a fingerprint that is no key of the organisation."""


def problems(exc: ValidationError) -> str:
    """Every problem pydantic found, in one line for the sender."""
    return describe_problems(exc.errors(), "event")


class Source(StrEnum):
    """The format an event arrived in."""

    DATAVERSE = "dataverse"
    V1 = "v1"


class EventType(StrEnum):
    """What happened to the certificate, in the source."""

    ISSUED = "issued"
    RENEWED = "renewed"
    EXPIRY_CHANGED = "expiry_changed"
    REVOKED = "revoked"


class EventStatus(StrEnum):
    """Where an event is in the inbox (mirrors certificate_sync_events' CHECK)."""

    PENDING = "pending"
    APPLIED = "applied"
    SUPERSEDED = "superseded"
    DEAD = "dead"


class SyncEvent(BaseModel):
    """One certificate event as the inbox stores it, whatever format it came in."""

    model_config = ConfigDict(frozen=True)

    source: Source
    source_event_id: str = Field(min_length=1, max_length=200)
    event_type: EventType
    external_person_id: str = Field(min_length=1, max_length=200)
    external_certificate_id: str = Field(min_length=1, max_length=200)
    external_type: str | None = Field(default=None, min_length=1, max_length=200)
    issued_on: date | None = None
    expiry_date: date | None = None
    revoked_on: date | None = None
    source_modified_at: AwareDatetime

    @model_validator(mode="after")
    def _dates_fit_the_type(self) -> "SyncEvent":
        if self.event_type is EventType.REVOKED:
            if self.revoked_on is None:
                raise ValueError("a revocation needs revoked_on")
        elif self.expiry_date is None:
            raise ValueError(f"a {self.event_type.value} event needs expiry_date")
        elif self.issued_on is not None and self.issued_on > self.expiry_date:
            raise ValueError("issued_on is after expiry_date")
        return self


class V1Event(BaseModel):
    """Our own versioned certificate event contract, `v1`, for membership systems other
    than Dataverse. Published as JSON Schema (schemas/certificate-event-v1.schema.json)
    and in the OpenAPI document. Unknown fields are refused, so no personal data can
    ride along."""

    model_config = ConfigDict(
        extra="forbid",
        title="CertificateEventV1",
        json_schema_extra={
            "$id": "https://mentor-notify.example/schemas/certificate-event-v1.json"
        },
    )

    version: Literal["v1"] = Field(description="Contract version; always v1.")
    event_id: str = Field(
        min_length=1,
        max_length=200,
        description="The sender's unique id of this event; a repeat delivery with the same id "
        "is stored and applied once.",
    )
    type: Literal["issued", "renewed", "expiry_changed", "revoked"] = Field(
        description="What happened to the certificate."
    )
    occurred_at: AwareDatetime = Field(
        description="When the sender's system modified the certificate, with a UTC offset; "
        "an event older than one already applied for the certificate is superseded."
    )
    person_id: str = Field(
        min_length=1, max_length=200, description="The sender's id of the certificate holder."
    )
    certificate_id: str = Field(
        min_length=1, max_length=200, description="The sender's id of the certificate."
    )
    certificate_type: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The sender's certificate type; required unless type is revoked.",
    )
    issued_on: date | None = Field(
        default=None, description="First day of the certificate period (required for issued)."
    )
    expiry_date: date | None = Field(
        default=None, description="Last valid day (required unless type is revoked)."
    )
    revoked_on: date | None = Field(
        default=None, description="First day no longer valid (required for revoked)."
    )

    @model_validator(mode="after")
    def _complete(self) -> "V1Event":
        if self.type != "revoked" and self.certificate_type is None:
            raise ValueError(f"a {self.type} event needs certificate_type")
        if self.type == "issued" and self.issued_on is None:
            raise ValueError("an issued event needs issued_on")
        return self


class Receipt(BaseModel):
    """Answer to a sender: the event is stored (or was already)."""

    event_id: int | None = Field(
        description="Inbox id of the event (null only when a concurrent duplicate won the race)."
    )
    duplicate: bool = Field(description="The event had been received before; nothing new stored.")
    status: EventStatus | None = Field(description="Where the event is now.")


class OutcomeCounts(BaseModel):
    """How many events one run applied, superseded or dead-lettered."""

    applied: int = 0
    superseded: int = 0
    dead: int = 0

    def add(self, outcome: str, events: int = 1) -> None:
        """Count `events` more of `outcome`."""
        setattr(self, outcome, getattr(self, outcome) + events)


class ReplayResult(BaseModel):
    """What `sync replay` did per organisation; organisations with the sync off are
    listed as held."""

    organisations: dict[str, OutcomeCounts] = Field(default_factory=dict)
    held: dict[str, int] = Field(
        default_factory=dict, description="Pending events of organisations whose sync is off."
    )


class StatusRow(BaseModel):
    """Events per organisation and status (`sync status`)."""

    organization_id: UUID
    slug: str
    enabled: bool
    pending: int
    applied: int
    superseded: int
    dead: int
    oldest_pending_at: datetime | None


class DeadEvent(BaseModel):
    """A dead event and why, for `sync status`."""

    id: int
    slug: str
    event_type: EventType
    reason: str


class WebhookKey(BaseModel):
    """A webhook key of an organisation, named by its fingerprint (the key itself is
    kept nowhere)."""

    id: int
    organization_id: UUID
    slug: str
    fingerprint: str = Field(description="`sha256:` and the first digits of the key's hash.")
    created_at: datetime
    revoked_at: datetime | None = Field(description="When it was revoked; null while live.")


class NewWebhookKey(BaseModel):
    """A key just made by `sync keys add`: the only time the key itself is seen."""

    key: str
    webhook_key: WebhookKey


class CallerKeys(BaseModel):
    """The organisation a sync URL names and the hashes of its live webhook keys."""

    organization_id: UUID
    key_sha256: list[str]
