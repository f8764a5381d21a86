"""The inbound certificate sync: receive an event (store it; the applier applies
it if the organisation's sync is on), replay held events, re-queue dead ones,
report."""

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from uuid import UUID

import structlog
from pydantic import ValidationError

from mentor_notify.db import Pool
from mentor_notify.domain import Clock, local_today
from mentor_notify.organisations import covered_organisations
from mentor_notify.sync.dataverse import parse_dataverse
from mentor_notify.sync.inbox import InboxWriter
from mentor_notify.sync.models import (
    CallerKeys,
    ContractBroken,
    DataverseMapping,
    DeadEvent,
    EventStatus,
    InvalidMapping,
    OutcomeCounts,
    Receipt,
    ReplayResult,
    Source,
    StatusRow,
    SyncEvent,
    UnknownEvents,
    problems,
)
from mentor_notify.sync.repository import SyncRepository
from mentor_notify.sync.v1 import parse_v1

log = structlog.get_logger(__name__)

# Events applied per transaction in a replay: long enough to amortise the round
# trip, short enough that a replay holds its locks briefly.
REPLAY_BATCH = 1000


def parse(
    source: Source,
    body: bytes,
    headers: Mapping[str, str],
    caller: CallerKeys,
    received_at: datetime,
) -> SyncEvent:
    """The event in `body`, read as `source` says with the organisation's mapping and
    time zone; raises `InvalidEvent` only when the body is not JSON."""
    if source is Source.DATAVERSE:
        return parse_dataverse(
            body, headers, mapping=caller.mapping, timezone=caller.timezone, received_at=received_at
        )
    return parse_v1(body, received_at)


