"""The Supabase project's published signing keys (its JSON Web Key Set), cached.

Supabase Auth signs sessions with asymmetric keys and publishes the public
halves at `<project>/auth/v1/.well-known/jwks.json` (guide "JWT Signing Keys",
checked 2026-11-29: its edge caches the document for 10 minutes and client
libraries for 10 more). Here the set is kept for `max_age` (10 minutes), so a
revoked key stops being trusted within that, and fetched again at once when a
token names a key id not in it (a newly rotated key), at most once per
`min_refresh` so tokens with made-up key ids cannot make us hammer the
endpoint.
"""

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt
import structlog

from mentor_notify.domain import Clock

log = structlog.get_logger(__name__)

# The algorithms Supabase's asymmetric signing keys use (guide "JWT Signing Keys").
ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "RS256"})


class SigningKeysUnavailable(Exception):
    """The key set could not be fetched or read, and no usable copy is cached."""


class SigningKeys:
    """The project's signing keys by key id, fetched over HTTPS and cached."""

    def __init__(
        self,
        url: str,
        clock: Clock,
        *,
        max_age: timedelta = timedelta(minutes=10),
        min_refresh: timedelta = timedelta(minutes=1),
        timeout: float = 5.0,
    ) -> None:
        """Fetch from `url`; `clock` is the real clock the cache ages by."""
        self._url = url
        self._clock = clock
        self._max_age = max_age
        self._min_refresh = min_refresh
        self._timeout = timeout
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: datetime | None = None
        self._attempted_at: datetime | None = None
        self._lock = asyncio.Lock()

    @property
    def url(self) -> str:
        """Where the key set is published."""
        return self._url

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The trusted key with id `kid`, or None when the project does not publish it
        (after fetching the set again if that is allowed now)."""
        now = self._clock.now()
        if self._fetched_at is None or now - self._fetched_at >= self._max_age:
            await self._refresh(now)
        found = self._keys.get(kid)
        if found is None and (
            self._attempted_at is None or now - self._attempted_at >= self._min_refresh
        ):
            await self._refresh(now)
            found = self._keys.get(kid)
        return found

    async def _refresh(self, now: datetime) -> None:
        async with self._lock:
            if self._attempted_at is not None and self._attempted_at >= now:
                return  # another request refreshed while this one waited
            self._attempted_at = now
            try:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await client.get(self._url)
                    response.raise_for_status()
                    self._keys = _usable_keys(response.json())
                self._fetched_at = now
                log.info("signing keys fetched", keys=len(self._keys))
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("signing keys not fetched", error=type(exc).__name__)
                # A copy already held keeps serving through an outage of the
                # endpoint; without one nothing can be verified.
                if not self._keys:
                    raise SigningKeysUnavailable(
                        "the project's signing keys could not be fetched; try again shortly"
                    ) from exc


def _usable_keys(document: Any) -> dict[str, jwt.PyJWK]:
    """The signature keys of a JWKS document that use an accepted algorithm, by key id."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JSON Web Key Set")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue  # a key type or curve this verifier does not accept
        if key.algorithm_name in ASYMMETRIC_ALGORITHMS:
            keys[entry["kid"]] = key
    return keys
