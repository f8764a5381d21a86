"""The push queue: claiming due pushes under a lease, and recording what became of them.

The queue holds one notice per notification and person (`push_notices`). A
claim folds what is due for one person into one push (a digest past their
daily budget), reads their devices at that moment, and hands out one
`ClaimedPush` per device; each device's outcome is kept in `push_deliveries`.

Delivery is at-least-once towards the push services and exactly-once in the
database: a claim is a lease (`leased_until`), so pushes of a dispatcher that
dies are claimed again when it runs out, and every send carries the same
per-device idempotency key and collapse key so the receiving side can drop a
duplicate.
"""

import asyncio
import operator
import os
import socket
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple, TypeVar
from uuid import UUID

import structlog
from psycopg import AsyncCursor
from psycopg.rows import AsyncRowFactory, RowMaker, dict_row, no_result
from pydantic import BaseModel, ConfigDict, SkipValidation
from pydantic_core import to_json

from mentor_notify.db import Pool, translating
from mentor_notify.db.errors import ConnectionFailed, ForeignKeyViolation, TransactionConflict
from mentor_notify.db.sql_files import load_sql, load_stages
from mentor_notify.push.kinds import Provider

log = structlog.get_logger(__name__)

# The claim statement, stage by stage (each file says what its stage decides).
_CLAIM = load_stages(
    "mentor_notify.push",
    "claim",
    "policy",
    "budget",
    "digest",
    "decide",
    "settle_unsent",
    "resolve",
)
# The settle statement, stage by stage: each device's outcome, each notice's,
# then each notification's with what the statement returns.
_RECORD = load_stages("mentor_notify.push", "settle", "settle_notices", "settle_notifications")
_DEAD = load_sql("mentor_notify.push", "dead")
_RETRY = load_sql("mentor_notify.push", "retry")
_RENEW = load_sql("mentor_notify.push", "renew")
_DELETE_TOKENS = load_sql("mentor_notify.push", "delete_tokens")
_STILL_HELD = load_sql("mentor_notify.push", "still_held")
_NO_JIT = load_sql("mentor_notify.push", "no_jit")
_CONFLICT_ATTEMPTS = 5
# How long settling waits for a database that went away (a restart) before
# giving up: the outcomes are the only record of sends already made.
_RECONNECT_WAITS = (0.5, 1, 2, 4, 8, 15, 30)

# `withdrawn`: not sent, because the device left its recipient after the claim.
Result = Literal["sent", "retry", "permanent", "unregistered", "withdrawn"]


class ClaimedPush(NamedTuple):
    """One device's send of a push leased to this dispatcher.

    `id` is the delivery's (stable across retries: the apns-id), `notice_id` the
    push's carrier notice, `payload` what it sends (its own or a digest, the
    same on every retry) and `idempotency_key` the per-device key
    (`mentor_notify.domain.keys.push_key` of notice and device).

    A named tuple, not a validated model: every one comes from the claim
    statement's own columns, already typed by psycopg, so validating them again
    only cost time. Measured 2026-12-07: pydantic's `model_validate` of a claim
    row took 2.6 us (it copies the payload's dicts), a named tuple 0.2 us, and it
    leaves two fewer objects per push for the garbage collector to walk."""

    id: UUID
    notice_id: UUID
    notification_id: UUID
    recipient_id: UUID
    device_token_id: UUID
    provider: Provider
    payload: dict[str, Any]
    collapse_key: str | None
    idempotency_key: str
    attempts: int
    token: str


@dataclass(frozen=True)
class Outcome:
    """What became of one send: delivered, to retry at `retry_at`, refused for good,
    refused because the device token is dead, or withdrawn unsent because the device
    is no longer its recipient's."""

    push_id: UUID
    result: Result
    error_code: str | None = None
    retry_at: datetime | None = None


class OrganisationPushes(BaseModel):
    """Pushes of one organisation settled: delivered, and given up on (failed or dead)."""

    model_config = ConfigDict(frozen=True)

    sent: int = 0
    failed: int = 0

    def plus(self, other: "OrganisationPushes") -> "OrganisationPushes":
        """The sum of both tallies."""
        return OrganisationPushes(sent=self.sent + other.sent, failed=self.failed + other.failed)


def add_tallies(
    a: dict[UUID, OrganisationPushes], b: dict[UUID, OrganisationPushes]
) -> dict[UUID, OrganisationPushes]:
    """Per-organisation tallies of both, summed."""
    return {
        org: a.get(org, OrganisationPushes()).plus(b.get(org, OrganisationPushes()))
        for org in a.keys() | b.keys()
    }


