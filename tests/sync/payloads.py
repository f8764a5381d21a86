"""Request bodies as the senders make them.

Dataverse bodies are Microsoft's documented sample of a webhook call
(fixtures/dataverse-webhook-sample.json: the serialised RemoteExecutionContext of
an asynchronous Update step, as "Use webhooks to create external handlers for
server events" shows it, learn.microsoft.com, checked 2026-12-06), with the
certificate table's names and values put where the sample has the contact's:
data-contract JSON, where a dictionary is a list of {"key", "value"} pairs, dates
are `\\/Date(ms)\\/` (OperationCreatedOn with the sample's `-0700` suffix), option
sets `{"__type": "OptionSetValue:...", "Value": n}`, lookups `EntityReference`
objects carrying the referenced row's Name, images keyed by their alias, and
`"RequestId": null` as in the asynchronous sample. Like a real Dynamics payload,
they carry the holder's name, e-mail address and phone number (in the lookup's
Name and the images), which must never be stored.
"""

import copy
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

SAMPLE: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "dataverse-webhook-sample.json").read_text()
)
CONTRACTS = "http://schemas.microsoft.com/xrm/2011/Contracts"
HLF_TYPE = 100000000
# The alias the sample's post-image is registered under.
IMAGE_ALIAS = SAMPLE["PostEntityImages"][0]["key"]


@dataclass(frozen=True)
class Holder:
    """The certificate holder as the membership system knows them."""

    contact_id: UUID
    name: str
    email: str
    phone: str


def wcf_date(moment: date | datetime, offset: str = "") -> str:
    """A WCF JSON date: milliseconds since 1970 UTC (a date is midnight UTC, as a
    DateOnly or TimeZoneIndependent column sends it), with an optional offset suffix."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return f"/Date({int(moment.timestamp() * 1000)}{offset})/"


def user_local(day: date, timezone: str = "Europe/Oslo") -> str:
    """A UserLocal date column's value: the instant the day began where it was entered."""
    return wcf_date(datetime.combine(day, time(0), ZoneInfo(timezone)))


def _pairs(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in values.items()]


def _option(value: int) -> dict[str, Any]:
    return {"__type": f"OptionSetValue:{CONTRACTS}", "Value": value}


def _reference(logical_name: str, ref: UUID, name: str | None) -> dict[str, Any]:
    return {
        "__type": f"EntityReference:{CONTRACTS}",
        "Id": str(ref),
        "KeyAttributes": [],
        "LogicalName": logical_name,
        "Name": name,
        "RowVersion": None,
    }


def dataverse(
    message: str,
    certificate_id: UUID,
    holder: Holder,
    modified: datetime,
    *,
    expiry: date | str | None = None,
    issued: date | str | None = None,
    inactive: bool = False,
    request_id: UUID | None = None,
    table: str = "hlf_certificate",
    certificate_type: int = HLF_TYPE,
    version: int | None = None,
    image: bool = True,
    executed: datetime | None = None,
) -> bytes:
    """A webhook body for a Create, Update or Delete of a certificate row, shaped as
    Microsoft's sample. The Target of an Update holds only what changed (the expiry
    date or the state, and modifiedon); the whole row is in the post-image (Create,
    Update) or pre-image (Delete), unless `image` is false. Dates given as text are
    sent as they are (a UserLocal column's value, see `user_local`)."""
    context = copy.deepcopy(SAMPLE)
    dated = {
        column: value if isinstance(value, str) else wcf_date(value)
        for column, value in (("hlf_expireson", expiry), ("hlf_issuedon", issued))
        if value is not None
    }
    changed: dict[str, Any] = dated | {"modifiedon": wcf_date(modified)}
    if inactive:
        changed["statecode"] = _option(1)
    # Who saved it, as the sample's Target names them.
    sample_target = context["InputParameters"][0]["value"]["Attributes"]
    changed["modifiedby"] = next(a["value"] for a in sample_target if a["key"] == "modifiedby")
    row: dict[str, Any] = {
        "hlf_certificateid": str(certificate_id),
        "hlf_contactid": _reference("contact", holder.contact_id, holder.name),
        "hlf_certificatetype": _option(certificate_type),
        "statecode": _option(1 if inactive else 0),
        "hlf_holderfullname": holder.name,
        "emailaddress1": holder.email,
        "mobilephone": holder.phone,
    } | changed
    if version is not None:
        row["versionnumber"] = version
    if message == "Create":
        changed = row
    target = context["InputParameters"][0]["value"]
    if message == "Delete":
        # A Delete's Target names the row only.
        context["InputParameters"][0]["value"] = _reference(table, certificate_id, None)
    else:
        target.update(
            Attributes=_pairs(changed),
            FormattedValues=_pairs({"hlf_contactid": holder.name}),
            Id=str(certificate_id),
            LogicalName=table,
        )
    entity_image = copy.deepcopy(context["PostEntityImages"][0]["value"])
    entity_image.update(Attributes=_pairs(row), Id=str(certificate_id), LogicalName=table)
    images = [{"key": IMAGE_ALIAS, "value": entity_image}] if image else []
    context.update(
        MessageName=message,
        PrimaryEntityName=table,
        PrimaryEntityId=str(certificate_id),
        RequestId=None if request_id is None else str(request_id),
        # Each operation has its own id and time; the sample's suffix is kept.
        OperationId=str(uuid4()),
        CorrelationId=str(uuid4()),
        OperationCreatedOn=wcf_date(executed or modified, "-0700"),
        PostEntityImages=images if message != "Delete" else [],
        PreEntityImages=images if message == "Delete" else [],
    )
    return json.dumps(context).encode()


def cut(body: bytes) -> bytes:
    """The body as Dataverse sends it past 256 KB: without InputParameters,
    ParentContext and the images."""
    context = json.loads(body)
    for dropped in ("InputParameters", "ParentContext", "PreEntityImages", "PostEntityImages"):
        context.pop(dropped)
    return json.dumps(context).encode()


def dataverse_headers(
    body: bytes, request_id: str | None = None, size_exceeded: bool = False
) -> dict[str, str]:
    """The headers Dataverse adds to a webhook call (the documented table); an
    `x-request-id` only when `request_id` is given."""
    context = json.loads(body)
    headers = {
        "content-type": "application/json",
        "x-ms-correlation-request-id": context["CorrelationId"],
        "x-ms-dynamics-organization": "hlfportal.crm4.dynamics.com",
        "x-ms-dynamics-entity-name": context["PrimaryEntityName"],
        "x-ms-dynamics-request-name": context["MessageName"],
    }
    if request_id is not None:
        headers["x-request-id"] = request_id
    if size_exceeded:
        headers["x-ms-dynamics-msg-size-exceeded"] = "true"
    return headers


def v1(
    event_type: str,
    person_id: str,
    certificate_id: str,
    occurred_at: datetime,
    **fields: Any,
) -> dict[str, Any]:
    """A `v1` event."""
    return {
        "version": "v1",
        "event_id": str(uuid4()),
        "type": event_type,
        "occurred_at": occurred_at.isoformat(),
        "person_id": person_id,
        "certificate_id": certificate_id,
        **fields,
    }
