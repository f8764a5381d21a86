"""The sync's statements on one connection: store, apply, report, re-queue."""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from mentor_notify.api.api_keys import fingerprint
from mentor_notify.db import translating
from mentor_notify.db.sql_files import load_sql
from mentor_notify.expiry import EXPIRY_LOCK_CLASS
from mentor_notify.sync.models import (
    CallerKeys,
    DataverseMapping,
    DeadEvent,
    OutcomeCounts,
    StatusRow,
    SyncEvent,
    WebhookKey,
)

_SQL = "mentor_notify.sync"
_RECEIVE = load_sql(_SQL, "receive")
_APPLY_PENDING = load_sql(_SQL, "apply_pending")
_ENABLED = load_sql(_SQL, "enabled")
_ENABLED_ORGANISATIONS = load_sql(_SQL, "enabled_organisations")
# The lock the sweep takes for its listing step (the organisation id as key), so
# the sync's listing refresh and the sweep's never interleave.
_LOCK_DIRECTORY = load_sql("mentor_notify.expiry", "lock_slice")
# One applier per organisation at a time (issue 24): every server process runs
# an applier, and a second one waits for the first's batch to be committed and
# then finds only what is still pending, instead of queueing behind the same
# events' row locks one at a time. The sweep's transaction-scoped lock
# statement, with a class of its own and the organisation id as key.
_LOCK_APPLYING = _LOCK_DIRECTORY
SYNC_APPLY_LOCK_CLASS = 0x4D4E0003
_STATUS = load_sql(_SQL, "status")
_DEAD = load_sql(_SQL, "dead")
_RETRY = load_sql(_SQL, "retry")
_WEBHOOK_KEYS = load_sql(_SQL, "webhook_keys")
_ADD_KEY = load_sql(_SQL, "add_key")
_KEYS = load_sql(_SQL, "keys")
_REVOKE_KEY = load_sql(_SQL, "revoke_key")
_MAPPINGS = load_sql(_SQL, "mappings")
_SET_MAPPING = load_sql(_SQL, "set_mapping")
# The listing's visibility rule is the expiry sweep's; the sync runs the same
# statement so a renewal lists a lapsed mentor again, and a revocation hides
# one, without a second rule.
_DIRECTORY = load_sql("mentor_notify.expiry", "directory")


