"""Reading a Microsoft Dataverse (Dynamics 365) webhook call into a `SyncEvent`.

What Dataverse sends, from Microsoft's "Use webhooks to create external handlers
for server events" and "Register a WebHook" (learn.microsoft.com, Power Apps /
Dataverse developer guide, checked 2026-11-29): a POST whose JSON body is the
serialised `RemoteExecutionContext` (`MessageName`, `PrimaryEntityName`,
`PrimaryEntityId`, `RequestId`, `CorrelationId`, `OperationCreatedOn`,
`InputParameters` with the `Target` entity and its `Attributes` as a list of
key/value pairs, `PreEntityImages` / `PostEntityImages`), with `x-request-id`
and `x-ms-dynamics-*` headers. Dates are WCF JSON dates, `/Date(<ms>)/`;
option sets are `{"Value": n}` objects and lookups `{"Id": ..., "Name": ...}`.

Only the attributes named in `DataverseMapping` are read; everything else in the
payload (the holder's name, e-mail address and phone number among them) is never
looked at, so it cannot be stored. The certificate table's logical and column
names are HLF's to confirm (ticket 001 risk 1): that is what the per-organisation
feature flag waits for, and the defaults below are the agreed proposal.
"""

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from mentor_notify.sync.models import (
    EventType,
    InvalidEvent,
    Source,
    SyncEvent,
    UnknownMessage,
    problems,
)

_WCF_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
# statecode of a Dataverse row: 0 active, 1 inactive (a deactivated certificate is revoked).
_INACTIVE = 1


class DataverseMapping(BaseModel):
    """Which Dataverse table and columns hold a certificate."""

    table: str = "hlf_certificate"
    person: str = "hlf_contactid"
    certificate_type: str = "hlf_certificatetype"
    issued_on: str = "hlf_issuedon"
    expiry_date: str = "hlf_expireson"
    revoked_on: str = "hlf_revokedon"
    state: str = "statecode"
    modified_on: str = "modifiedon"


def parse_dataverse(
    body: bytes, request_id_header: str | None, mapping: DataverseMapping | None = None
) -> SyncEvent:
    """The event in a Dataverse webhook body; `InvalidEvent` (malformed, incomplete)
    or `UnknownMessage` (another message or table) when it is not one."""
    mapping = mapping or DataverseMapping()
    context = _json_object(body)
    message = context.get("MessageName")
    table = context.get("PrimaryEntityName")
    if message not in ("Create", "Update", "Delete"):
        raise UnknownMessage(
            f"unsupported Dataverse message {message!r}; expected Create, Update or Delete"
        )
    if table != mapping.table:
        raise UnknownMessage(f"unsupported Dataverse table {table!r}; expected {mapping.table!r}")
    attributes = _attributes(context)
    modified = _instant(attributes.get(mapping.modified_on)) or _instant(
        context.get("OperationCreatedOn")
    )
    request_id = context.get("RequestId") or request_id_header
    if modified is None:
        raise InvalidEvent(
            f"the event carries neither {mapping.modified_on} nor OperationCreatedOn"
        )
    if message == "Delete" or _option(attributes.get(mapping.state)) == _INACTIVE:
        event_type = EventType.REVOKED
    elif message == "Create":
        event_type = EventType.ISSUED
    else:
        event_type = EventType.EXPIRY_CHANGED
    revoked_on = None
    if event_type is EventType.REVOKED:
        revoked_on = _day(attributes.get(mapping.revoked_on)) or modified.date()
    try:
        return SyncEvent(
            source=Source.DATAVERSE,
            source_event_id=str(request_id or ""),
            event_type=event_type,
            external_person_id=str(_reference(attributes.get(mapping.person)) or ""),
            external_certificate_id=str(context.get("PrimaryEntityId") or ""),
            external_type=_type(attributes.get(mapping.certificate_type)),
            issued_on=_day(attributes.get(mapping.issued_on)),
            expiry_date=_day(attributes.get(mapping.expiry_date)),
            revoked_on=revoked_on,
            source_modified_at=modified,
        )
    except ValidationError as exc:
        raise InvalidEvent(problems(exc)) from None


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidEvent("the body is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidEvent("the body is not a JSON object")
    return value


def _attributes(context: dict[str, Any]) -> dict[str, Any]:
    # The Target holds what the operation wrote (on Update only the changed
    # columns); images, when registered, hold the whole row after (or, for a
    # Delete, before) it. The Target wins, then the post-image, then the pre-image.
    merged: dict[str, Any] = {}
    for images in ("PreEntityImages", "PostEntityImages"):
        for image in _pairs(context.get(images)).values():
            merged |= _pairs(image.get("Attributes") if isinstance(image, dict) else None)
    target = _pairs(context.get("InputParameters")).get("Target")
    if isinstance(target, dict):
        merged |= _pairs(target.get("Attributes"))
    return merged


def _pairs(value: Any) -> dict[str, Any]:
    # Data-contract JSON writes a dictionary as a list of {"key", "value"} objects.
    if not isinstance(value, list):
        return {}
    return {
        item["key"]: item.get("value")
        for item in value
        if isinstance(item, dict) and isinstance(item.get("key"), str)
    }


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    match = _WCF_DATE.match(value)
    if match:
        # The offset suffix only says how to display the instant; the
        # milliseconds are UTC.
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(match.group(1)))
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidEvent(f"{value!r} is not a date") from None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _day(value: Any) -> date | None:
    # Date-only columns arrive as midnight UTC of the day.
    instant = _instant(value)
    return None if instant is None else instant.astimezone(UTC).date()


def _option(value: Any) -> int | None:
    if isinstance(value, dict) and isinstance(value.get("Value"), int):
        return int(value["Value"])
    return value if isinstance(value, int) else None


def _type(value: Any) -> str | None:
    option = _option(value)
    if option is not None:
        return str(option)
    return value if isinstance(value, str) and value else None


def _reference(value: Any) -> str | None:
    # A lookup carries the referenced row's Id (and its Name, which is the
    # person's name: deliberately not read).
    if isinstance(value, dict):
        ref = value.get("Id")
        return ref if isinstance(ref, str) else None
    return value if isinstance(value, str) else None
