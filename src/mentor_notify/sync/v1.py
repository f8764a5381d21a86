"""Reading our own `v1` certificate event contract into a `SyncEvent`."""

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from mentor_notify.sync.ids import personal_data_problem
from mentor_notify.sync.models import (
    V1_REQUIRED_BY_TYPE,
    V1_UNSTATED_RULE,
    EventType,
    InvalidEvent,
    Source,
    SyncEvent,
    V1Event,
    problems,
)


def parse_v1(body: bytes, received_at: datetime) -> SyncEvent:
    """The event in a `v1` body. Raises `InvalidEvent` only when the body is not JSON;
    a JSON body that breaks the contract comes back with its `receive_problem` naming
    every problem (stored dead, keyed by the body's hash so that the sender's
    corrected event, with the same event_id, is a new one)."""
    try:
        json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidEvent("the body is not JSON") from None
    try:
        event = V1Event.model_validate_json(body)
    except ValidationError as exc:
        return SyncEvent(
            source=Source.V1,
            source_event_id="invalid:" + hashlib.sha256(body).hexdigest(),
            event_type=None,
            source_modified_at=received_at,
            receive_problem=problems(exc),
        )
    refused = personal_data_problem(event.person_id, "person_id")
    # The dates each type needs are the contract's rule (V1Event checks them).
    return SyncEvent(
        source=Source.V1,
        source_event_id=event.event_id,
        event_type=EventType(event.type),
        external_person_id=None if refused else event.person_id,
        external_certificate_id=event.certificate_id,
        external_type=event.certificate_type,
        issued_on=event.issued_on,
        expiry_date=event.expiry_date,
        revoked_on=event.revoked_on,
        source_modified_at=event.occurred_at,
        receive_problem=refused,
    )


def v1_json_schema() -> dict[str, Any]:
    """The `v1` contract as JSON Schema (draft 2020-12), as published: the model's
    fields and formats, and per event type (if/then) the fields it needs, from the
    table the server checks (`V1_REQUIRED_BY_TYPE`)."""
    schema = V1Event.model_json_schema()
    schema["description"] += (
        f" Beyond what this schema states, the server checks one rule: {V1_UNSTATED_RULE}."
    )
    schema["allOf"] = [
        {
            "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
            "then": {
                "required": list(fields),
                "properties": {f: {"not": {"type": "null"}} for f in fields},
            },
        }
        for kind, fields in V1_REQUIRED_BY_TYPE.items()
    ]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
