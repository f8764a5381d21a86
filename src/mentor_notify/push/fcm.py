"""Sending through Firebase Cloud Messaging's HTTP v1 API.

`projects/{id}/messages:send` over one HTTP/2 connection with many requests in
flight, authorised by an OAuth2 access token that google-auth obtains from a
service account (and renews before it expires). Messages carry translation
keys, never text, so no personal data leaves the database: the app renders
the words in the reader's language.
"""

import asyncio
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

import google.auth.transport.requests
from google.oauth2 import service_account
from pydantic_core import to_json

from mentor_notify.push.dispatcher import SendResult
from mentor_notify.push.http2 import Response, Transport, retry_after
from mentor_notify.push.outbox import ClaimedPush

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# FCM error codes (google.firebase.fcm.v1.FcmError) by what they mean for us.
_DEAD_TOKEN = {"UNREGISTERED", "SENDER_ID_MISMATCH"}
_RETRYABLE = {"QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL"}
_RETRYABLE_STATUS = {429, 500, 502, 503, 504}
# How long (seconds) a token google-auth called valid is used without asking it
# again. google-auth counts a token expired 3 min 45 s before it is (its refresh
# threshold), so a second more never sends an expired one; asking at every send
# cost 1.0 us (its clock read as a datetime), 0.15 us this way (measured 2026-12-07).
_TRUSTED_FOR = 1.0


class AccessTokens(Protocol):
    """Where OAuth2 access tokens for FCM come from."""

    async def token(self) -> str:
        """A currently valid access token."""
        ...

    def invalidate(self) -> None:
        """Forget the current token (the service refused it)."""
        ...


class ServiceAccountTokens:
    """Access tokens of a Google service account, fetched by google-auth and cached
    until shortly before they expire (google-auth's own margin)."""

    def __init__(self, credentials: service_account.Credentials) -> None:
        """Use `credentials` (scoped to FCM here)."""
        self._credentials = credentials.with_scopes([FCM_SCOPE])
        self._lock = asyncio.Lock()
        # Until when (time.monotonic) the current token is used without asking.
        self._trusted_until = 0.0

    @classmethod
    def from_file(cls, path: Path) -> "ServiceAccountTokens":
        """Read a service-account JSON key file downloaded from the Firebase console."""
        return cls(service_account.Credentials.from_service_account_file(str(path)))  # type: ignore[no-untyped-call]

    @classmethod
    def from_json(cls, document: str) -> "ServiceAccountTokens":
        """Use a service-account key given as JSON text (e.g. from the environment)."""
        info = json.loads(document)
        return cls(service_account.Credentials.from_service_account_info(info))  # type: ignore[no-untyped-call]

    async def token(self) -> str:
        """A valid access token, refreshed (in a thread: google-auth blocks) when due."""
        now = time.monotonic()
        if now < self._trusted_until:
            return str(self._credentials.token)
        if self._credentials.valid:  # the common case, without queueing on the lock
            self._trusted_until = now + _TRUSTED_FOR
            return str(self._credentials.token)
        async with self._lock:
            if not self._credentials.valid:
                request = google.auth.transport.requests.Request()
                await asyncio.to_thread(self._credentials.refresh, request)
            return str(self._credentials.token)

    def invalidate(self) -> None:
        """Make the next `token()` fetch a new one."""
        self._credentials.token = None
        self._trusted_until = 0.0


