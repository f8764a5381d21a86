"""The daily cycle: the expiry sweep (with the directory's visibility), the
scenarios, then delivery of what they queued.

Each step runs even when an earlier one failed (a failed sweep should not keep
the scenarios' pushes from going out); the result says which failed. Every
step is idempotent, so running the cycle again, or two at once, sends nothing
twice.
"""

from collections.abc import Awaitable, Callable
from datetime import date
from typing import TypeVar

import structlog
from pydantic import BaseModel, ConfigDict

from mentor_notify.db import Pool
from mentor_notify.domain import Clock
from mentor_notify.expiry import ExpirySweep
from mentor_notify.expiry.models import SweepResult
from mentor_notify.push.dispatcher import Dispatcher, DispatchResult
from mentor_notify.scenarios.engine import EngineResult, ScenarioEngine

log = structlog.get_logger(__name__)

T = TypeVar("T")


class DailyResult(BaseModel):
    """What one cycle did, step by step; a step that failed has no result."""

    model_config = ConfigDict(frozen=True)

    expiry: SweepResult | None = None
    scenarios: EngineResult | None = None
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
        on_step: Callable[[str, str], None] | None = None,
    ) -> None:
        """Without a `dispatcher` (no push service configured) the pushes stay queued.
        `on_step(step, state)` is told when a step starts (`running`) and ends (`done`
        or `failed`), for progress output."""
        self._pool = pool
        self._clock = clock
        self._dispatcher = dispatcher
        self._on_step = on_step or (lambda step, state: None)

    async def run(self, today: date | None = None) -> DailyResult:
        """One cycle; `today` overrides each organisation's local date for the sweep."""
        failed: list[str] = []
        expiry = await self._step(
            "expiry", failed, lambda: ExpirySweep(self._pool, self._clock).run(today=today)
        )
        scenarios = await self._step(
            "scenarios", failed, lambda: ScenarioEngine(self._pool, self._clock).run()
        )
        dispatch = None
        if (dispatcher := self._dispatcher) is not None:
            dispatch = await self._step("dispatch", failed, dispatcher.run_once)
        else:
            log.warning("no push service configured: pushes stay queued", step="dispatch")
        return DailyResult(
            expiry=expiry, scenarios=scenarios, dispatch=dispatch, failed_steps=failed
        )

    async def _step(
        self, name: str, failed: list[str], work: Callable[[], Awaitable[T]]
    ) -> T | None:
        self._on_step(name, "running")
        try:
            result = await work()
        except Exception as exc:  # one step's failure must not stop the others
            # The type only: a message may quote a value, and logs carry no personal data.
            log.error("daily step failed", step=name, error=type(exc).__name__)
            failed.append(name)
            self._on_step(name, "failed")
            return None
        self._on_step(name, "done")
        return result
