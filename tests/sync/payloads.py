"""Request bodies as the senders make them.

Dataverse bodies follow the serialised RemoteExecutionContext that Microsoft
documents for webhooks ("Use webhooks to create external handlers for server
events", learn.microsoft.com, checked 2026-11-29): data-contract JSON, where a
dictionary is a list of {"key", "value"} pairs, dates are `/Date(ms)/`, option
sets `{"__type": "OptionSetValue:...", "Value": n}` and lookups
`EntityReference` objects carrying the referenced row's Name. Like a real
Dynamics payload, they carry the holder's name, e-mail address and phone
number (in the lookup's Name and a post-image), which must never be stored.
"""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

CONTRACTS = "http://schemas.microsoft.com/xrm/2011/Contracts"
HLF_TYPE = 100000000


@dataclass(frozen=True)
class Holder:
    """The certificate holder as the membership system knows them."""

    contact_id: UUID
    name: str
    email: str
    phone: str


def wcf_date(moment: date | datetime) -> str:
    """A WCF JSON date: milliseconds since 1970 UTC (a date is midnight UTC)."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return f"/Date({int(moment.timestamp() * 1000)})/"


def _pairs(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in values.items()]


def _option(value: int) -> dict[str, Any]:
    return {"__type": f"OptionSetValue:{CONTRACTS}", "Value": value}


def dataverse(
    message: str,
    certificate_id: UUID,
    holder: Holder,
    modified: datetime,
    *,
    expiry: date | None = None,
    issued: date | None = None,
    inactive: bool = False,
    request_id: UUID | None = None,
    table: str = "hlf_certificate",
    certificate_type: int = HLF_TYPE,
) -> bytes:
    """A webhook body for a Create, Update or Delete of a certificate row."""
    changed: dict[str, Any] = {
        "hlf_certificateid": str(certificate_id),
        "hlf_contactid": {
            "__type": f"EntityReference:{CONTRACTS}",
            "Id": str(holder.contact_id),
            "KeyAttributes": [],
            "LogicalName": "contact",
            "Name": holder.name,
            "RowVersion": None,
        },
        "hlf_certificatetype": _option(certificate_type),
        "statecode": _option(1 if inactive else 0),
        "modifiedon": wcf_date(modified),
    }
    if expiry is not None:
        changed["hlf_expireson"] = wcf_date(expiry)
    if issued is not None:
        changed["hlf_issuedon"] = wcf_date(issued)
    image = changed | {
        "hlf_holderfullname": holder.name,
        "emailaddress1": holder.email,
        "mobilephone": holder.phone,
    }
    if message == "Delete":
        target: dict[str, Any] = {
            "__type": f"EntityReference:{CONTRACTS}",
            "Id": str(certificate_id),
            "LogicalName": table,
            "Name": None,
        }
    else:
        target = {
            "__type": f"Entity:{CONTRACTS}",
            "Attributes": _pairs(changed),
            "EntityState": None,
            "FormattedValues": _pairs({"hlf_contactid": holder.name}),
            "Id": str(certificate_id),
            "KeyAttributes": [],
            "LogicalName": table,
            "RelatedEntities": [],
            "RowVersion": "1234567",
        }
    entity_image = {
        "__type": f"Entity:{CONTRACTS}",
        "Attributes": _pairs(image),
        "Id": str(certificate_id),
        "LogicalName": table,
    }
    context = {
        "BusinessUnitId": str(uuid4()),
        "CorrelationId": str(uuid4()),
        "Depth": 1,
        "InitiatingUserId": str(uuid4()),
        "InputParameters": _pairs({"Target": target}),
        "IsExecutingOffline": False,
        "IsInTransaction": False,
        "IsOfflinePlayback": False,
        "IsolationMode": 1,
        "MessageName": message,
        "Mode": 1,
        "OperationCreatedOn": wcf_date(modified),
        "OperationId": str(uuid4()),
        "OrganizationId": str(uuid4()),
        "OrganizationName": "hlfportal",
        "OutputParameters": [],
        "OwningExtension": {
            "Id": str(uuid4()),
            "KeyAttributes": [],
            "LogicalName": "sdkmessageprocessingstep",
            "Name": "mentor-notify certificate sync",
            "RowVersion": None,
        },
        "ParentContext": None,
        "PostEntityImages": _pairs({"PostImage": entity_image}) if message != "Delete" else [],
        "PreEntityImages": _pairs({"PreImage": entity_image}) if message == "Delete" else [],
        "PrimaryEntityId": str(certificate_id),
        "PrimaryEntityName": table,
        "RequestId": str(request_id or uuid4()),
        "SecondaryEntityName": "none",
        "SharedVariables": [],
        "Stage": 40,
        "UserId": str(uuid4()),
    }
    return json.dumps(context).encode()


def dataverse_headers(body: bytes, request_id: str | None = None) -> dict[str, str]:
    """The headers Dataverse adds to a webhook call."""
    context = json.loads(body)
    return {
        "content-type": "application/json",
        "x-request-id": request_id or context["RequestId"],
        "x-ms-correlation-request-id": context["CorrelationId"],
        "x-ms-dynamics-organization": "hlfportal.crm4.dynamics.com",
        "x-ms-dynamics-entity-name": context["PrimaryEntityName"],
        "x-ms-dynamics-request-name": context["MessageName"],
    }


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
