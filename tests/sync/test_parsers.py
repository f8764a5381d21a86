"""The Dataverse and v1 readers on their own (no database)."""

import json
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from mentor_notify.sync import (
    EventType,
    InvalidEvent,
    Source,
    UnknownMessage,
    parse,
    parse_dataverse,
)
from tests.sync.payloads import Holder, dataverse, v1

HOLDER = Holder(uuid4(), "Per Nordmann", "per@example.no", "+47 912 34 567")
MODIFIED = datetime(2026, 11, 20, 9, 30, 15, tzinfo=UTC)


def test_an_update_reads_ids_dates_and_modification_time() -> None:
    cert = uuid4()
    body = dataverse(
        "Update", cert, HOLDER, MODIFIED, expiry=date(2028, 1, 31), issued=date(2026, 2, 1)
    )

    event = parse_dataverse(body, None)

    assert event.model_dump() == {
        "source": Source.DATAVERSE,
        "source_event_id": json.loads(body)["RequestId"],
        "event_type": EventType.EXPIRY_CHANGED,
        "external_person_id": str(HOLDER.contact_id),
        "external_certificate_id": str(cert),
        "external_type": "100000000",
        "issued_on": date(2026, 2, 1),
        "expiry_date": date(2028, 1, 31),
        "revoked_on": None,
        "source_modified_at": MODIFIED,
    }


def test_create_is_issued_and_an_inactive_row_is_revoked_from_its_modification_day() -> None:
    created = parse_dataverse(
        dataverse("Create", uuid4(), HOLDER, MODIFIED, expiry=date(2028, 1, 31)), None
    )
    inactive = parse_dataverse(
        dataverse("Update", uuid4(), HOLDER, MODIFIED, expiry=date(2028, 1, 31), inactive=True),
        None,
    )

    assert created.event_type is EventType.ISSUED
    assert (inactive.event_type, inactive.revoked_on) == (EventType.REVOKED, date(2026, 11, 20))


def test_a_delete_reads_the_holder_from_the_pre_image() -> None:
    event = parse_dataverse(dataverse("Delete", uuid4(), HOLDER, MODIFIED), None)

    assert (event.event_type, event.external_person_id) == (
        EventType.REVOKED,
        str(HOLDER.contact_id),
    )


def test_a_wcf_date_with_an_offset_suffix_is_still_utc_milliseconds() -> None:
    context = json.loads(dataverse("Update", uuid4(), HOLDER, MODIFIED, expiry=date(2028, 1, 31)))
    ms = int(MODIFIED.timestamp() * 1000)
    for pair in context["InputParameters"][0]["value"]["Attributes"]:
        if pair["key"] == "modifiedon":
            pair["value"] = f"/Date({ms}+0100)/"

    event = parse_dataverse(json.dumps(context).encode(), None)

    assert event.source_modified_at == MODIFIED


def test_without_a_request_id_in_the_body_the_header_names_the_event() -> None:
    context = json.loads(dataverse("Update", uuid4(), HOLDER, MODIFIED, expiry=date(2028, 1, 31)))
    del context["RequestId"]

    event = parse_dataverse(json.dumps(context).encode(), "header-request-id")

    assert event.source_event_id == "header-request-id"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"MessageName": "Assign"}, UnknownMessage),
        ({"PrimaryEntityName": "contact"}, UnknownMessage),
        ({"PrimaryEntityId": None}, InvalidEvent),
        ({"OperationCreatedOn": "yesterday"}, InvalidEvent),
    ],
)
def test_what_is_not_a_certificate_event_is_refused(
    change: dict[str, object], error: type[Exception]
) -> None:
    context = json.loads(dataverse("Update", uuid4(), HOLDER, MODIFIED, expiry=date(2028, 1, 31)))
    if "OperationCreatedOn" in change:
        context["InputParameters"][0]["value"]["Attributes"] = [
            p
            for p in context["InputParameters"][0]["value"]["Attributes"]
            if p["key"] != "modifiedon"
        ]
        context["PostEntityImages"] = []
    context |= change

    with pytest.raises(error):
        parse_dataverse(json.dumps(context).encode(), None)


def test_an_update_that_would_end_before_it_began_is_refused() -> None:
    body = dataverse(
        "Update", uuid4(), HOLDER, MODIFIED, expiry=date(2026, 1, 1), issued=date(2026, 2, 1)
    )

    with pytest.raises(InvalidEvent, match="issued_on is after expiry_date"):
        parse_dataverse(body, None)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"type": "renewed", "expiry_date": "2028-01-01"}, "needs certificate_type"),
        ({"type": "issued", "certificate_type": "t", "expiry_date": "2028-01-01"}, "issued_on"),
        ({"type": "revoked"}, "revoked_on"),
        ({"type": "renewed", "certificate_type": "t"}, "expiry_date"),
    ],
)
def test_an_incomplete_v1_event_is_refused_saying_what_is_missing(
    fields: dict[str, str], problem: str
) -> None:
    body = v1(fields.pop("type"), "p", "c", MODIFIED, **fields)

    with pytest.raises(InvalidEvent, match=problem):
        parse(Source.V1, json.dumps(body).encode())


def test_a_v1_time_without_offset_is_refused() -> None:
    body = v1("revoked", "p", "c", MODIFIED, revoked_on="2026-11-20")
    body["occurred_at"] = "2026-11-20T09:30:00"

    with pytest.raises(InvalidEvent, match="occurred_at"):
        parse(Source.V1, json.dumps(body).encode())
