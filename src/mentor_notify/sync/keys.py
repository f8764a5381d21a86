"""The webhook keys of each organisation's membership system: a key admits its
holder to that organisation's sync endpoints only. The database keeps each key's
SHA-256; the key itself is shown once, when made."""

import asyncio
import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from mentor_notify.api.api_keys import FINGERPRINT_DIGITS, key_sha256, new_key
from mentor_notify.db import Pool
from mentor_notify.domain import Clock
from mentor_notify.organisations import covered_organisations
from mentor_notify.sync.models import CallerKeys, NewWebhookKey, UnknownKey, WebhookKey
from mentor_notify.sync.repository import SyncRepository

_FINGERPRINT = re.compile(rf"sha256:([0-9a-f]{{{FINGERPRINT_DIGITS}}})")

# How long a server trusts the keys it read for an organisation: a key added or
# revoked takes effect within this time, and a burst of webhook calls reads the
# keys once instead of once per call (a query per call cost a tenth of the
# ingest rate).
CALLER_KEYS_TTL = timedelta(seconds=10)


class WebhookKeys:
    """Per-organisation webhook keys over `pool`; instants from `clock`."""

    def __init__(self, pool: Pool, clock: Clock) -> None:
        """Work on `pool`, stamping with `clock`."""
        self._pool = pool
        self._clock = clock
        # Only organisations that exist are remembered, so callers naming made-up
        # ones cannot grow it.
        self._cached: dict[str, tuple[datetime, CallerKeys]] = {}
        # The read under way per organisation: a burst's first calls, which all
        # find the cache empty, share one query instead of each sending its own
        # (1,000 deliveries at once sent 1,000 key queries before the first
        # answer filled the cache).
        self._reading: dict[str, asyncio.Task[CallerKeys | None]] = {}

    async def of_caller(self, organization: str) -> CallerKeys | None:
        """The organisation a sync URL names (id or slug) and the hashes of its live
        keys, for comparing a caller's key; None if there is no such organisation.
        Read again once older than CALLER_KEYS_TTL."""
        now = self._clock.now()
        cached = self._cached.get(organization)
        if cached is not None and now - cached[0] < CALLER_KEYS_TTL:
            return cached[1]
        reading = self._reading.get(organization)
        if reading is None:
            reading = asyncio.create_task(self._read(organization, now))
            self._reading[organization] = reading
            reading.add_done_callback(lambda _: self._reading.pop(organization, None))
        # Shielded: a caller that goes away does not cancel the others' read.
        return await asyncio.shield(reading)

    async def _read(self, organization: str, now: datetime) -> CallerKeys | None:
        async with self._pool.connection() as conn:
            found = await SyncRepository(conn).caller_keys(organization)
        if found is None:
            self._cached.pop(organization, None)
        else:
            self._cached[organization] = (now, found)
        return found

    async def add(self, organization: str) -> NewWebhookKey:
        """Make a new random key for the organisation (id or slug), keeping only its
        hash; raises `UnknownOrganisation`."""
        key = new_key()
        async with self._pool.connection() as conn, conn.transaction():
            [org] = await covered_organisations(conn, [organization])
            made = await SyncRepository(conn).add_key(org.id, key_sha256(key), self._clock.now())
        return NewWebhookKey(key=key, webhook_key=made)

    async def of_organisations(
        self, organisations: Sequence[str] | None = None
    ) -> list[WebhookKey]:
        """The keys, live and revoked, of the organisations named (default all)."""
        async with self._pool.connection() as conn:
            ids = [o.id for o in await covered_organisations(conn, organisations)]
            return await SyncRepository(conn).keys(ids)

    async def revoke(self, organization: str, fingerprint: str) -> list[tuple[WebhookKey, bool]]:
        """Revoke the organisation's key with `fingerprint` (as `list` shows it); each
        key revoked, with whether it was revoked already. Raises `UnknownKey`."""
        match = _FINGERPRINT.fullmatch(fingerprint)
        if match is None:
            raise UnknownKey(
                f"{fingerprint!r} is not a key fingerprint (sha256: and "
                f"{FINGERPRINT_DIGITS} hex digits, as `sync keys list` shows)"
            )
        async with self._pool.connection() as conn, conn.transaction():
            [org] = await covered_organisations(conn, [organization])
            revoked = await SyncRepository(conn).revoke_key(
                org.id, match.group(1), self._clock.now()
            )
        if not revoked:
            raise UnknownKey(f"{org.slug} has no webhook key {fingerprint}")
        return revoked
