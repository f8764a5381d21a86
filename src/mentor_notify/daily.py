"""The daily cycle: the expiry sweep (with the directory's visibility), the
scenarios, then delivery of what they queued.

Each step runs even when an earlier one failed (a failed sweep should not keep
the scenarios' pushes from going out); the result says which failed. Every
step is idempotent, so running the cycle again, or two at once, sends nothing
twice.
"""

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

import structlog
from pydantic import BaseModel, ConfigDict

from mentor_notify.db import Pool, translating
from mentor_notify.db.sql_files import load_sql
from mentor_notify.domain import AsOf, Clock
from mentor_notify.expiry import ExpirySweep
from mentor_notify.expiry.models import SweepResult
from mentor_notify.expiry.sweep import ProgressCallback
from mentor_notify.push.dispatcher import Dispatcher, DispatchResult
from mentor_notify.reregistration import Reregistration, ReregistrationResult
from mentor_notify.scenarios.engine import EngineResult, ScenarioEngine

log = structlog.get_logger(__name__)

_SUCCEEDED = load_sql("mentor_notify", "cycle_succeeded")

T = TypeVar("T")


class CycleProgress(Protocol):
    """Told how the cycle is getting on, for progress output."""

    def step(self, name: str, state: str, total: int | None = None) -> None:
        """Step `name` is `running` (in `total` parts, when known), `done` or `failed`."""
        ...

    def advance(self, name: str, what: str) -> None:
        """One part of step `name` (`what`, e.g. an organisation) is done."""
        ...


class ExpiryJobFactory(Protocol):
    """Makes the expiry job the cycle runs (`mentor_notify.composition.expiry_job`)."""

    def __call__(self, *, on_progress: ProgressCallback | None = None) -> ExpirySweep:
        """The job, telling `on_progress` as each organisation finishes."""
        ...


class _Silent:
    def step(self, name: str, state: str, total: int | None = None) -> None:
        pass

    def advance(self, name: str, what: str) -> None:
        pass


class DailyResult(BaseModel):
    """What one cycle did, step by step; a step that failed has no result."""

    model_config = ConfigDict(frozen=True)

    expiry: SweepResult | None = None
    scenarios: EngineResult | None = None
    reregistration: ReregistrationResult | None = None
    dispatch: DispatchResult | None = None
    failed_steps: list[str] = []

    @property
    def ok(self) -> bool:
        """Whether every step ran and the sweep had no failure."""
        return not self.failed_steps and (self.expiry is None or self.expiry.ok)


class DailyCycle:
    """Runs the steps in order on one pool."""

    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        dispatcher: Dispatcher | None,
        *,
        expiry_job: ExpiryJobFactory,
        progress: CycleProgress | None = None,
        reregistration: Reregistration | None = None,
    ) -> None:
        """`clock` is the real clock: it stamps rows, leases pushes and signs
        provider tokens, whatever date the cycle decides for. Without a
        `dispatcher` there is no delivery step: the pushes stay queued
        (no push service configured, or a worker's dispatcher delivers them).
        `expiry_job` makes the sweep step's job. `progress` is told as steps
        start and end, and as the sweep finishes each organisation. With
        `reregistration` (push senders configured), the silent re-registration
        push goes to the stale devices of the organisations that turned it on."""
        self._pool = pool
        self._clock = clock
        self._dispatcher = dispatcher
        self._expiry_job = expiry_job
        self._progress = progress or _Silent()
        self._reregistration = reregistration

    async def run(
        self,
        as_of: AsOf | None = None,
        organisations: Sequence[str] | None = None,
    ) -> DailyResult:
        """One cycle, deciding as of `as_of` (by default the present moment, each
        organisation on its own local date); `organisations` (ids or slugs) narrows
        the sweep and the scenarios to those. Delivery sends whatever is due in
        real time, whoever queued it."""
        failed: list[str] = []
        only = list(organisations) if organisations else None
        as_of = as_of or AsOf.current(self._clock)

        async def sweep() -> SweepResult:
            sweeper = self._expiry_job(
                on_progress=lambda org: self._progress.advance("expiry", org.slug)
            )
            return await sweeper.run(as_of=as_of, organisations=only)

        async def scenarios_for() -> EngineResult:
            return await ScenarioEngine(self._pool, self._clock).run(
                as_of=as_of, organisations=only
            )

        expiry = await self._step("expiry", failed, sweep, await self._count(only))
        scenarios = await self._step("scenarios", failed, scenarios_for)
        reregistered = None
        if (reregistration := self._reregistration) is not None:
            reregistered = await self._step(
                "reregistration", failed, lambda: reregistration.run(only)
            )
        if expiry is not None and not failed:
            try:
                await self._record_success(expiry)
            except Exception as exc:  # the cycle's work stands; its record is missing
                log.error("daily cycle not recorded", error=type(exc).__name__)
                failed.append("record")
        dispatch = None
        if (dispatcher := self._dispatcher) is not None:
            dispatch = await self._step("dispatch", failed, dispatcher.run_once)
        return DailyResult(
            expiry=expiry,
            scenarios=scenarios,
            reregistration=reregistered,
            dispatch=dispatch,
            failed_steps=failed,
        )

    async def _record_success(self, expiry: SweepResult) -> None:
        """Record the organisations whose cycle is done (their sweep had no failure;
        the scenarios ran): the missed-cycle alert reads it. Delivery is not part of
        it: pushes still queued are the queue alerts' business."""
        done = [
            {"organization_id": str(o.organization_id), "local_date": o.today.isoformat()}
            for o in expiry.organisations
            if o.error is None and not o.failed
        ]
        params = {"done": json.dumps(done), "now": self._clock.now()}
        with translating():
            async with self._pool.connection() as conn:
                await conn.execute(_SUCCEEDED, params)

    async def _count(self, only: list[str] | None) -> int | None:
        """Organisations the sweep will cover, for its progress bar (None if unknown:
        the sweep step then reports the failure)."""
        try:
            return len(await self._expiry_job().organisations(only))
        except Exception:
            return None

    async def _step(
        self,
        name: str,
        failed: list[str],
        work: Callable[[], Awaitable[T]],
        total: int | None = None,
    ) -> T | None:
        self._progress.step(name, "running", total)
        try:
            result = await work()
        except Exception as exc:  # one step's failure must not stop the others
            # The type only: a message may quote a value, and logs carry no personal data.
            log.error("daily step failed", step=name, error=type(exc).__name__)
            failed.append(name)
            self._progress.step(name, "failed")
            return None
        self._progress.step(name, "done")
        return result