class OutcomeCounts(BaseModel):
    """What one `record` call changed: device sends delivered, to retry and refused,
    withdrawn (the device left its recipient), pushes out of attempts, sends accepted
    for a delivery already sent (duplicates), notifications settled."""

    model_config = ConfigDict(frozen=True)

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    withdrawn: int = 0
    dead: int = 0
    duplicates: int = 0
    tokens_removed: int = 0
    notifications_settled: int = 0
    by_organisation: dict[UUID, OrganisationPushes] = {}
    # The notifications whose push settled, for the packages that react to it.
    settled_notifications: list[UUID] = []


class Claim(BaseModel):
    """What one claim decided: the device sends leased for now, and how many notices
    were held for their recipient's send window, held to the next day for their
    spent budget, folded into another notice's push, skipped because the recipient
    opted out, failed for want of a device, or dead because their last attempt's
    lease ran out unrecorded."""

    model_config = ConfigDict(frozen=True)

    # Not validated again: `Outbox.claim_batch` makes them from its own statement.
    pushes: SkipValidation[list[ClaimedPush]]
    held: int = 0
    budget_held: int = 0
    folded: int = 0
    skipped: int = 0
    no_device: int = 0
    dead: int = 0
    # The notifications settled without a send, for the packages that react to it.
    settled_notifications: list[UUID] = []

    @property
    def notice_ids(self) -> list[UUID]:
        """The carrier notices leased (one per push, whatever its devices)."""
        return list(dict.fromkeys(p.notice_id for p in self.pushes))

    @property
    def touched(self) -> bool:
        """Whether the claim found anything due."""
        return bool(
            self.pushes
            or self.held
            or self.budget_held
            or self.folded
            or self.skipped
            or self.no_device
            or self.dead
        )