def _data_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def fcm_message(push: ClaimedPush) -> dict[str, Any]:
    """The HTTP v1 request body for one outbox message.

    `data` (strings only, as FCM requires) carries the deep link, the ids and
    the idempotency key the app uses to drop a duplicate; the Android and APNs
    overrides carry the translation keys, the priority and the collapse key.
    """
    payload = push.payload
    high = payload.get("priority") == "high"
    data = {key: _data_value(value) for key, value in payload.get("data", {}).items()}
    data["idempotency_key"] = push.idempotency_key
    android_notification: dict[str, Any] = {
        "title_loc_key": payload["title_key"],
        "body_loc_key": payload["body_key"],
    }
    android: dict[str, Any] = {
        "priority": "HIGH" if high else "NORMAL",
        "notification": android_notification,
    }
    apns_headers = {"apns-priority": "10" if high else "5", "apns-push-type": "alert"}
    if push.collapse_key:
        android["collapse_key"] = push.collapse_key
        android_notification["tag"] = push.collapse_key
        apns_headers["apns-collapse-id"] = push.collapse_key
    return {
        "message": {
            "token": push.token,
            "data": data,
            "android": android,
            "apns": {
                "headers": apns_headers,
                "payload": {
                    "aps": {
                        "alert": {
                            "title-loc-key": payload["title_key"],
                            "loc-key": payload["body_key"],
                        },
                        "sound": "default",
                        "thread-id": str(payload.get("category", "")),
                    }
                },
            },
        }
    }


def fcm_background_message(token: str, data: Mapping[str, str]) -> dict[str, Any]:
    """The HTTP v1 body of a data-only message, handed to the app without showing
    anything. Google (checked 2026-12-06): "Set the priority of a message" and
    "Android message priority": normal is the default for data messages and suits
    background syncing; data messages to Apple devices must use apns-priority 5
    (high priority is rejected with INVALID_ARGUMENT). On an iPhone through FCM the
    app is woken only by an APNs background notification (content-available)."""
    return {
        "message": {
            "token": token,
            "data": dict(data),
            "android": {"priority": "NORMAL"},
            "apns": {
                "headers": {"apns-push-type": "background", "apns-priority": "5"},
                "payload": {"aps": {"content-available": 1}},
            },
        }
    }


def fcm_error_code(body: bytes) -> str | None:
    """The FcmError code of an error body, else its status (e.g. INVALID_ARGUMENT)."""
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return None
    for detail in error.get("details", []):
        if str(detail.get("@type", "")).endswith("FcmError") and detail.get("errorCode"):
            return str(detail["errorCode"])
    status = error.get("status")
    return str(status) if status else None


class FcmSender:
    """Sends outbox messages through FCM HTTP v1."""

    def __init__(self, connection: Transport, project_id: str, tokens: AccessTokens) -> None:
        """Send to `project_id` over `connection` (whose base URL is FCM's or the emulator's)."""
        self._connection = connection
        self._path = f"/v1/projects/{project_id}/messages:send"
        self._tokens = tokens
        # The request headers, made again only when the access token changes.
        self._headers: dict[str, str] = {}
        self._token = ""

    async def send(self, push: ClaimedPush) -> SendResult:
        """Send one message; classify FCM's answer."""
        return await self._post(fcm_message(push))

    async def send_background(
        self, token: str, message_id: UUID, data: Mapping[str, str]
    ) -> SendResult:
        """Send a data-only message (no notification) carrying `data` to one device.
        `message_id` is APNs's apns-id; FCM names its messages itself."""
        del message_id
        return await self._post(fcm_background_message(token, data))

    async def _post(self, message: dict[str, Any]) -> SendResult:
        # pydantic-core's JSON writer: compact, UTF-8, a quarter of json.dumps's time.
        body = to_json(message)
        if (token := await self._tokens.token()) != self._token:
            self._token = token
            self._headers = {
                "authorization": f"Bearer {token}",
                "content-type": "application/json; charset=utf-8",
            }
        response = await self._connection.request("POST", self._path, self._headers, body)
        return self._classify(response)

    def _classify(self, response: Response) -> SendResult:
        status = response.status
        if status == 200:
            return SendResult("sent", status=status)
        code = fcm_error_code(response.body) or f"HTTP_{status}"
        if status == 401:
            self._tokens.invalidate()
            return SendResult("retry", code, status=status)
        if code in _DEAD_TOKEN or status in (404, 410):
            return SendResult("unregistered", code, status=status)
        if code in _RETRYABLE or status in _RETRYABLE_STATUS:
            wait = retry_after(response.headers.get("retry-after"))
            return SendResult("retry", code, wait, status)
        return SendResult("permanent", code, status=status)

    async def close(self) -> None:
        """Close the connection."""
        await self._connection.close()