class CertificateSync:
    """The sync over `pool`; instants come from `clock` (the real one in production)."""

    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        on_stored: Callable[[], None] | None = None,
        inbox: InboxWriter | None = None,
    ) -> None:
        """Work on `pool`, stamping with `clock`; `on_stored` is called after each new
        event is stored for applying (it wakes the applier). Deliveries are stored
        through `inbox` (default: one over `pool`)."""
        self._pool = pool
        self._clock = clock
        self._on_stored = on_stored
        self._inbox = inbox or InboxWriter(pool)

    async def receive(
        self,
        caller: CallerKeys,
        source: Source,
        body: bytes,
        headers: Mapping[str, str],
    ) -> Receipt:
        """Store the event in `body` for the organisation (whose key the caller
        presented), committed before this returns, and wake the applier
        (`SyncApplier`), which applies it if that organisation's sync is on. A
        delivery that cannot be applied as received is stored dead, with the reason
        in the receipt.

        Raises `InvalidEvent` (nothing stored: the body is not JSON),
        `ContractBroken` (a v1 body against the contract: stored dead, then
        refused) or `UnknownOrganisation`."""
        now = self._clock.now()
        event = parse(source, body, headers, caller, now)
        digest = hashlib.sha256(body).hexdigest()
        row = await self._inbox.store(caller.organization_id, event, digest, now)
        status = None if row["status"] is None else EventStatus(row["status"])
        receipt = Receipt(
            event_id=row["event_id"],
            duplicate=row["duplicate"],
            status=status,
            reason=row["reason"],
        )
        if source is Source.V1 and event.event_type is None:
            raise ContractBroken(f"{event.receive_problem} (kept as dead event {receipt.event_id})")
        log.info(
            "sync event received",
            event_id=receipt.event_id,
            source=source.value,
            duplicate=receipt.duplicate,
        )
        if status is EventStatus.PENDING and not receipt.duplicate and self._on_stored:
            self._on_stored()
        return receipt

    async def replay(self, organisations: Sequence[str] | None = None) -> ReplayResult:
        """Apply every held event of the organisations named (ids or slugs; default
        all) whose sync is on, in source order; the others' are counted as held.
        Safe to run again: an applied event is never applied twice."""
        async with self._pool.connection() as conn:
            ids = [o.id for o in await covered_organisations(conn, organisations)]
            rows = await SyncRepository(conn).organisations(ids)
        result = ReplayResult()
        for row in rows:
            if not row["enabled"]:
                if row["pending"]:
                    result.held[row["slug"]] = row["pending"]
                continue
            result.organisations[row["slug"]] = await self._replay_one(
                row["organization_id"], row["timezone"]
            )
        return result

    async def apply_held(self) -> ReplayResult:
        """Apply the held events of every organisation whose sync is on (the
        applier's round); the others' are left alone and not counted."""
        async with self._pool.connection() as conn:
            rows = await SyncRepository(conn).enabled_organisations()
        result = ReplayResult()
        for row in rows:
            result.organisations[row["slug"]] = await self._replay_one(
                row["organization_id"], row["timezone"]
            )
        return result

    async def retry(self, event_ids: Sequence[int]) -> ReplayResult:
        """Re-queue the dead events `event_ids` and replay their organisations.
        Raises `UnknownEvents`, changing nothing, if any id is not a dead event."""
        async with self._pool.connection() as conn, conn.transaction():
            rows = await SyncRepository(conn).retry(event_ids)
            missing = sorted(set(event_ids) - {r["id"] for r in rows})
            if missing:
                raise UnknownEvents(
                    "not dead events (no such id, or not in the dead letter): "
                    + ", ".join(str(i) for i in missing)
                )
        return await self.replay(sorted({str(r["organization_id"]) for r in rows}))

    async def mappings(
        self, organisations: Sequence[str] | None = None
    ) -> list[tuple[str, DataverseMapping, bool]]:
        """Each organisation's slug, Dataverse mapping, and whether it stored one (else
        it reads with the proposal in the code)."""
        async with self._pool.connection() as conn:
            ids = [o.id for o in await covered_organisations(conn, organisations)]
            return await SyncRepository(conn).mappings(ids)

    async def set_mapping(self, organization: str, changes: Mapping[str, str]) -> DataverseMapping:
        """Change the organisation's Dataverse names or date behaviour (the fields of
        `DataverseMapping` named in `changes`), keeping the rest; the mapping stored.
        Raises `InvalidMapping` (nothing changed) or `UnknownOrganisation`. Servers
        read it again within CALLER_KEYS_TTL."""
        async with self._pool.connection() as conn, conn.transaction():
            [org] = await covered_organisations(conn, [organization])
            repo = SyncRepository(conn)
            [(_, current, _)] = await repo.mappings([org.id])
            try:
                mapping = DataverseMapping.model_validate(current.model_dump() | dict(changes))
            except ValidationError as exc:
                raise InvalidMapping(problems(exc)) from None
            await repo.set_mapping(org.id, mapping, self._clock.now())
        return mapping

    async def status(
        self, organisations: Sequence[str] | None = None, dead_limit: int = 50
    ) -> tuple[list[StatusRow], list[DeadEvent]]:
        """Events per organisation and status, and the oldest dead events with reasons."""
        async with self._pool.connection() as conn:
            ids = [o.id for o in await covered_organisations(conn, organisations)]
            repo = SyncRepository(conn)
            return await repo.status(ids), await repo.dead(ids, dead_limit)

    async def _replay_one(self, organization_id: UUID, timezone: str) -> OutcomeCounts:
        total = OutcomeCounts()
        while True:
            now = self._clock.now()
            async with self._pool.connection() as conn, conn.transaction():
                repo = SyncRepository(conn)
                await repo.lock_applying(organization_id)
                counts, mentors = await repo.apply_pending(organization_id, now, REPLAY_BATCH)
                if mentors:
                    # Only these mentors' listings can have changed: the rest of
                    # the organisation is the nightly sweep's.
                    await repo.refresh_directory(
                        organization_id, local_today(self._clock, timezone), now, mentors
                    )
            for outcome, n in counts.model_dump().items():
                total.add(outcome, n)
            if counts.applied + counts.superseded + counts.dead < REPLAY_BATCH:
                break
        if total.applied + total.superseded + total.dead:
            log.info("sync replayed", organization_id=str(organization_id), **total.model_dump())
        return total
