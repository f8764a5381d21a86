"""The push services and device platforms, as the database's CHECK constraints name them
(`device_tokens.provider`, `device_tokens.platform`, `push_deliveries.provider`), and what
each service's device tokens look like."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

Provider = Literal["fcm", "apns"]
Platform = Literal["android", "ios"]


@dataclass(frozen=True)
class TokenFormat:
    """What a service's device tokens look like."""

    pattern: re.Pattern[str]
    description: str


# One rule per service, used where tokens come in (`DeviceTokenRegistration`) and
# by the emulator standing in for the service, so the two never disagree.
TOKEN_FORMATS: Final[Mapping[Provider, TokenFormat]] = {
    # APNs takes the device token's bytes in hexadecimal (the provider API's
    # /3/device/<token> path). Apple: "APNs device tokens are of variable length.
    # Do not hard-code their size" (UIApplicationDelegate,
    # application(_:didRegisterForRemoteNotificationsWithDeviceToken:), checked
    # 2026-11-29): 32 bytes so far, 80 seen in the wild, up to 100 accepted here.
    "apns": TokenFormat(
        re.compile(r"^[0-9a-fA-F]{64,200}$"),
        "an APNs device token is the token's bytes in hexadecimal: 64 to 200 hex digits (0-9, a-f)",
    ),
    # FCM registration tokens are opaque and Google documents no format: printable
    # ASCII without spaces, 8 to 4096 characters (a NUL byte, which PostgreSQL
    # cannot store, or a space is refused).
    "fcm": TokenFormat(
        re.compile(r"^[\x21-\x7e]{8,4096}$"),
        "an FCM registration token is 8 to 4096 printable ASCII characters without spaces",
    ),
}


def token_format_problem(provider: Provider, token: str) -> str | None:
    """Why `token` cannot be a `provider` device token, or None when it can be one."""
    rule = TOKEN_FORMATS[provider]
    return None if rule.pattern.fullmatch(token) else rule.description