class DeadPush(BaseModel):
    """A push notice whose retries are exhausted."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    notification_id: UUID
    recipient_id: UUID
    attempts: int
    last_error: str | None
    created_at: datetime


# A row of the claim statement: its decision, its notification, and the send when
# the decision is `claimed`.
_ClaimRow = tuple[str, UUID | None, ClaimedPush | None]
_Row = TypeVar("_Row")


def _claim_rows(cursor: AsyncCursor[Any]) -> RowMaker[_ClaimRow]:
    """Reads the claim statement's rows by column name, found once per result: a
    dict per row (psycopg's `dict_row`) only to pick the columns out again cost
    another 0.4 us a push."""
    if cursor.description is None:
        return no_result
    names = [column.name for column in cursor.description]
    decision, notification = names.index("decision"), names.index("notification_id")
    fields = operator.itemgetter(*(names.index(name) for name in ClaimedPush._fields))
    make = ClaimedPush._make

    def row(values: Sequence[Any]) -> _ClaimRow:
        kind = values[decision]
        return kind, values[notification], make(fields(values)) if kind == "claimed" else None

    return row


def worker_name(role: str | None = None) -> str:
    """How this process signs its leases (`leased_by`): host and process id, and the
    role (api, daily) when one process plays several."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    return f"{name}:{role}" if role else name


class Outbox:
    """Claims and settles the pushes of `push_notices` for one dispatcher."""

    def __init__(self, pool: Pool, worker: str, *, max_attempts: int = 5) -> None:
        """`worker` names this process in `leased_by`; after `max_attempts` sends a
        retryable failure makes the message dead."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._pool = pool
        self._worker = worker
        self._max_attempts = max_attempts

    async def claim_batch(self, limit: int, lease: timedelta, now: datetime) -> Claim:
        """Take up to `limit` due notices (oldest first) and their recipients' other
        due notices: lease one push per person until `now + lease` (folding the rest
        into it), hold what is outside the send window or past the daily budget, skip
        muted categories; one `ClaimedPush` per device of each push."""
        params = {
            "limit": limit,
            "lease": lease,
            "now": now,
            "worker": self._worker,
            "max_attempts": self._max_attempts,
        }
        # A claim meets a settling or deleting dispatcher's locks on the budget
        # ledger and deliveries; a conflict is tried again, an outage is the
        # caller's to wait out.
        rows = await self._retrying(_CLAIM, params, _claim_rows, reconnect=False)
        decisions = Counter(decision for decision, _, _ in rows)
        return Claim(
            pushes=[push for _, _, push in rows if push is not None],
            held=decisions["held"],
            budget_held=decisions["budget_held"],
            folded=decisions["folded"],
            skipped=decisions["skipped"],
            no_device=decisions["no_device"],
            dead=decisions["dead"],
            settled_notifications=[
                notification
                for decision, notification, _ in rows
                if decision == "settled" and notification is not None
            ],
        )

    async def renew(self, ids: Sequence[UUID], lease: timedelta, now: datetime) -> int:
        """Extend to `now + lease` the leases this worker still holds on `ids`; returns
        how many it still held."""
        params = {"ids": list(ids), "lease": lease, "now": now, "worker": self._worker}
        with translating():
            async with self._pool.connection() as conn:
                cursor = await conn.execute(_RENEW, params)
                return cursor.rowcount

    async def still_held(self, pushes: Sequence[ClaimedPush]) -> set[UUID]:
        """The ids of `pushes` whose device is still their recipient's, with the token
        their claim read (asked right before sending)."""
        params = {
            "deliveries": [p.id for p in pushes],
            "devices": [p.device_token_id for p in pushes],
            "recipients": [p.recipient_id for p in pushes],
            "tokens": [p.token for p in pushes],
        }
        with translating():
            async with self._pool.connection() as conn:
                # One read is its own transaction: asked without BEGIN and COMMIT it is
                # one round trip, not three, and it is asked once per wave of sends
                # (about 1,250 times per 10,000 messages; client CPU per message -10 %,
                # BENCHMARKS.md, issue 25, third pass).
                await conn.set_autocommit(True)
                try:
                    rows = await (await conn.execute(_STILL_HELD, params)).fetchall()
                finally:
                    if not conn.broken:  # a lost connection leaves the pool anyway
                        await conn.set_autocommit(False)
        return {row["id"] for row in rows}

    async def record(self, outcomes: Sequence[Outcome], now: datetime) -> OutcomeCounts:
        """Settle the sends in one statement; pushes no longer leased to this
        dispatcher are left alone (a delivery is recorded all the same)."""
        if not outcomes:
            return OutcomeCounts()
        # pydantic-core's JSON writer takes the ids and times as they are (an id as
        # its text, a time in ISO 8601 with its offset): 0.4 us an outcome against
        # 1.0 for json.dumps of their strings (measured 2026-12-07).
        document = to_json(
            [
                {
                    "id": o.push_id,
                    "result": o.result,
                    "error_code": o.error_code,
                    "retry_at": o.retry_at,
                }
                for o in outcomes
            ]
        ).decode()
        params = {
            "outcomes": document,
            "now": now,
            "worker": self._worker,
            "max_attempts": self._max_attempts,
        }
        (row,) = await self._retrying(_RECORD, params, dict_row)
        counts = dict(row)
        dead: list[UUID] = counts.pop("dead_tokens", [])
        removed = await self._delete_tokens(dead) if dead else 0
        return OutcomeCounts.model_validate(counts | {"tokens_removed": removed})

    async def _delete_tokens(self, ids: list[UUID]) -> int:
        (row,) = await self._retrying(
            _DELETE_TOKENS, {"ids": ids, "worker": self._worker}, dict_row
        )
        return int(row["n"])

    async def _retrying(
        self,
        statement: str,
        params: dict[str, Any],
        rows: AsyncRowFactory[_Row],
        *,
        reconnect: bool = True,
    ) -> list[_Row]:
        """Run a claiming or settling statement, again after a deadlock or
        serialisation failure, and (with `reconnect`) after a lost connection (a
        database restart) for up to about a minute: a rolled-back try changed
        nothing, so it is safe to repeat. Its rows are made by `rows`. The
        transaction runs without just-in-time compilation (`sql/no_jit.sql`)."""
        conflicts = 0
        waits = iter(_RECONNECT_WAITS)
        while True:
            try:
                with translating():
                    async with (
                        self._pool.connection() as conn,
                        conn.cursor(row_factory=rows) as cursor,
                    ):
                        await cursor.execute(_NO_JIT)
                        await cursor.execute(statement, params)
                        return await cursor.fetchall()
            except (TransactionConflict, ForeignKeyViolation) as exc:
                # A device deleted (unregistered) after the claim read it fails the
                # delivery row's foreign key; tried again, the claim no longer sees it.
                if isinstance(exc, ForeignKeyViolation) and exc.table != "push_deliveries":
                    raise
                conflicts += 1
                if conflicts == _CONFLICT_ATTEMPTS:
                    raise
                log.warning("the queue met a conflicting transaction; trying again")
                await asyncio.sleep(0.05 * conflicts)
            except ConnectionFailed:
                wait = next(waits, None) if reconnect else None
                if wait is None:
                    raise
                log.warning("database unreachable while settling; trying again", wait_s=wait)
                await asyncio.sleep(wait)

    async def dead(self, limit: int = 100) -> list[DeadPush]:
        """Notices whose retries are exhausted, newest first."""
        with translating():
            async with self._pool.connection() as conn:
                rows = await (await conn.execute(_DEAD, {"limit": limit})).fetchall()
        return [DeadPush.model_validate(row) for row in rows]

    async def retry(self, ids: Sequence[UUID], now: datetime) -> list[UUID]:
        """Queue dead or failed notices again, due now; returns those re-queued."""
        with translating():
            async with self._pool.connection() as conn:
                rows = await (await conn.execute(_RETRY, {"ids": list(ids), "now": now})).fetchall()
        return [row["id"] for row in rows]
