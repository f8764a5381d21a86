"""Sending through Apple's HTTP/2 provider API with token (JWT) authentication.

Apple wants one signed provider token reused for many requests and renewed
within the hour (renewing more often than every 20 minutes is refused as
TooManyProviderTokenUpdates); the token here is renewed after 50 minutes, or
at once when APNs calls it expired.
"""

import asyncio
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
from pydantic_core import to_json

from mentor_notify.domain import Clock
from mentor_notify.push.dispatcher import SendResult
from mentor_notify.push.http2 import Response, Transport, retry_after
from mentor_notify.push.outbox import ClaimedPush

_DEAD_TOKEN = {"Unregistered", "BadDeviceToken", "DeviceTokenNotForTopic", "ExpiredToken"}
_STALE_PROVIDER_TOKEN = {"ExpiredProviderToken", "InvalidProviderToken"}
_RETRYABLE_STATUS = {429, 500, 503}
RENEW_AFTER = timedelta(minutes=50)


class ProviderToken:
    """The ES256-signed JWT APNs authenticates us by, cached and renewed before its hour."""

    def __init__(self, key_pem: str, key_id: str, team_id: str, clock: Clock) -> None:
        """`key_pem` is the .p8 signing key from the Apple developer account."""
        self._key = key_pem
        self._key_id = key_id
        self._team_id = team_id
        self._clock = clock
        self._token: str | None = None
        self._issued: datetime | None = None

    def token(self) -> str:
        """The current token, signed anew when it is 50 minutes old or was refused."""
        now = self._clock.now()
        if self._token is None or self._issued is None or now - self._issued >= RENEW_AFTER:
            self._token = jwt.encode(
                {"iss": self._team_id, "iat": int(now.timestamp())},
                self._key,
                algorithm="ES256",
                headers={"kid": self._key_id},
            )
            self._issued = now
        return self._token

    def invalidate(self) -> None:
        """Sign a new token on the next request."""
        self._token = None


def apns_request(
    push: ClaimedPush, topic: str, expiration: datetime
) -> tuple[dict[str, str], dict[str, Any]]:
    """Headers and JSON payload of one APNs request for an outbox message."""
    payload = push.payload
    high = payload.get("priority") == "high"
    headers = {
        "apns-topic": topic,
        "apns-push-type": "alert",
        "apns-priority": "10" if high else "5",
        "apns-expiration": str(int(expiration.timestamp())),
        # apns-id lets Apple and the device recognise a resend of the same message.
        "apns-id": str(push.id),
    }
    if push.collapse_key:
        headers["apns-collapse-id"] = push.collapse_key
    body: dict[str, Any] = {
        "aps": {
            "alert": {"title-loc-key": payload["title_key"], "loc-key": payload["body_key"]},
            "sound": "default",
            "thread-id": str(payload.get("category", "")),
        },
        **payload.get("data", {}),
        "idempotency_key": push.idempotency_key,
    }
    return headers, body


def apns_background_request(
    message_id: UUID, topic: str, expiration: datetime, data: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, Any]]:
    """Headers and payload of a background notification: it wakes the app without
    showing anything. Apple, "Pushing background updates to your App" (checked
    2026-12-06): the aps dictionary holds only content-available (no alert, sound
    or badge), the request carries apns-push-type background and apns-priority 5,
    custom keys may sit beside aps; delivery is not guaranteed and the system
    throttles more than two or three an hour."""
    headers = {
        "apns-topic": topic,
        "apns-push-type": "background",
        "apns-priority": "5",
        "apns-expiration": str(int(expiration.timestamp())),
        "apns-id": str(message_id),
    }
    return headers, {"aps": {"content-available": 1}, **data}


class ApnsSender:
    """Sends outbox messages through the APNs provider API."""

    def __init__(
        self,
        connection: Transport,
        provider_token: ProviderToken,
        topic: str,
        clock: Clock,
        *,
        time_to_live: timedelta = timedelta(days=7),
    ) -> None:
        """`topic` is the app's bundle id; undelivered messages expire after `time_to_live`."""
        self._connection = connection
        self._provider_token = provider_token
        self._topic = topic
        self._clock = clock
        self._ttl = time_to_live
        self._renewing = asyncio.Lock()

    async def send(self, push: ClaimedPush) -> SendResult:
        """Send one message; classify APNs's answer."""
        headers, body = apns_request(push, self._topic, self._clock.now() + self._ttl)
        return await self._post(push.token, headers, body)

    async def send_background(
        self, token: str, message_id: UUID, data: Mapping[str, str]
    ) -> SendResult:
        """Send a background notification (no alert) carrying `data` to one device."""
        headers, body = apns_background_request(
            message_id, self._topic, self._clock.now() + self._ttl, data
        )
        return await self._post(token, headers, body)

    async def _post(self, token: str, headers: dict[str, str], body: dict[str, Any]) -> SendResult:
        headers["authorization"] = f"bearer {self._provider_token.token()}"
        headers["content-type"] = "application/json"
        response = await self._connection.request(
            "POST",
            f"/3/device/{token}",
            headers,
            to_json(body),  # compact UTF-8 JSON, as in the FCM sender
        )
        return self._classify(response)

    def _classify(self, response: Response) -> SendResult:
        status = response.status
        if status == 200:
            return SendResult("sent", status=status)
        try:
            reason = str(json.loads(response.body)["reason"])
        except (ValueError, KeyError, TypeError):
            reason = f"HTTP_{status}"
        if status == 410 or reason in _DEAD_TOKEN:
            return SendResult("unregistered", reason, status=status)
        if reason in _STALE_PROVIDER_TOKEN:
            self._provider_token.invalidate()
            return SendResult("retry", reason, status=status)
        if status in _RETRYABLE_STATUS:
            wait = retry_after(response.headers.get("retry-after"))
            return SendResult("retry", reason, wait, status)
        return SendResult("permanent", reason, status=status)

    async def close(self) -> None:
        """Close the connection."""
        await self._connection.close()
