"""The dispatcher: drains the outbox through the push services' senders.

A round claims a batch under a lease, sends it with many requests in flight,
and settles every outcome in one statement. While its sends are out, the round
renews its leases every third of the lease, so however slow a push service
answers, no other dispatcher claims (and sends again) what this one still
holds; only a dispatcher that stopped renewing (it died, or lost the
database) lets its messages go. Renewal as well as sizing each claim to what
the free send slots carry before the leases need renewing (`push/capacity.py`,
from the time sends have been taking): a service's speed changes from one
second to the next (a 429 storm, slow answers), so the size is a best guess
that keeps several dispatchers sharing a slow service evenly, and renewal is
what makes it safe when the guess is wrong. Retryable failures come back after
an exponential backoff with full jitter (never sooner than the service's
`Retry-After`); permanent ones are not retried; a dead token is deleted.
Stopping (SIGTERM in the worker) finishes the requests already made and
records them; a claimed send not yet requested is released at once, due
again now (`released`), so another dispatcher takes it in its next round
rather than after the lease; nothing more is claimed, and whatever was not
claimed stays queued. A dispatcher killed outright leaves its claims leased
until the lease runs out: the lease is short (15 s by default, renewed every
third of it) so that they come back within seconds.
A dispatcher draining continuously rides out a database restart or outage:
it logs it, waits with backoff, and carries on.
"""

import asyncio
import contextlib
import gc
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

import structlog
from pydantic import BaseModel, ConfigDict

from mentor_notify.config import Settings
from mentor_notify.db import DatabaseError, Pool
from mentor_notify.db.errors import ConnectionFailed
from mentor_notify.domain import Clock
from mentor_notify.push.capacity import SendCapacity
from mentor_notify.push.observer import PushObserver, Unobserved
from mentor_notify.push.outbox import (
    Claim,
    ClaimedPush,
    OrganisationPushes,
    Outbox,
    Outcome,
    OutcomeCounts,
    Result,
    add_tallies,
    worker_name,
)
from mentor_notify.push.resolve import DeviceCheck

log = structlog.get_logger(__name__)

# The error code of a send released unsent because its dispatcher was stopping.
RELEASED = "RELEASED"


def _freeze_start_up_heap() -> None:
    """Put what is alive when a process first dispatches (its modules, pydantic's
    schemas, the pool, the senders: some 70,000 objects) out of the garbage
    collector's sight, once per process: they live as long as the process.

    A round's pushes, tasks and futures live for the whole round, so they outlast
    the young collections and bring about a full one every few thousand messages,
    each walking every object alive since start-up. Measured 2026-12-07 with
    `gc.callbacks` around a 10,000-message dispatch of bench/bench_push.py: full
    collections cost 21 to 26 us a message of about 165, and 2.3 to 3.1 with the
    start-up objects frozen. Without a `gc.collect()` first (50 to 70 ms, a third of
    the gain at 10,000 messages): the cyclic garbage start-up left, if any, is
    kept, once. `mentor-notify serve` freezes its heap itself at start-up
    (commands/api_server.py); doing it again here is harmless."""
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.freeze()


_heap_frozen = False


@dataclass(frozen=True)
class SendResult:
    """A push service's answer to one send."""

    result: Result
    error_code: str | None = None
    retry_after: timedelta | None = None
    # The HTTP status the service answered with (None: no request was made).
    status: int | None = None


class Sender(Protocol):
    """Sends one message to one device through one push service."""

    async def send(self, push: ClaimedPush) -> SendResult:
        """Send `push`; classify the answer (never raise for a service's refusal)."""
        ...


class PushQueue(Protocol):
    """What the dispatcher needs of the push queue (`Outbox` in production): claim,
    keep the leases, ask whether a device is still held, settle."""

    async def claim_batch(self, limit: int, lease: timedelta, now: datetime) -> Claim:
        """Lease up to `limit` due notices until `now + lease`; one send per device."""
        ...

    async def renew(self, ids: Sequence[UUID], lease: timedelta, now: datetime) -> int:
        """Extend the leases still held on `ids`; how many were still held."""
        ...

    async def still_held(self, pushes: Sequence[ClaimedPush]) -> set[UUID]:
        """The ids of `pushes` whose device is still their recipient's."""
        ...

    async def record(self, outcomes: Sequence[Outcome], now: datetime) -> OutcomeCounts:
        """Settle the sends' outcomes in one go."""
        ...