class SyncRepository:
    """Reads and writes the inbox through `conn` (transactions are the caller's)."""

    def __init__(self, conn: AsyncConnection[DictRow]) -> None:
        """Work on `conn`."""
        self._conn = conn

    async def caller_keys(self, organization: str) -> CallerKeys | None:
        """The organisation with id or slug `organization` and its live webhook keys'
        hashes; None if there is no such organisation."""
        row = await self._one(_WEBHOOK_KEYS, {"organization": organization})
        if row is None:
            return None
        return CallerKeys(
            organization_id=row["organization_id"],
            key_sha256=row["key_sha256"],
            timezone=row["timezone"],
            mapping=_mapping(row["mapping"]),
        )

    async def mappings(self, ids: Sequence[UUID]) -> list[tuple[str, DataverseMapping, bool]]:
        """Each organisation's slug, Dataverse mapping, and whether it stored one (else
        the mapping is the proposal in the code)."""
        rows = await self._all(_MAPPINGS, {"organization_ids": list(ids)})
        return [(r["slug"], _mapping(r["mapping"]), r["mapping"] is not None) for r in rows]

    async def set_mapping(
        self, organization_id: UUID, mapping: DataverseMapping, now: datetime
    ) -> None:
        """Store the organisation's Dataverse mapping."""
        params: dict[str, Any] = {
            _COLUMNS.get(field, f"{field}_column"): value
            for field, value in mapping.model_dump(mode="json").items()
        }
        await self._one(_SET_MAPPING, params | {"organization_id": organization_id, "now": now})

    async def add_key(self, organization_id: UUID, key_sha256: str, now: datetime) -> WebhookKey:
        """Register the key with hash `key_sha256` for the organisation."""
        params = {"organization_id": organization_id, "key_sha256": key_sha256, "now": now}
        row = await self._one(_ADD_KEY, params)
        assert row is not None  # INSERT ... RETURNING without a conflict clause
        return _webhook_key(row)

    async def keys(self, ids: Sequence[UUID]) -> list[WebhookKey]:
        """The webhook keys, live and revoked, of the organisations in `ids`."""
        return [_webhook_key(r) for r in await self._all(_KEYS, {"organization_ids": list(ids)})]

    async def revoke_key(
        self, organization_id: UUID, sha256_prefix: str, now: datetime
    ) -> list[tuple[WebhookKey, bool]]:
        """Revoke the organisation's keys whose hash starts with `sha256_prefix`; each
        with whether it had been revoked already."""
        params = {"organization_id": organization_id, "prefix": sha256_prefix, "now": now}
        rows = await self._all(_REVOKE_KEY, params)
        return [(_webhook_key(r), bool(r["already_revoked"])) for r in rows]

    async def receive_many(
        self, deliveries: Sequence[tuple[UUID, SyncEvent, str, datetime]]
    ) -> list[DictRow | None]:
        """Store each of `deliveries` (organisation id, event, SHA-256 of its body,
        time received) once per source request id, in order, in one round trip.
        For each: organization_id, event_id, status, reason and duplicate; None if
        the organisation is gone. A repeat of an earlier delivery of the same
        batch is a duplicate of it, as if it had come later."""
        params: list[dict[str, Any]] = [
            event.model_dump()
            | {"organization_id": organization_id, "body_sha256": body_sha256, "now": now}
            for organization_id, event, body_sha256, now in deliveries
        ]
        rows: list[DictRow | None] = []
        with translating():
            async with self._conn.cursor() as cur:
                # One statement per delivery, sent together (psycopg's pipeline):
                # each sees the ones before it, so a repeat within the batch is
                # found as a duplicate.
                await cur.executemany(_RECEIVE, params, returning=True)
                while True:
                    rows.append(await cur.fetchone())
                    if not cur.nextset():
                        break
        return rows

    async def lock_applying(self, organization_id: UUID) -> None:
        """Wait until no other applier is applying the organisation's events, and
        hold that until this transaction ends."""
        await self._one(
            _LOCK_APPLYING,
            {"lock_class": SYNC_APPLY_LOCK_CLASS, "lock_key": str(organization_id)},
        )

    async def apply_pending(
        self, organization_id: UUID, now: datetime, batch: int
    ) -> tuple[OutcomeCounts, list[UUID]]:
        """Apply up to `batch` held events of the organisation in source order: how
        they ended, and the mentors whose certificates changed."""
        counts = OutcomeCounts()
        mentors: list[UUID] = []
        params = {"organization_id": organization_id, "now": now, "batch": batch}
        for row in await self._all(_APPLY_PENDING, params):
            counts.add(row["outcome"], row["events"])
            mentors += row["peer_mentor_ids"] or []
        return counts, mentors

    async def refresh_directory(
        self,
        organization_id: UUID,
        today: date,
        now: datetime,
        peer_mentor_ids: Sequence[UUID] | None = None,
    ) -> tuple[int, int]:
        """The expiry sweep's listing step for one organisation, or only for the listings
        of `peer_mentor_ids`: (hidden, listed again)."""
        await self._one(
            _LOCK_DIRECTORY, {"lock_class": EXPIRY_LOCK_CLASS, "lock_key": str(organization_id)}
        )
        params = {
            "organization_id": organization_id,
            "today": today,
            "now": now,
            "peer_mentor_ids": None if peer_mentor_ids is None else list(peer_mentor_ids),
        }
        row = await self._one(_DIRECTORY, params)
        return (0, 0) if row is None else (int(row["suppressed"]), int(row["restored"]))

    async def organisations(self, ids: Sequence[UUID]) -> list[DictRow]:
        """Flag, slug, timezone and held events of each organisation in `ids`."""
        return await self._all(_ENABLED, {"organization_ids": list(ids)})

    async def enabled_organisations(self) -> list[DictRow]:
        """Id, slug and time zone of every organisation whose sync is on."""
        return await self._all(_ENABLED_ORGANISATIONS, {})

    async def status(self, ids: Sequence[UUID]) -> list[StatusRow]:
        """Events per status of each organisation in `ids`."""
        return [StatusRow(**r) for r in await self._all(_STATUS, {"organization_ids": list(ids)})]

    async def dead(self, ids: Sequence[UUID], limit: int) -> list[DeadEvent]:
        """The oldest `limit` dead events of the organisations in `ids`."""
        params = {"organization_ids": list(ids), "limit": limit}
        return [DeadEvent(**r) for r in await self._all(_DEAD, params)]

    async def retry(self, ids: Sequence[int]) -> list[DictRow]:
        """Re-queue the dead events among `ids`; their ids and organisations."""
        return await self._all(_RETRY, {"ids": list(ids)})

    async def _one(self, query: str, params: dict[str, Any]) -> DictRow | None:
        with translating():
            cur = await self._conn.execute(query, params)
            return await cur.fetchone() if cur.description else None

    async def _all(self, query: str, params: dict[str, Any]) -> list[DictRow]:
        with translating():
            cur = await self._conn.execute(query, params)
            return await cur.fetchall()


# certificate_sync_mappings' column for each DataverseMapping field (the rest are
# the field's name and `_column`).
_COLUMNS = {"table": "table_name", "date_behavior": "date_behavior"}


def _mapping(stored: dict[str, Any] | None) -> DataverseMapping:
    if stored is None:
        return DataverseMapping()
    fields = {
        field: _COLUMNS.get(field, f"{field}_column") for field in DataverseMapping.model_fields
    }
    return DataverseMapping(**{field: stored[column] for field, column in fields.items()})


def _webhook_key(row: DictRow) -> WebhookKey:
    return WebhookKey(
        id=row["id"],
        organization_id=row["organization_id"],
        slug=row["slug"],
        fingerprint=fingerprint(row["key_sha256"]),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )
