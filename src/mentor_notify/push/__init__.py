"""Push delivery: device tokens, the outbox and its dispatcher, the FCM and APNs senders,
and a local emulator of both services."""

from mentor_notify.push.tokens import (
    DeviceTokenRegistration,
    DeviceTokenRepository,
    DeviceTokenResponse,
    StaleToken,
)

__all__ = [
    "DeviceTokenRegistration",
    "DeviceTokenRepository",
    "DeviceTokenResponse",
    "StaleToken",
]