class SettledPushes(Protocol):
    """A package that reacts to pushes settled (the scenarios' bookkeeping): it reads
    what became of them; the push statements write none of its tables."""

    async def settled(self, notification_ids: Sequence[UUID], now: datetime) -> int:
        """React to the notifications whose push settled."""
        ...

    async def catch_up(self, now: datetime) -> int:
        """React to whatever settled without the reaction having run (a dispatcher
        stopped between settling and reacting)."""
        ...


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: a random wait up to base x 2^(attempt-1),
    capped, and never shorter than the service's Retry-After."""

    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(hours=1)
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: timedelta | None = None) -> timedelta:
        """How long to wait before attempt `attempt + 1`."""
        ceiling = min(self.cap, self.base * (2 ** max(attempt - 1, 0)))
        wait = timedelta(seconds=self.rng.uniform(0, ceiling.total_seconds()))
        return max(wait, retry_after or timedelta(0))


class DispatchResult(BaseModel):
    """Totals of one dispatch run."""

    model_config = ConfigDict(frozen=True)

    rounds: int = 0
    claimed: int = 0
    held: int = 0
    budget_held: int = 0
    folded: int = 0
    skipped: int = 0
    no_device: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    withdrawn: int = 0
    dead: int = 0
    duplicates: int = 0
    tokens_removed: int = 0
    by_organisation: dict[UUID, OrganisationPushes] = {}

    def plus(self, claim: Claim, counts: OutcomeCounts) -> "DispatchResult":
        """These totals with one more round added."""
        outcomes = counts.model_dump(exclude={"notifications_settled", "settled_notifications"})
        outcomes["dead"] += claim.dead
        round_ = DispatchResult(
            rounds=1,
            claimed=len(claim.pushes),
            held=claim.held,
            budget_held=claim.budget_held,
            folded=claim.folded,
            skipped=claim.skipped,
            no_device=claim.no_device,
            **outcomes,
        )
        return self.merged(round_)

    def merged(self, other: "DispatchResult") -> "DispatchResult":
        """These totals and `other`'s together (runs one after another)."""
        sums = {
            name: getattr(self, name) + getattr(other, name)
            for name in type(self).model_fields
            if name != "by_organisation"
        }
        return DispatchResult(
            **sums, by_organisation=add_tallies(self.by_organisation, other.by_organisation)
        )


class _Totals:
    """Running totals shared by the lanes of one run, and what may still be claimed."""

    def __init__(self, limit: int | None) -> None:
        self.result = DispatchResult()
        self._left = limit

    def reserve(self, batch_size: int) -> int:
        """How many the next round may claim (0: the limit is reached)."""
        if self._left is None:
            return batch_size
        size = min(batch_size, self._left)
        self._left -= size
        return size

    def add(self, reserved: int, claim: Claim, counts: OutcomeCounts) -> None:
        """Count a finished round, giving back what it reserved and did not claim."""
        if self._left is not None:
            self._left += reserved - len(claim.pushes)
        if claim.touched:
            self.result = self.result.plus(claim, counts)


