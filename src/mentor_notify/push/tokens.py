"""Device tokens: registered by the app at every launch, listed when they go stale.

Registering is an upsert on the token: the same device registering again only
refreshes `last_refreshed_at` (so a token that stops being refreshed is a sign
the app was removed), and a token registered by another person (a device that
changed hands) moves to them, because pushes must reach whoever uses the device
now. One person may have several devices, on both platforms. The token itself
is a credential for reaching a device: it is never logged or listed.
"""

from datetime import datetime, timedelta
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from mentor_notify.db import translating
from mentor_notify.db.sql_files import load_sql
from mentor_notify.push.kinds import Platform, Provider, token_format_problem


class DeviceTokenRegistration(BaseModel):
    """A device the calling user registers (the app sends it at every launch)."""

    model_config = ConfigDict(extra="forbid")

    platform: Platform
    provider: Provider = "fcm"
    # Declared after provider, so its validator can read which service's format applies.
    token: str = Field(
        description="The device's push token: for FCM its registration token (8-4096 "
        "printable ASCII characters), for APNs its device token in hexadecimal "
        "(64-200 hex digits)."
    )

    @field_validator("token")
    @classmethod
    def _token_format(cls, token: str, info: ValidationInfo) -> str:
        provider = info.data.get("provider")
        if provider is None:  # an unknown provider: its own error says so
            return token
        problem = token_format_problem(provider, token)
        if problem is not None:
            raise ValueError(problem)  # never the token itself: it reaches a device
        return token


class DeviceTokenResponse(BaseModel):
    """A registered device token (the token itself is not echoed)."""

    id: UUID
    platform: Platform
    provider: Provider
    last_refreshed_at: datetime


class StaleToken(BaseModel):
    """A device token not refreshed for a while: ids and dates, never the token."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    user_id: UUID
    platform: Platform
    provider: Provider
    last_refreshed_at: datetime


_REGISTER = load_sql("mentor_notify.push", "register_token")

_DELETE_OWN = load_sql("mentor_notify.push", "delete_own_token")

_STALE = load_sql("mentor_notify.push", "stale_tokens")

# How long a token may go without a refresh before `push stale-tokens` lists it,
# unless asked otherwise: the data-quality report's age (private.stale_device_age(),
# held equal by a test).
STALE_TOKEN_AGE = timedelta(days=30)


class DeviceTokenRepository:
    """Device tokens through one connection."""

    def __init__(self, conn: AsyncConnection[DictRow]) -> None:
        """Use `conn` for every call; each call is its own transaction (or savepoint)."""
        self._conn = conn

    async def register(
        self, user_id: UUID, registration: DeviceTokenRegistration, now: datetime
    ) -> DeviceTokenResponse:
        """Register the user's device, or refresh it if already registered."""
        with translating():
            async with self._conn.transaction():
                cur = await self._conn.execute(
                    _REGISTER, registration.model_dump() | {"user_id": user_id, "now": now}
                )
                row = await cur.fetchone()
        assert row is not None  # INSERT ... ON CONFLICT DO UPDATE always returns the row
        return DeviceTokenResponse.model_validate(row)

    async def delete_own(self, user_id: UUID, token_id: UUID) -> bool:
        """Delete one of the user's own tokens; False when they have none with that id."""
        with translating():
            async with self._conn.transaction():
                cur = await self._conn.execute(_DELETE_OWN, {"id": token_id, "user_id": user_id})
                return cur.rowcount == 1

    async def stale(self, older_than: timedelta, now: datetime) -> list[StaleToken]:
        """Tokens not refreshed since `now - older_than`, oldest first."""
        with translating():
            cur = await self._conn.execute(_STALE, {"now": now, "older_than": older_than})
            rows = await cur.fetchall()
        return [StaleToken.model_validate(row) for row in rows]
