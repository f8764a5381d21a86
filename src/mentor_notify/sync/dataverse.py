"""Reading a Microsoft Dataverse (Dynamics 365) webhook call into a `SyncEvent`.

What Dataverse sends, from Microsoft's "Use webhooks to create external handlers
for server events" (learn.microsoft.com, Power Apps / Dataverse developer guide;
its sample and tables checked 2026-12-06): a POST whose JSON body is the
serialised `RemoteExecutionContext` (`MessageName`, `PrimaryEntityName`,
`PrimaryEntityId`, `RequestId` (null in the asynchronous sample),
`CorrelationId`, `OperationId`, `OperationCreatedOn`, `InputParameters` with the
`Target` entity and its `Attributes` as a list of key/value pairs,
`PreEntityImages` / `PostEntityImages` keyed by the image's alias). Dates are
WCF JSON dates, `/Date(<ms>)/` or `/Date(<ms>-0700)/` (the milliseconds are UTC,
the suffix only the sender's offset); option sets are `{"Value": n}` objects and
lookups `EntityReference` objects `{"Id": ..., "Name": ...}`. Headers:
`x-ms-dynamics-organization`, `-entity-name`, `-request-name`, and
`x-ms-dynamics-msg-size-exceeded` when the body passed 256 KB, in which case
`InputParameters`, `ParentContext` and both images are dropped. Dataverse waits
60 s and tries once more only after a 502, 503 or 504: any other failure, a 4xx
included, loses the call for good, so every authenticated JSON object is
stored, and what cannot be applied goes to the dead letter with its reason.

Order: `modifiedon` has whole seconds, so two saves in one second cannot be told
apart by it. The row version (`versionnumber`; the Web API's weak ETag is
`W/"<versionnumber>"`, "Perform conditional operations using the Web API", checked
2026-12-06) orders them when the images carry it: it is a SQL Server rowversion,
taken from a counter the database raises on every insert or update ("rowversion
(Transact-SQL)", checked 2026-12-06). Microsoft warns clients not to read an order
into ETag strings, whose form may change; the column's number is what is compared,
and only where the step's image carries it. A Delete is ordered at
`OperationCreatedOn`, when it was executed, never at its pre-image's `modifiedon`
(which is the last Update's).

Only the attributes named in `DataverseMapping` are read; everything else in the
payload (the holder's name, e-mail address and phone number among them) is never
looked at, so it cannot be stored.
"""

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from mentor_notify.sync.ids import personal_data_problem
from mentor_notify.sync.models import (
    DataverseMapping,
    DateBehavior,
    EventType,
    InvalidEvent,
    Source,
    SyncEvent,
    problems,
)

_WCF_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
# statecode of a Dataverse row: 0 active, 1 inactive (a deactivated certificate is revoked).
_INACTIVE = 1
_MESSAGES = ("Create", "Update", "Delete")
SIZE_EXCEEDED_HEADER = "x-ms-dynamics-msg-size-exceeded"


class _Unreadable(Exception):
    """A delivery that is stored but can never be applied as received."""


def parse_dataverse(
    body: bytes,
    headers: Mapping[str, str],
    *,
    mapping: DataverseMapping,
    timezone: str,
    received_at: datetime,
) -> SyncEvent:
    """The event in a Dataverse webhook call, read with the organisation's `mapping`
    and time zone. Raises `InvalidEvent` only when the body is not a JSON object;
    anything else that cannot be applied comes back with its `receive_problem`
    (stored dead, at `received_at` when the body names no time)."""
    context = _json_object(body)
    request_id = _request_id(context, headers, body)
    entity_id = context.get("PrimaryEntityId")
    certificate_id = entity_id if _storable_id(entity_id) else None
    try:
        event = _read(context, headers, mapping, ZoneInfo(timezone), request_id, certificate_id)
    except _Unreadable as exc:
        problem = str(exc)
    else:
        try:
            return SyncEvent.model_validate(event)
        except ValidationError as exc:
            problem = problems(exc)
    return SyncEvent(
        source=Source.DATAVERSE,
        source_event_id=request_id,
        event_type=None,
        external_certificate_id=certificate_id,
        source_modified_at=_operation_time(context) or received_at,
        receive_problem=problem,
    )


