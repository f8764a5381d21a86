"""Inbound certificate events over HTTP (issue 19):

- `POST /v1/sync/{organization}/dataverse`: a Microsoft Dataverse (Dynamics 365)
  webhook, its body the serialised RemoteExecutionContext;
- `POST /v1/sync/{organization}/events`: our own `v1` contract.

`organization` is the organisation's id or slug. The caller presents one of the
webhook keys (setting sync_webhook_keys, several at once for rotation, compared
in constant time by `ApiKeys`) in any of the three ways Dataverse registers a
webhook's authentication ("Register a WebHook", learn.microsoft.com, checked
2026-11-29): HttpHeader (header `apikey: <key>`), WebhookKey (query `?code=<key>`)
or HttpQueryString (query `?apikey=<key>`).

An authenticated, well-formed event is committed to the inbox before the 202
answer; a malformed body, an unknown message or an unknown organisation gets a
4xx JSON error and is stored nowhere; a body over the API's limit gets 413
before it is read.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import APIKeyHeader, APIKeyQuery

from mentor_notify.api.api_keys import ApiKeys
from mentor_notify.api.app import ApiError
from mentor_notify.config import Settings
from mentor_notify.sync import CertificateSync, InvalidEvent, Receipt, Source, UnknownMessage
from mentor_notify.sync.v1 import v1_json_schema

_header = APIKeyHeader(
    name="apikey", auto_error=False, description="A webhook key (Dataverse HttpHeader)."
)
_code = APIKeyQuery(
    name="code", auto_error=False, description="A webhook key (Dataverse WebhookKey)."
)
_query = APIKeyQuery(
    name="apikey", auto_error=False, description="A webhook key (Dataverse HttpQueryString)."
)


def sync_keys(settings: Settings) -> ApiKeys:
    """The webhook keys the settings hold (none when unset); raises
    `ConfigurationError` for a key too short to be safe."""
    secret = settings.sync_webhook_keys
    return ApiKeys.parse("" if secret is None else secret.get_secret_value())


def sync_router(sync: CertificateSync, keys: ApiKeys) -> APIRouter:
    """The sync endpoints over `sync`, admitting callers with one of `keys`."""
    router = APIRouter(prefix="/v1/sync", tags=["sync"])

    async def webhook_caller(
        header: Annotated[str | None, Depends(_header)],
        code: Annotated[str | None, Depends(_code)],
        query: Annotated[str | None, Depends(_query)],
    ) -> None:
        if not keys:
            raise ApiError(401, "unauthorized", "this server has no sync webhook keys configured")
        given = [k for k in (header, code, query) if k is not None]
        # Every candidate is checked, so the time taken does not say which one matched.
        accepted = [keys.accepts(k) for k in given]
        if not any(accepted):
            raise ApiError(401, "unauthorized", "a valid webhook key is required")

    Caller = Annotated[None, Depends(webhook_caller)]

    async def receive(request: Request, organization: str, source: Source) -> Receipt:
        body = await request.body()
        try:
            return await sync.receive(
                organization, source, body, request.headers.get("x-request-id")
            )
        except UnknownMessage as exc:
            raise ApiError(422, "unknown_message", str(exc)) from exc
        except InvalidEvent as exc:
            raise ApiError(400, "invalid_event", str(exc)) from exc

    @router.post("/{organization}/dataverse", status_code=202, openapi_extra=_dataverse_body())
    async def dataverse_webhook(request: Request, organization: str, _: Caller) -> Receipt:
        """Receive a Dataverse webhook call (Create, Update or Delete of a certificate row)."""
        return await receive(request, organization, Source.DATAVERSE)

    @router.post("/{organization}/events", status_code=202, openapi_extra=_v1_body())
    async def v1_event(request: Request, organization: str, _: Caller) -> Receipt:
        """Receive a `v1` certificate event."""
        return await receive(request, organization, Source.V1)

    return router


def _v1_body() -> dict[str, Any]:
    schema = v1_json_schema()
    schema.pop("$schema")
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


def _dataverse_body() -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": "Dataverse's serialised RemoteExecutionContext (MessageName, "
            "PrimaryEntityName, PrimaryEntityId, RequestId, InputParameters.Target.Attributes, "
            "entity images). Only the mapped certificate columns are read.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }
