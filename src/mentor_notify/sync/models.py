"""What the inbound certificate sync reads, stores and reports: typed, and free of
personal data by construction (a parsed event has no field a name could go in)."""

import re
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from mentor_notify.db import DatabaseError
from mentor_notify.domain.problems import describe_problems


class SyncError(DatabaseError):
    """The sync's error family; a `DatabaseError`, so the CLI and the API report it
    in one line like every other data-layer failure."""


class InvalidEvent(SyncError):
    """A body that is not an event this endpoint understands; nothing is stored."""


class ContractBroken(InvalidEvent):
    """A `v1` body that breaks the contract: stored dead (nothing authenticated is
    lost), and refused so that the sender knows."""


class UnknownEvents(SyncError):
    """`sync retry` named events that do not exist or are not dead."""


class InvalidMapping(SyncError):
    """`sync mappings set` was given a name or behaviour Dataverse cannot have."""


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


class DateBehavior(StrEnum):
    """How a Dataverse date column stores its values ("Behavior and format of the date
    and time column", learn.microsoft.com, checked 2026-12-06): UserLocal (the
    default of a new column) stores an instant in UTC, converted from the entering
    user's time zone; DateOnly and TimeZoneIndependent store the date as entered."""

    USER_LOCAL = "UserLocal"
    DATE_ONLY = "DateOnly"
    TIME_ZONE_INDEPENDENT = "TimeZoneIndependent"


_LOGICAL_NAME = r"^[a-z][a-z0-9_]{0,99}$"
# Text the database can store: PostgreSQL's text holds no NUL character.
NO_NUL = r"^[^\x00]*$"


class DataverseMapping(BaseModel):
    """Which Dataverse table and columns hold an organisation's certificates, and how
    its date columns behave. The defaults are the proposal HLF has to confirm (ticket
    001 risk 1); `sync mappings set` stores an organisation's own (the database's
    certificate_sync_mappings holds the same name rule)."""

    model_config = ConfigDict(frozen=True)

    table: str = Field(default="hlf_certificate", pattern=_LOGICAL_NAME)
    person: str = Field(default="hlf_contactid", pattern=_LOGICAL_NAME)
    certificate_type: str = Field(default="hlf_certificatetype", pattern=_LOGICAL_NAME)
    issued_on: str = Field(default="hlf_issuedon", pattern=_LOGICAL_NAME)
    expiry_date: str = Field(default="hlf_expireson", pattern=_LOGICAL_NAME)
    revoked_on: str = Field(default="hlf_revokedon", pattern=_LOGICAL_NAME)
    state: str = Field(default="statecode", pattern=_LOGICAL_NAME)
    modified_on: str = Field(default="modifiedon", pattern=_LOGICAL_NAME)
    version: str = Field(default="versionnumber", pattern=_LOGICAL_NAME)
    date_behavior: DateBehavior = DateBehavior.USER_LOCAL


class SyncEvent(BaseModel):
    """One certificate event as the inbox stores it, whatever format it came in.

    A Dataverse Update without a post-image carries only the columns it changed, and
    a Delete without a pre-image none: what is missing is taken from the certificate
    already known when the event is applied. A delivery that can never be applied as
    received says why in `receive_problem` and is stored dead."""

    model_config = ConfigDict(frozen=True)

    source: Source
    source_event_id: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    event_type: EventType | None
    external_person_id: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=NO_NUL
    )
    external_certificate_id: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=NO_NUL
    )
    external_type: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    issued_on: date | None = None
    expiry_date: date | None = None
    revoked_on: date | None = None
    source_modified_at: AwareDatetime
    source_version: int | None = Field(default=None, ge=0, le=2**63 - 1)
    is_deletion: bool = False
    receive_problem: str | None = None

    @model_validator(mode="after")
    def _dates_fit_the_type(self) -> "SyncEvent":
        if self.receive_problem is not None:
            return self
        if self.event_type is None or self.external_certificate_id is None:
            raise ValueError("an event needs its type and certificate id")
        if self.event_type is EventType.REVOKED and self.revoked_on is None:
            raise ValueError("a revocation needs revoked_on")
        if (
            self.issued_on is not None
            and self.expiry_date is not None
            and self.issued_on > self.expiry_date
        ):
            raise ValueError("issued_on is after expiry_date")
        return self