class Dispatcher:
    """Claims, sends and settles outbox messages, round after round."""

    def __init__(
        self,
        outbox: PushQueue,
        senders: Mapping[str, Sender],
        clock: Clock,
        *,
        batch_size: int = 500,
        concurrency: int = 100,
        lease: timedelta = timedelta(seconds=15),
        backoff: Backoff | None = None,
        lanes: int = 2,
        reactions: Sequence[SettledPushes] = (),
        observer: PushObserver | None = None,
    ) -> None:
        """`senders` maps a provider (`fcm`, `apns`) to its sender; at most
        `concurrency` sends are in flight at once. `lanes` rounds run side by side,
        so one claims or records in the database while another's sends are out.
        `reactions` hear of every notification whose push settled; `observer` (the
        metrics) is told of every claim, send, renewal and settle."""
        self._outbox = outbox
        self._senders = senders
        self._clock = clock
        self._batch_size = batch_size
        self._slots = asyncio.Semaphore(concurrency)
        self._lease = lease
        self._backoff = backoff or Backoff()
        self._lanes = lanes
        self._devices = DeviceCheck(outbox.still_held)
        self._capacity = SendCapacity(concurrency, lease / 3)
        self._reactions = tuple(reactions)
        self._observer = observer or Unobserved()

    @classmethod
    def from_settings(
        cls,
        pool: Pool,
        senders: Mapping[str, Sender],
        clock: Clock,
        settings: Settings,
        role: str | None = None,
        *,
        reactions: Sequence[SettledPushes] = (),
        observer: PushObserver | None = None,
    ) -> "Dispatcher":
        """A dispatcher on `pool` with the attempts, batch, concurrency and lease of
        `settings`, its leases signed with this process (and `role`, when given),
        telling `reactions` of every settled push, watched by `observer`."""
        return cls(
            Outbox(pool, worker_name(role), max_attempts=settings.push_max_attempts),
            senders,
            clock,
            batch_size=settings.push_batch_size,
            concurrency=settings.push_concurrency,
            lease=timedelta(seconds=settings.push_lease_seconds),
            reactions=reactions,
            observer=observer,
        )

    @classmethod
    def if_configured(
        cls,
        pool: Pool,
        senders: Mapping[str, Sender],
        clock: Clock,
        settings: Settings,
        role: str | None = None,
        *,
        reactions: Sequence[SettledPushes] = (),
        observer: PushObserver | None = None,
    ) -> "Dispatcher | None":
        """`from_settings`, or None (said in the log) when no push service is
        configured: the pushes then stay queued for a dispatcher that has one."""
        if not senders:
            log.warning("no push service configured: pushes stay queued")
            return None
        return cls.from_settings(
            pool, senders, clock, settings, role, reactions=reactions, observer=observer
        )

    async def run_once(
        self, limit: int | None = None, stop: asyncio.Event | None = None
    ) -> DispatchResult:
        """Send what is due now, round after round, until nothing is (or `limit` were
        claimed, or `stop` is set: the rounds in progress are finished first)."""
        _freeze_start_up_heap()
        await self._catch_up()
        totals = _Totals(limit)

        async def lane() -> None:
            while not (stop and stop.is_set()):
                size = totals.reserve(self._batch_size)
                if size == 0:
                    return
                claim, counts = await self.round(size, stop)
                totals.add(size, claim, counts)
                if not claim.touched:
                    return

        await asyncio.gather(*(lane() for _ in range(self._lanes)))
        return totals.result

    async def run_until(
        self, stop: asyncio.Event, idle: timedelta = timedelta(seconds=1)
    ) -> DispatchResult:
        """Keep draining until `stop` is set; rounds in progress are finished first.
        While the database cannot be reached, wait (backing off up to 30 s) and
        try again."""
        _freeze_start_up_heap()
        await self._catch_up()
        totals = _Totals(None)

        async def pause(seconds: float) -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), seconds)

        async def lane() -> None:
            outage = 0
            while not stop.is_set():
                try:
                    claim, counts = await self.round(self._batch_size, stop)
                except ConnectionFailed as exc:
                    outage += 1
                    wait = min(30.0, 0.5 * 2 ** (outage - 1))
                    log.warning(
                        "database unreachable; dispatch waits", wait_s=wait, reason=str(exc)
                    )
                    await pause(wait)
                    continue
                if outage:
                    log.info("database reachable again; dispatch resumes")
                    outage = 0
                totals.add(self._batch_size, claim, counts)
                if claim.touched:
                    continue
                await pause(idle.total_seconds())

        await asyncio.gather(*(lane() for _ in range(self._lanes)))
        return totals.result

    async def round(
        self, size: int, stop: asyncio.Event | None = None
    ) -> tuple[Claim, OutcomeCounts]:
        """Claim up to `size` messages (fewer when the free send slots cannot carry
        them before the leases need renewing), send those due now (renewing their
        leases meanwhile), settle them. Once `stop` is set, the sends not yet
        requested are released unsent instead, due again now."""
        size = await self._capacity.room(size)
        claim = await self._outbox.claim_batch(size, self._lease, self._clock.now())
        self._capacity.taken(len(claim.pushes))
        self._observer.claimed(claim)
        await self._react(claim.settled_notifications)
        if not claim.pushes:
            return claim, OutcomeCounts()
        renewing = asyncio.create_task(self._keep_leases(claim.notice_ids))
        try:
            outcomes = await asyncio.gather(*(self._send(push, stop) for push in claim.pushes))
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        counts = await self._outbox.record(outcomes, self._clock.now())
        self._observer.settled_round(counts)
        await self._react(counts.settled_notifications)
        log.info(
            "dispatch round done",
            claimed=len(claim.pushes),
            held=claim.held,
            budget_held=claim.budget_held,
            folded=claim.folded,
            skipped=claim.skipped,
            **counts.model_dump(exclude={"by_organisation", "settled_notifications"}),
        )
        return claim, counts

    async def _catch_up(self) -> None:
        """Let the reactions catch up with what settled while none ran (a dispatcher
        stopped between settling and reacting); a failure is said in the log."""
        for reaction in self._reactions:
            try:
                await reaction.catch_up(self._clock.now())
            except DatabaseError as exc:
                log.warning(
                    "reaction to settled pushes could not catch up",
                    reaction=type(reaction).__name__,
                    error=type(exc).__name__,
                )

    async def _react(self, notification_ids: list[UUID]) -> None:
        """Tell the reactions which notifications' pushes settled."""
        if notification_ids:
            for reaction in self._reactions:
                try:
                    await reaction.settled(notification_ids, self._clock.now())
                except DatabaseError as exc:
                    # The pushes are settled already; a reaction that failed is
                    # said in the log, and the round goes on.
                    log.warning(
                        "reaction to settled pushes failed",
                        reaction=type(reaction).__name__,
                        notifications=len(notification_ids),
                        error=type(exc).__name__,
                    )

    async def _keep_leases(self, ids: list[UUID]) -> None:
        """Renew the round's leases (one per carrier notice) every third of the lease
        until cancelled. A failed
        renewal is logged and tried again at the next turn: the lease has two more
        thirds to run."""
        interval = self._lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            try:
                held = await self._outbox.renew(ids, self._lease, self._clock.now())
            except DatabaseError as exc:
                self._observer.renewal_failed()
                log.warning("lease renewal failed", error=type(exc).__name__)
                continue
            self._observer.renewed(len(ids), held)
            if held < len(ids):
                # Nothing settles this round's messages but the round itself, so
                # these leases ran out unrenewed (the database was away) and may be
                # another dispatcher's now; a delivery is still recorded as sent.
                log.warning("leases lost during a round", lost=len(ids) - held)

    async def _send(self, push: ClaimedPush, stop: asyncio.Event | None) -> Outcome:
        took: float | None = None
        try:
            outcome, took = await self._send_timed(push, stop)
        finally:
            self._capacity.done(took)
        return outcome

    async def _send_timed(
        self, push: ClaimedPush, stop: asyncio.Event | None
    ) -> tuple[Outcome, float | None]:
        """The send's outcome, and how long it held its slot (None: it took none)."""
        sender = self._senders.get(push.provider)
        if sender is None:
            self._observer.sent("person", push.provider, "retry", SendResult("retry"), 0.0)
            return self._retry(push, "NO_SENDER", None), None
        if stop is not None and stop.is_set():
            return self._released(push), None
        async with self._slots:
            # A send that waited for its slot while the dispatcher was told to
            # stop is released, not made: the stop waits for the requests on the
            # wire only.
            if stop is not None and stop.is_set():
                return self._released(push), None
            started = time.perf_counter()
            requested: float | None = None
            try:
                # Asked with a slot in hand, right before the request: a send that
                # waited for a slot may find its device gone to someone else. No
                # request is made for a withdrawn send: the metrics count it in the
                # settle's outcomes, not among the requests to a push service.
                if not await self._devices.held(push):
                    return Outcome(push.id, "withdrawn"), time.perf_counter() - started
                requested = time.perf_counter()
                answer = await sender.send(push)
            except Exception as exc:  # a network or database error is worth another try
                if requested is not None:
                    elapsed = time.perf_counter() - requested
                    self._observer.sent("person", push.provider, "retry", None, elapsed)
                log.warning("send failed", push_id=str(push.id), error=type(exc).__name__)
                return self._retry(push, type(exc).__name__, None), time.perf_counter() - started
            done = time.perf_counter()
        self._observer.sent("person", push.provider, answer.result, answer, done - requested)
        took = done - started
        if answer.result == "retry":
            return self._retry(push, answer.error_code, answer.retry_after), took
        return Outcome(push.id, answer.result, answer.error_code), took

    def _released(self, push: ClaimedPush) -> Outcome:
        """A claimed send given back unsent when the dispatcher stops: settled as a
        retry due now (the settle frees the lease; the device's delivery is tried
        again by the next claim, whichever dispatcher makes it). The settle gives the
        claim's attempt back when every send of the round was released
        (push/sql/settle_notices.sql): nothing was tried."""
        return Outcome(push.id, "retry", RELEASED, self._clock.now())

    def _retry(self, push: ClaimedPush, code: str | None, retry_after: timedelta | None) -> Outcome:
        at = self._clock.now() + self._backoff.delay(push.attempts, retry_after)
        return Outcome(push.id, "retry", code, at)
