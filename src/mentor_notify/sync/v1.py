"""Reading our own `v1` certificate event contract into a `SyncEvent`."""

from typing import Any

from pydantic import ValidationError

from mentor_notify.sync.models import (
    EventType,
    InvalidEvent,
    Source,
    SyncEvent,
    V1Event,
    problems,
)


def parse_v1(body: bytes) -> SyncEvent:
    """The event in a `v1` body; `InvalidEvent` naming every problem when it is not one."""
    try:
        event = V1Event.model_validate_json(body)
        # The dates each type needs are the stored event's rule (SyncEvent checks them).
        return SyncEvent(
            source=Source.V1,
            source_event_id=event.event_id,
            event_type=EventType(event.type),
            external_person_id=event.person_id,
            external_certificate_id=event.certificate_id,
            external_type=event.certificate_type,
            issued_on=event.issued_on,
            expiry_date=event.expiry_date,
            revoked_on=event.revoked_on,
            source_modified_at=event.occurred_at,
        )
    except ValidationError as exc:
        raise InvalidEvent(problems(exc)) from None


def v1_json_schema() -> dict[str, Any]:
    """The `v1` contract as JSON Schema (draft 2020-12), as published."""
    schema = V1Event.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