# The v1 contract's formats, as patterns both the server and the published schema
# apply (JSON Schema's `date-time` is RFC 3339: a 'T', seconds, an offset or 'Z';
# `date` is the full date). A number is neither; a date-time is not a date. Years
# run from 1800 to 9999: a certificate is of this era, and every such date fits
# the database's and Python's ranges in any offset.
_YEAR = "(1[89]|[2-9][0-9])[0-9]{2}"
RFC3339_DATE_TIME = (
    rf"^{_YEAR}-[0-9]{{2}}-[0-9]{{2}}[Tt][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(\.[0-9]{{1,6}})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
FULL_DATE = rf"^{_YEAR}-[0-9]{{2}}-[0-9]{{2}}$"


def _read_as(pattern: str, read: Callable[[str], object], what: str) -> BeforeValidator:
    """Text matching `pattern`, read by `read` (so the strict model gets the value,
    never a coerced number)."""
    compiled = re.compile(pattern)

    def check(value: object) -> object:
        if not isinstance(value, str) or not compiled.match(value):
            raise ValueError(f"must be {what} written as text")
        try:
            return read(value)
        except ValueError:
            raise ValueError(f"must be {what}: {value!r} is no such thing") from None

    return BeforeValidator(check)


Timestamp = Annotated[
    AwareDatetime,
    _read_as(RFC3339_DATE_TIME, datetime.fromisoformat, "an RFC 3339 date-time with an offset"),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": RFC3339_DATE_TIME}),
]
Day = Annotated[
    date,
    _read_as(FULL_DATE, date.fromisoformat, "a date (YYYY-MM-DD)"),
    WithJsonSchema({"type": "string", "format": "date", "pattern": FULL_DATE}),
]

# What each event type needs besides the common fields: the server's rule and the
# published schema's if/then, from this one table.
V1_REQUIRED_BY_TYPE: dict[str, tuple[str, ...]] = {
    "issued": ("certificate_type", "issued_on", "expiry_date"),
    "renewed": ("certificate_type", "expiry_date"),
    "expiry_changed": ("certificate_type", "expiry_date"),
    "revoked": ("revoked_on",),
}
# The one rule JSON Schema cannot state; named in the schema's description.
V1_UNSTATED_RULE = "issued_on, when given with expiry_date, must not be after it"


class V1Event(BaseModel):
    """Our own versioned certificate event contract, `v1`, for membership systems other
    than Dataverse. Published as JSON Schema (schemas/certificate-event-v1.schema.json)
    and in the OpenAPI document. Unknown fields are refused, so no personal data can
    ride along."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        title="CertificateEventV1",
        json_schema_extra={
            "$id": "https://mentor-notify.example/schemas/certificate-event-v1.json"
        },
    )

    version: Literal["v1"] = Field(description="Contract version; always v1.")
    event_id: str = Field(
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
        description="The sender's unique id of this event; a repeat delivery with the same id "
        "is stored and applied once.",
    )
    type: Literal["issued", "renewed", "expiry_changed", "revoked"] = Field(
        description="What happened to the certificate."
    )
    occurred_at: Timestamp = Field(
        description="When the sender's system modified the certificate (RFC 3339, with a UTC "
        "offset); an event older than one already applied for the certificate is superseded, "
        "and of two at the same instant the later to arrive wins."
    )
    person_id: str = Field(
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
        description="The sender's id of the certificate holder: an id, never an e-mail "
        "address, phone number or national identity number (such an event is kept dead).",
    )
    certificate_id: str = Field(
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
        description="The sender's id of the certificate.",
    )
    certificate_type: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
        description="The sender's certificate type; required unless type is revoked.",
    )
    issued_on: Day | None = Field(
        default=None, description="First day of the certificate period (required for issued)."
    )
    expiry_date: Day | None = Field(
        default=None, description="Last valid day (required unless type is revoked)."
    )
    revoked_on: Day | None = Field(
        default=None, description="First day no longer valid (required for revoked)."
    )

    @model_validator(mode="after")
    def _complete(self) -> "V1Event":
        missing = [f for f in V1_REQUIRED_BY_TYPE[self.type] if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.type} event needs " + " and ".join(missing))
        if (
            self.issued_on is not None
            and self.expiry_date is not None
            and self.issued_on > self.expiry_date
        ):
            raise ValueError("issued_on is after expiry_date")
        return self


class Receipt(BaseModel):
    """Answer to a sender: the event is stored (or was already)."""

    event_id: int | None = Field(
        description="Inbox id of the event (null only when a concurrent duplicate won the race)."
    )
    duplicate: bool = Field(description="The event had been received before; nothing new stored.")
    status: EventStatus | None = Field(description="Where the event is now.")
    reason: str | None = Field(
        default=None, description="Why the event is dead (`sync status` shows it too)."
    )


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
    event_type: EventType | None
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
    """The organisation a sync URL names, the hashes of its live webhook keys, and what
    reading its deliveries needs."""

    organization_id: UUID
    key_sha256: list[str]
    timezone: str = Field(description="The organisation's IANA time zone.")
    mapping: DataverseMapping = Field(description="Its Dataverse names and date behaviour.")
