"""The Dataverse and v1 readers on their own (no database)."""

import json
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from mentor_notify.sync import (
    DataverseMapping,
    DateBehavior,
    EventType,
    InvalidEvent,
    Source,
    SyncEvent,
    parse_dataverse,
    parse_v1,
)
from tests.sync.payloads import SAMPLE, Holder, dataverse, user_local, v1

HOLDER = Holder(uuid4(), "Per Nordmann", "per@example.no", "+47 912 34 567")
MODIFIED = datetime(2026, 11, 20, 9, 30, 15, tzinfo=UTC)
RECEIVED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def read(
    body: bytes,
    headers: dict[str, str] | None = None,
    mapping: DataverseMapping | None = None,
) -> SyncEvent:
    return parse_dataverse(
        body,
        headers or {},
        mapping=mapping or DataverseMapping(),
        timezone="Europe/Oslo",
        received_at=RECEIVED,
    )


def parse_v1_json(body: object) -> SyncEvent:
    return parse_v1(json.dumps(body).encode(), RECEIVED)


def test_an_update_reads_ids_dates_modification_time_and_row_version() -> None:
    cert = uuid4()
    body = dataverse(
        "Update",
        cert,
        HOLDER,
        MODIFIED,
        expiry=date(2028, 1, 31),
        issued=date(2026, 2, 1),
        version=468026,
    )

    event = read(body)

    assert event.model_dump(exclude={"source_event_id"}) == {
        "source": Source.DATAVERSE,
        "event_type": EventType.EXPIRY_CHANGED,
        "external_person_id": str(HOLDER.contact_id),
        "external_certificate_id": str(cert),
        "external_type": "100000000",
        "issued_on": date(2026, 2, 1),
        "expiry_date": date(2028, 1, 31),
        "revoked_on": None,
        "source_modified_at": MODIFIED,
        "source_version": 468026,
        "is_deletion": False,
        "receive_problem": None,
    }


def test_create_is_issued_and_an_inactive_row_is_revoked_from_its_modification_day() -> None:
    created = read(dataverse("Create", uuid4(), HOLDER, MODIFIED, expiry=date(2028, 1, 31)))
    inactive = read(
        dataverse("Update", uuid4(), HOLDER, MODIFIED, expiry=date(2028, 1, 31), inactive=True)
    )

    assert created.event_type is EventType.ISSUED
    assert (inactive.event_type, inactive.revoked_on) == (EventType.REVOKED, date(2026, 11, 20))


def test_a_delete_is_ordered_and_revokes_at_its_execution_in_the_organisations_day() -> None:
    # Executed at 23:30 UTC, which is already the next day in Oslo; the pre-image's
    # modifiedon (the last Update's) says nothing about when the row was deleted.
    executed = datetime(2026, 11, 20, 23, 30, 0, 400_000, tzinfo=UTC)
    body = dataverse("Delete", uuid4(), HOLDER, MODIFIED, executed=executed, version=7)

    event = read(body)

    assert (event.event_type, event.is_deletion, event.external_person_id) == (
        EventType.REVOKED,
        True,
        str(HOLDER.contact_id),
    )
    assert (event.source_modified_at, event.revoked_on, event.source_version) == (
        executed,
        date(2026, 11, 21),
        7,
    )


def test_a_delete_without_a_pre_image_names_only_the_row() -> None:
    event = read(dataverse("Delete", uuid4(), HOLDER, MODIFIED, image=False))

    assert (event.is_deletion, event.external_person_id, event.external_type) == (True, None, None)
    assert event.receive_problem is None


def test_an_update_without_a_post_image_carries_only_the_changed_columns() -> None:
    event = read(
        dataverse("Update", uuid4(), HOLDER, MODIFIED, expiry=date(2028, 1, 31), image=False)
    )

    assert (event.external_person_id, event.external_type, event.issued_on) == (None, None, None)
    assert event.expiry_date == date(2028, 1, 31)


@pytest.mark.parametrize(
    ("behavior", "sent", "read_as"),
    [
        # Entered in Oslo as 1 December: the instant is 30 November 23:00 UTC.
        ("UserLocal", user_local(date(2026, 12, 1)), date(2026, 12, 1)),
        ("DateOnly", "/Date(1796083200000)/", date(2026, 12, 1)),
        ("TimeZoneIndependent", "/Date(1796083200000)/", date(2026, 12, 1)),
    ],
)
def test_date_columns_are_read_by_their_behaviour(behavior: str, sent: str, read_as: date) -> None:
    body = dataverse("Update", uuid4(), HOLDER, MODIFIED, expiry=sent)

    event = read(body, mapping=DataverseMapping(date_behavior=DateBehavior(behavior)))

    assert event.expiry_date == read_as


def test_a_wcf_date_with_an_offset_suffix_is_still_utc_milliseconds() -> None:
    context = json.loads(dataverse("Update", uuid4(), HOLDER, MODIFIED, expiry=date(2028, 1, 31)))
    ms = int(MODIFIED.timestamp() * 1000)
    for pair in context["InputParameters"][0]["value"]["Attributes"]:
        if pair["key"] == "modifiedon":
            pair["value"] = f"/Date({ms}+0100)/"

    event = read(json.dumps(context).encode())

    assert event.source_modified_at == MODIFIED


