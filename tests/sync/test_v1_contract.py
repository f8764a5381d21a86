"""One v1 contract (issue 24): the published JSON Schema and the server's checks
give the same verdict on every event of a corpus of valid and invalid ones. The
schema is read from the repository's published file; the server's verdict is
whether `parse_v1` finds a problem."""

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from mentor_notify.sync import parse_v1
from mentor_notify.sync.models import V1_UNSTATED_RULE
from tests.sync.test_parsers import RECEIVED

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "certificate-event-v1.schema.json").read_text()
)
BASE: dict[str, Any] = {
    "version": "v1",
    "event_id": "e-1",
    "occurred_at": "2026-11-20T09:30:00+01:00",
    "person_id": "p-1",
    "certificate_id": "c-1",
}
ISSUED = BASE | {
    "type": "issued",
    "certificate_type": "t",
    "issued_on": "2026-11-01",
    "expiry_date": "2028-10-31",
}
RENEWED = BASE | {"type": "renewed", "certificate_type": "t", "expiry_date": "2028-10-31"}
CHANGED = RENEWED | {"type": "expiry_changed"}
REVOKED = BASE | {"type": "revoked", "revoked_on": "2026-11-20"}


def without(event: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in fields}


VALID = {
    "issued": ISSUED,
    "renewed": RENEWED,
    "expiry_changed": CHANGED,
    "revoked": REVOKED,
    "revoked-with-type": REVOKED | {"certificate_type": "t"},
    "renewed-with-issue-date": RENEWED | {"issued_on": "2026-11-01"},
    "utc-z": RENEWED | {"occurred_at": "2026-11-20T08:30:00Z"},
    "fraction": RENEWED | {"occurred_at": "2026-11-20T08:30:00.123456+00:00"},
    "optional-null": REVOKED | {"certificate_type": None, "expiry_date": None},
    "long-ids": RENEWED | {"event_id": "e" * 200, "person_id": "p" * 200},
    "year-range-ends": RENEWED
    | {"occurred_at": "1800-01-01T00:00:00Z", "expiry_date": "9999-12-31"},
}
INVALID = {
    "issued-without-issued-on": without(ISSUED, "issued_on"),
    "issued-without-expiry": without(ISSUED, "expiry_date"),
    "renewed-without-type": without(RENEWED, "certificate_type"),
    "renewed-without-expiry": without(RENEWED, "expiry_date"),
    "changed-without-expiry": without(CHANGED, "expiry_date"),
    "revoked-without-revoked-on": without(REVOKED, "revoked_on"),
    "renewed-null-type": RENEWED | {"certificate_type": None},
    "revoked-null-revoked-on": REVOKED | {"revoked_on": None},
    "number-as-occurred-at": RENEWED | {"occurred_at": 1763627400},
    "number-as-date": RENEWED | {"expiry_date": 20281031},
    "date-time-as-date": RENEWED | {"expiry_date": "2028-10-31T00:00:00Z"},
    "date-as-occurred-at": RENEWED | {"occurred_at": "2026-11-20"},
    "no-offset": RENEWED | {"occurred_at": "2026-11-20T09:30:00"},
    "no-seconds": RENEWED | {"occurred_at": "2026-11-20T09:30+01:00"},
    "space-not-t": RENEWED | {"occurred_at": "2026-11-20 09:30:00+01:00"},
    "offset-without-colon": RENEWED | {"occurred_at": "2026-11-20T09:30:00+0100"},
    "impossible-day": RENEWED | {"expiry_date": "2028-02-30"},
    "short-date": RENEWED | {"expiry_date": "2028-1-31"},
    "other-version": RENEWED | {"version": "v2"},
    "other-type": RENEWED | {"type": "suspended"},
    "extra-field": RENEWED | {"full_name": "Kari Nordmann"},
    "empty-event-id": RENEWED | {"event_id": ""},
    "long-person-id": RENEWED | {"person_id": "p" * 201},
    "number-as-person-id": RENEWED | {"person_id": 12345},
    "missing-version": without(RENEWED, "version"),
    "missing-type": without(RENEWED, "type"),
    "boolean-type": RENEWED | {"certificate_type": True},
    "array": [RENEWED],
    "nul-in-id": RENEWED | {"certificate_id": "c\u0000"},
    "year-0000": RENEWED | {"expiry_date": "0000-01-01"},
    "year-before-1800": RENEWED | {"occurred_at": "1799-12-31T23:59:59Z"},
}
# Valid by the schema, refused by the server: the rule the schema names in its
# description and cannot state.
SERVER_ONLY = {
    "issue-after-expiry": RENEWED | {"issued_on": "2029-01-01"},
}


def schema_accepts(event: object) -> bool:
    return bool(jsonschema_rs.Draft202012Validator(SCHEMA, validate_formats=True).is_valid(event))


def server_accepts(event: object) -> bool:
    return parse_v1(json.dumps(event).encode(), RECEIVED).receive_problem is None


@pytest.mark.parametrize(
    ("event", "valid"),
    [pytest.param(e, True, id=k) for k, e in VALID.items()]
    + [pytest.param(e, False, id=k) for k, e in INVALID.items()],
)
def test_the_schema_and_the_server_give_the_same_verdict(event: object, valid: bool) -> None:
    assert (schema_accepts(event), server_accepts(copy.deepcopy(event))) == (valid, valid)


@pytest.mark.parametrize("event", SERVER_ONLY.values(), ids=list(SERVER_ONLY))
def test_the_rule_the_schema_cannot_state_is_named_in_it_and_checked_by_the_server(
    event: dict[str, Any],
) -> None:
    assert (schema_accepts(event), server_accepts(event)) == (True, False)
    assert V1_UNSTATED_RULE in SCHEMA["description"]


def test_each_event_type_has_its_own_if_then() -> None:
    conditions = [c["if"]["properties"]["type"]["const"] for c in SCHEMA["allOf"]]

    assert sorted(conditions) == sorted(SCHEMA["properties"]["type"]["enum"])
