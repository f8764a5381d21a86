"""Inbound certificate events over HTTP (issue 19):

- `POST /v1/sync/{organization}/dataverse`: a Microsoft Dataverse (Dynamics 365)
  webhook, its body the serialised RemoteExecutionContext;
- `POST /v1/sync/{organization}/events`: our own `v1` contract.

`organization` is the organisation's id or slug. The caller presents one of that
organisation's webhook keys (`mentor-notify sync keys add`, several live at once
for rotation; the database keeps their SHA-256, compared in constant time by
`ApiKeys`), so a key of one organisation never admits anyone to another's URL. A
key is accepted in any of the three ways Dataverse registers a webhook's
authentication ("Register a WebHook", learn.microsoft.com, checked
2026-11-29): HttpHeader (header `apikey: <key>`), WebhookKey (query `?code=<key>`)
or HttpQueryString (query `?apikey=<key>`).

Every authenticated JSON delivery is committed to the inbox before the answer
(issue 24): Dataverse tries a call again only after a 502, 503 or 504, so a 4xx
would lose it for good ("Use webhooks to create external handlers for server
events", learn.microsoft.com, checked 2026-12-06). What cannot be applied as
received (a cut body, another table's message, a person id that is personal
data) is stored dead with its reason and answered 202 to Dataverse; a `v1` body
that breaks the contract is stored dead too, and answered 422 so that its sender
knows. Only a body that is not JSON (400), an unknown organisation or a wrong key
(401) and a body over the API's limit (413, before it is read) are refused
without being stored; a delivery the database fails to store is answered 503,
so that Dataverse sends it again.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.security import APIKeyHeader, APIKeyQuery

from mentor_notify.api.api_keys import ApiKeys
from mentor_notify.api.app import ApiError
from mentor_notify.db import DatabaseError
from mentor_notify.sync import (
    CallerKeys,
    CertificateSync,
    ContractBroken,
    InvalidEvent,
    Receipt,
    Source,
    WebhookKeys,
)
from mentor_notify.sync.v1 import v1_json_schema

log = structlog.get_logger(__name__)

# One security scheme per way Dataverse can present the key, each named apart from
# the jobs' API keys (which never admit to these endpoints, nor these keys to jobs).
_KEY_RULE = (
    " A key of the organisation the URL names, as `mentor-notify sync keys add` made it "
    "(43 URL-safe base64 characters: A-Z a-z 0-9 - _)."
)
_header = APIKeyHeader(
    name="apikey",
    scheme_name="WebhookKeyHeader",
    auto_error=False,
    description="A webhook key in the `apikey` header (Dataverse HttpHeader)." + _KEY_RULE,
)
_code = APIKeyQuery(
    name="code",
    scheme_name="WebhookKeyCode",
    auto_error=False,
    description="A webhook key in the `code` query parameter (Dataverse WebhookKey)." + _KEY_RULE,
)
_query = APIKeyQuery(
    name="apikey",
    scheme_name="WebhookKeyQuery",
    auto_error=False,
    description="A webhook key in the `apikey` query parameter (Dataverse HttpQueryString)."
    + _KEY_RULE,
)


class SyncAdmission:
    """The sync ingest's own admission budget (the API's in-flight limit does not
    apply to it): at most `limit` deliveries are read and stored at once; the next
    waits for a place, up to `wait_seconds` (Dataverse waits 60 s for an answer),
    and only then is answered 503, which Dataverse tries once more. Storing one
    delivery takes one short statement, so the wait is for the database's
    connections, not for applying."""

    def __init__(self, limit: int = 512, wait_seconds: float = 30.0) -> None:
        """At most `limit` at once; a delivery waits up to `wait_seconds` for a place."""
        self._places = asyncio.Semaphore(limit)
        self._wait = wait_seconds

    @contextlib.asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """Hold a place while the delivery is stored; `ApiError` 503 if none frees
        up in time."""
        try:
            await asyncio.wait_for(self._places.acquire(), self._wait)
        except TimeoutError:
            raise ApiError(
                503, "overloaded", "the sync ingest is at its limit; try again"
            ) from None
        try:
            yield
        finally:
            self._places.release()


def sync_router(
    sync: CertificateSync, keys: WebhookKeys, admission: SyncAdmission | None = None
) -> APIRouter:
    """The sync endpoints over `sync`, admitting a caller with one of the live `keys`
    of the organisation its URL names, within the `admission` budget."""
    router = APIRouter(prefix="/v1/sync", tags=["sync"])
    budget = admission or SyncAdmission()

    async def webhook_caller(
        organization: str,
        header: Annotated[str | None, Depends(_header)],
        code: Annotated[str | None, Depends(_code)],
        query: Annotated[str | None, Depends(_query)],
    ) -> CallerKeys:
        refused = ApiError(
            401, "unauthorized", f"a valid webhook key of organisation {organization!r} is required"
        )
        given = [k for k in (header, code, query) if k is not None]
        if not given:
            raise refused
        caller = await keys.of_caller(organization)
        accepted = ApiKeys.from_sha256([] if caller is None else caller.key_sha256)
        # Every candidate is checked, so the time taken does not say which one matched.
        matches = [accepted.accepts(k) for k in given]
        if caller is None or not any(matches):
            raise refused
        return caller

    Caller = Annotated[CallerKeys, Depends(webhook_caller)]

    async def receive(request: Request, caller: CallerKeys, source: Source) -> Receipt:
        try:
            async with budget.admit():
                body = await request.body()
                return await sync.receive(caller, source, body, request.headers)
        except ContractBroken as exc:
            raise ApiError(422, "invalid_event", str(exc)) from exc
        except InvalidEvent as exc:
            raise ApiError(400, "invalid_event", str(exc)) from exc
        except DatabaseError as exc:
            # Not stored. Dataverse tries again only after a 502, 503 or 504 (see
            # above): the app's 500 or 422 for a database refusal would lose the
            # change for good, so the sender is told to try again.
            log.error("sync delivery not stored", error=str(exc))
            raise ApiError(
                503, "not_stored", "the delivery could not be stored; try again later"
            ) from exc

    @router.post("/{organization}/dataverse", status_code=202, openapi_extra=_dataverse_body())
    async def dataverse_webhook(request: Request, organization: str, caller: Caller) -> Receipt:
        """Receive a Dataverse webhook call (Create, Update or Delete of a certificate row)."""
        return await receive(request, caller, Source.DATAVERSE)

    @router.post("/{organization}/events", status_code=202, openapi_extra=_v1_body())
    async def v1_event(request: Request, organization: str, caller: Caller) -> Receipt:
        """Receive a `v1` certificate event."""
        return await receive(request, caller, Source.V1)

    return router


def _v1_body() -> dict[str, Any]:
    schema = v1_json_schema()
    schema.pop("$schema")
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        },
        "responses": _METHOD_NOT_ALLOWED,
    }


def _dataverse_body() -> dict[str, Any]:
    text = {"type": "string"}
    nullable_text = {"type": ["string", "null"]}
    pairs = {
        "type": "array",
        "description": "A dictionary as data-contract JSON: a list of key/value pairs.",
        "items": {
            "type": "object",
            "properties": {"key": text, "value": {}},
            "required": ["key"],
        },
    }
    entity = {
        "type": "object",
        "description": "An Entity: the row's logical name, id and changed columns.",
        "properties": {
            "LogicalName": text,
            "Id": text,
            "Attributes": pairs,
            "RowVersion": nullable_text,
        },
    }
    images = {
        "type": "array",
        "description": "Entity images keyed by the alias given at registration.",
        "items": {
            "type": "object",
            "properties": {"key": text, "value": entity},
            "required": ["key"],
        },
    }
    context = {
        "type": "object",
        "title": "RemoteExecutionContext",
        "description": "Dataverse's serialised RemoteExecutionContext as its webhooks post it "
        '("Use webhooks to create external handlers for server events", learn.microsoft.com, '
        "checked 2026-12-06). Only the mapped certificate columns (`sync mappings`) and the "
        "fields below are read. Any JSON object is stored before the answer: one that cannot "
        "be applied (another message or table, a body cut past 256 KB, no PrimaryEntityId, a "
        "person id that is personal data) is answered 202 and kept dead with its reason, "
        "because Dataverse never sends a call again after a 4xx.",
        "properties": {
            "MessageName": {**text, "description": "Create, Update or Delete."},
            "PrimaryEntityName": {**text, "description": "The certificate table's logical name."},
            "PrimaryEntityId": {**text, "minLength": 1, "maxLength": 200},
            "RequestId": {
                **nullable_text,
                "description": "The idempotency key; null in asynchronous steps, then the "
                "x-request-id header, else a hash of OperationId, CorrelationId, MessageName, "
                "PrimaryEntityName, PrimaryEntityId, OperationCreatedOn, Stage and Depth.",
            },
            "OperationId": nullable_text,
            "CorrelationId": nullable_text,
            "OperationCreatedOn": {
                **nullable_text,
                "description": "When the operation ran, as /Date(ms)/ or /Date(ms+hhmm)/ "
                "(milliseconds since 1970 UTC); orders a Delete.",
            },
            "Stage": {"type": ["integer", "null"]},
            "Depth": {"type": ["integer", "null"]},
            "InputParameters": {
                **pairs,
                "description": "Target: the Entity (Create, Update) "
                "or an EntityReference (Delete).",
            },
            "PreEntityImages": images,
            "PostEntityImages": images,
        },
        "additionalProperties": True,
    }
    headers = [
        {
            "name": "x-ms-dynamics-msg-size-exceeded",
            "in": "header",
            "required": False,
            "description": "Sent by Dataverse when the body passed 256 KB and lost its "
            "InputParameters, ParentContext and images: such a Create or Update is kept dead.",
            "schema": text,
        },
        {
            "name": "x-request-id",
            "in": "header",
            "required": False,
            "description": "The idempotency key when the body's RequestId is null.",
            "schema": {**text, "minLength": 1, "maxLength": 200},
        },
    ]
    return {
        "parameters": headers,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": context}},
        },
        "responses": _METHOD_NOT_ALLOWED,
    }


# Starlette answers another method on these paths 405 with the methods they take.
_METHOD_NOT_ALLOWED: dict[str, Any] = {
    "405": {
        "description": "Another method than POST; `Allow` names the one these paths take.",
        "headers": {"Allow": {"description": "POST", "schema": {"type": "string"}}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
}
