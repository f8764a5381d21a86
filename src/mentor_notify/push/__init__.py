"""Push delivery: device tokens (and, to come, the outbox dispatcher and senders)."""

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
