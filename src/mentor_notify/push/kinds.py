"""The push services and device platforms, as the database's CHECK constraints name them
(`device_tokens.provider`, `device_tokens.platform`, `push_outbox.provider`)."""

from typing import Literal

Provider = Literal["fcm", "apns"]
Platform = Literal["android", "ios"]