def _read(
    context: dict[str, Any],
    headers: Mapping[str, str],
    mapping: DataverseMapping,
    zone: ZoneInfo,
    request_id: str,
    certificate_id: str | None,
) -> dict[str, Any]:
    message = context.get("MessageName")
    table = context.get("PrimaryEntityName")
    if message not in _MESSAGES or table != mapping.table:
        raise _Unreadable(
            f"a {message!r} message of table {table!r}: this endpoint reads Create, Update and "
            f"Delete of {mapping.table!r} (check the webhook step, or `sync mappings`)"
        )
    if certificate_id is None:
        raise _Unreadable("the delivery has no PrimaryEntityId (1-200 characters)")
    operation_at = _operation_time(context)
    deletion = message == "Delete"
    if SIZE_EXCEEDED_HEADER in headers and not deletion:
        raise _Unreadable(
            "Dataverse cut the body (over 256 KB, x-ms-dynamics-msg-size-exceeded): its "
            "columns and images were dropped, so the change is unknown; save the "
            "certificate in Dataverse again to send it anew"
        )
    if deletion:
        # The pre-image is the row as it was; the Target only names it.
        attributes = _image_attributes(context, "PreEntityImages")
        found = operation_at
    else:
        attributes = _image_attributes(context, "PostEntityImages") | _target_attributes(context)
        found = _instant(attributes.get(mapping.modified_on), mapping.modified_on) or operation_at
    if found is None:
        raise _Unreadable(
            "the delivery carries no OperationCreatedOn"
            + ("" if deletion else f" nor {mapping.modified_on}")
            + ", so it cannot be ordered"
        )
    at = found
    person = _reference(attributes.get(mapping.person), mapping.person)
    refused = personal_data_problem(person, mapping.person)
    if refused is not None:
        raise _Unreadable(refused)
    behavior = mapping.date_behavior
    if deletion or _option(attributes.get(mapping.state), mapping.state) == _INACTIVE:
        event_type = EventType.REVOKED
    elif message == "Create":
        event_type = EventType.ISSUED
    else:
        event_type = EventType.EXPIRY_CHANGED
    revoked_on = None
    if event_type is EventType.REVOKED:
        # A deletion revokes from the day it was executed, in the organisation's time.
        revoked_on = (
            None if deletion else _day(attributes, mapping.revoked_on, behavior, zone)
        ) or (at.astimezone(zone).date())
    return {
        "source": Source.DATAVERSE,
        "source_event_id": request_id,
        "event_type": event_type,
        "external_person_id": person,
        "external_certificate_id": certificate_id,
        "external_type": _type(attributes.get(mapping.certificate_type), mapping.certificate_type),
        "issued_on": _day(attributes, mapping.issued_on, behavior, zone),
        "expiry_date": _day(attributes, mapping.expiry_date, behavior, zone),
        "revoked_on": revoked_on,
        "source_modified_at": at,
        "source_version": _version(context, attributes, mapping.version, deletion),
        "is_deletion": deletion,
    }


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidEvent("the body is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidEvent("the body is not a JSON object")
    return value


def _request_id(context: dict[str, Any], headers: Mapping[str, str], body: bytes) -> str:
    """The idempotency key of a delivery: its RequestId, else the x-request-id header,
    else (an asynchronous step sends "RequestId": null) a hash of the fields that name
    the operation, which Dataverse's one retry of the same call repeats."""
    for candidate in (context.get("RequestId"), headers.get("x-request-id")):
        if _storable_id(candidate):
            return str(candidate)
    names = [
        context.get(k)
        for k in (
            "OperationId",
            "CorrelationId",
            "MessageName",
            "PrimaryEntityName",
            "PrimaryEntityId",
            "OperationCreatedOn",
            "Stage",
            "Depth",
        )
    ]
    material = json.dumps(names) if any(names) else body.decode("utf-8", "replace")
    return "context:" + hashlib.sha256(material.encode()).hexdigest()


def _storable_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 200 and "\x00" not in value


def _operation_time(context: dict[str, Any]) -> datetime | None:
    try:
        return _instant(context.get("OperationCreatedOn"), "OperationCreatedOn")
    except _Unreadable:
        return None


def _target_attributes(context: dict[str, Any]) -> dict[str, Any]:
    target = _pairs(context.get("InputParameters")).get("Target")
    return _pairs(target.get("Attributes")) if isinstance(target, dict) else {}


def _image_attributes(context: dict[str, Any], images: str) -> dict[str, Any]:
    # Images are keyed by the alias given at registration; any alias will do.
    merged: dict[str, Any] = {}
    for image in _pairs(context.get(images)).values():
        if isinstance(image, dict):
            merged |= _pairs(image.get("Attributes"))
    return merged


def _version(
    context: dict[str, Any], attributes: dict[str, Any], column: str, deletion: bool
) -> int | None:
    """The row version: the mapped column in the row, else the RowVersion of the
    entity that carries the row (Target, or the images)."""
    value = attributes.get(column)
    if value is None:
        entities: list[Any] = (
            [] if deletion else [_pairs(context.get("InputParameters")).get("Target")]
        )
        entities += _pairs(
            context.get("PreEntityImages" if deletion else "PostEntityImages")
        ).values()
        value = next(
            (e["RowVersion"] for e in entities if isinstance(e, dict) and e.get("RowVersion")), None
        )
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise _Unreadable(f"{column} is not a row version (a whole number)")


def _pairs(value: Any) -> dict[str, Any]:
    # Data-contract JSON writes a dictionary as a list of {"key", "value"} objects.
    if not isinstance(value, list):
        return {}
    return {
        item["key"]: item.get("value")
        for item in value
        if isinstance(item, dict) and isinstance(item.get("key"), str)
    }


def _instant(value: Any, column: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Unreadable(f"{column} is not a date")
    match = _WCF_DATE.match(value)
    if match:
        # The offset suffix only says how to display the instant; the
        # milliseconds are UTC.
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(match.group(1)))
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise _Unreadable(f"{column} is not a date: {value[:40]!r}") from None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _day(
    attributes: dict[str, Any], column: str, behavior: DateBehavior, zone: ZoneInfo
) -> date | None:
    """The calendar date a date column holds. A UserLocal value is the instant the
    entering user's local midnight was (2026-12-01 in Oslo arrives as
    2026-11-30T23:00Z): its date in the organisation's time zone. DateOnly and
    TimeZoneIndependent values are the date as entered, written as midnight UTC."""
    instant = _instant(attributes.get(column), column)
    if instant is None:
        return None
    if behavior is DateBehavior.USER_LOCAL:
        return instant.astimezone(zone).date()
    return instant.astimezone(UTC).date()


def _option(value: Any, column: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, dict) and isinstance(value.get("Value"), int):
        return int(value["Value"])
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _Unreadable(f"{column} is not a choice value")


def _type(value: Any, column: str) -> str | None:
    if isinstance(value, str) and value:
        return value
    option = _option(value, column)
    return None if option is None else str(option)


def _reference(value: Any, column: str) -> str | None:
    # A lookup carries the referenced row's Id (and its Name, which is the
    # person's name: deliberately not read).
    if value is None:
        return None
    if isinstance(value, dict) and isinstance(value.get("Id"), str):
        return str(value["Id"])
    if isinstance(value, str) and value:
        return value
    raise _Unreadable(f"{column} is not a lookup")