def test_the_idempotency_key_is_the_request_id_else_the_header_else_the_operation() -> None:
    body = dataverse("Update", uuid4(), HOLDER, MODIFIED, expiry=date(2028, 1, 31))
    again = json.loads(body)
    # Dataverse's one retry repeats the call; another operation differs.
    other = json.loads(body) | {"OperationId": str(uuid4())}

    derived = read(body).source_event_id
    assert json.loads(body)["RequestId"] is None
    assert derived.startswith("context:")
    assert read(json.dumps(again).encode()).source_event_id == derived
    assert read(json.dumps(other).encode()).source_event_id != derived
    assert read(body, {"x-request-id": "header-request-id"}).source_event_id == "header-request-id"
    with_id = json.loads(body) | {"RequestId": "body-request-id"}
    assert read(json.dumps(with_id).encode()).source_event_id == "body-request-id"


def test_microsofts_sample_is_kept_as_another_tables_message() -> None:
    event = read(json.dumps(SAMPLE).encode())

    assert event.event_type is None
    assert event.receive_problem is not None
    assert event.receive_problem.startswith("a 'Update' message of table 'contact'")
    # OperationCreatedOn of the sample, /Date(1506409448000-0700)/: UTC milliseconds.
    assert event.source_modified_at == datetime(2017, 9, 26, 7, 4, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"MessageName": "Assign"}, "a 'Assign' message"),
        ({"PrimaryEntityName": "contact"}, "message of table 'contact'"),
        ({"PrimaryEntityId": None}, "no PrimaryEntityId"),
        ({"OperationCreatedOn": "yesterday"}, "no OperationCreatedOn nor modifiedon"),
    ],
)
def test_what_is_not_a_certificate_event_is_kept_with_its_problem(
    change: dict[str, object], problem: str
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

    event = read(json.dumps(context).encode())

    assert problem in (event.receive_problem or "")
    assert event.source_modified_at in (RECEIVED, MODIFIED.replace(second=15))


def test_a_body_cut_by_dataverse_is_kept_dead_unless_it_is_a_delete() -> None:
    cert = uuid4()
    headers = {"x-ms-dynamics-msg-size-exceeded": "true"}
    updated = json.loads(dataverse("Update", cert, HOLDER, MODIFIED, expiry=date(2028, 1, 31)))
    deleted = json.loads(dataverse("Delete", cert, HOLDER, MODIFIED))
    for context in (updated, deleted):
        for dropped in ("InputParameters", "ParentContext", "PreEntityImages", "PostEntityImages"):
            del context[dropped]

    update = read(json.dumps(updated).encode(), headers)
    delete = read(json.dumps(deleted).encode(), headers)

    assert "cut the body" in (update.receive_problem or "")
    assert (delete.receive_problem, delete.is_deletion, delete.revoked_on) == (
        None,
        True,
        date(2026, 11, 20),
    )


@pytest.mark.parametrize(
    "person", ["per@example.no", "+47 912 34 567", "01010012356"], ids=["email", "phone", "fnr"]
)
def test_a_person_id_that_is_personal_data_is_not_kept(person: str) -> None:
    context = json.loads(dataverse("Update", uuid4(), HOLDER, MODIFIED, expiry=date(2028, 1, 31)))
    for pair in context["PostEntityImages"][0]["value"]["Attributes"]:
        if pair["key"] == "hlf_contactid":
            pair["value"] = person

    event = read(json.dumps(context).encode())
    through_v1 = parse_v1_json(v1("revoked", person, "c", MODIFIED, revoked_on="2026-11-20"))

    for kept in (event, through_v1):
        assert kept.external_person_id is None
        assert "looks like personal data" in (kept.receive_problem or "")
        assert person not in kept.model_dump_json()


def test_an_update_that_would_end_before_it_began_is_kept_with_its_problem() -> None:
    body = dataverse(
        "Update", uuid4(), HOLDER, MODIFIED, expiry=date(2026, 1, 1), issued=date(2026, 2, 1)
    )

    event = read(body)

    assert event.receive_problem is not None
    assert "issued_on is after expiry_date" in event.receive_problem


def test_a_body_that_is_not_a_json_object_is_refused() -> None:
    for body in (b"{not json", b"[1]"):
        with pytest.raises(InvalidEvent):
            read(body)
    with pytest.raises(InvalidEvent):
        parse_v1(b"{not json", RECEIVED)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"type": "renewed", "expiry_date": "2028-01-01"}, "needs certificate_type"),
        ({"type": "issued", "certificate_type": "t", "expiry_date": "2028-01-01"}, "issued_on"),
        ({"type": "revoked"}, "revoked_on"),
        ({"type": "renewed", "certificate_type": "t"}, "expiry_date"),
    ],
)
def test_an_incomplete_v1_event_is_kept_saying_what_is_missing(
    fields: dict[str, str], problem: str
) -> None:
    body = v1(fields.pop("type"), "p", "c", MODIFIED, **fields)

    event = parse_v1_json(body)

    assert problem in (event.receive_problem or "")


def test_a_v1_time_without_offset_is_refused() -> None:
    body = v1("revoked", "p", "c", MODIFIED, revoked_on="2026-11-20")
    body["occurred_at"] = "2026-11-20T09:30:00"

    event = parse_v1_json(body)

    assert "occurred_at" in (event.receive_problem or "")
