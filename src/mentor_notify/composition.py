"""The composition root: the one place the running program's parts are built.

Every entry point (the `daily`, `worker`, `serve` and `push dispatch` commands,
the API's job runner, the worker's scheduled cycles and the demo) gets its
pool, real clock, push senders, dispatcher, expiry job and daily cycle from
here, so each is wired once: a change to how one is made is a change to this
module only.
"""

import contextlib
import functools
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from mentor_notify.config import Settings
from mentor_notify.daily import CycleProgress, DailyCycle
from mentor_notify.db import Pool, open_pool
from mentor_notify.domain import Clock, SystemClock
from mentor_notify.expiry import DEFAULT_PARTITIONS, ExpirySweep
from mentor_notify.expiry.sweep import ProgressCallback
from mentor_notify.metrics import DatabaseGauges, Metrics
from mentor_notify.push.dispatcher import Dispatcher, Sender, SettledPushes
from mentor_notify.push.observer import PushObserver
from mentor_notify.push.senders import open_senders, settings_for_emulator
from mentor_notify.reregistration import BackgroundSender, Reregistration
from mentor_notify.scenarios.push_outcomes import ScenarioPushOutcomes


def real_clock() -> Clock:
    """The clock the outside world runs on (stamps, leases, provider tokens, backoff);
    never the business date a job decides for, which is an `AsOf`."""
    return SystemClock()


def push_settings(settings: Settings, emulator: str | None) -> Settings:
    """`settings` as they are, or with both push services pointed at the push emulator
    at `emulator` (with throwaway credentials) when an address is given."""
    return settings if emulator is None else settings_for_emulator(settings, emulator)


def expiry_job(
    pool: Pool,
    clock: Clock,
    *,
    on_progress: ProgressCallback | None = None,
    partitions: int = DEFAULT_PARTITIONS,
) -> ExpirySweep:
    """The certificate-expiry job every entry point runs (the CLI, the API, the
    worker's and the demo's daily cycles)."""
    return ExpirySweep(pool, clock, on_progress=on_progress, partitions=partitions)


def daily_cycle(
    pool: Pool,
    clock: Clock,
    dispatcher: Dispatcher | None,
    *,
    progress: CycleProgress | None = None,
    reregistration: Reregistration | None = None,
) -> DailyCycle:
    """The daily cycle on `pool`, its sweep made by `expiry_job`; without a
    `dispatcher` it has no delivery step (the pushes stay queued), without a
    `reregistration` no re-registration push."""
    return DailyCycle(
        pool,
        clock,
        dispatcher,
        expiry_job=functools.partial(expiry_job, pool, clock),
        progress=progress,
        reregistration=reregistration,
    )


def reregistration(
    pool: Pool,
    senders: Mapping[str, BackgroundSender],
    clock: Clock,
    observer: PushObserver | None = None,
) -> Reregistration | None:
    """The silent re-registration push over `senders`, or None when no push
    service is configured (there is nothing to send it with)."""
    if not senders:
        return None
    return Reregistration(pool, senders, clock, observer=observer)


@dataclass(frozen=True)
class Runtime:
    """What a command that works on the database and delivers pushes runs on."""

    settings: Settings
    pool: Pool
    clock: Clock
    senders: Mapping[str, Sender]
    role: str | None
    metrics: Metrics = field(default_factory=Metrics)

    def dispatcher(self) -> Dispatcher:
        """A dispatcher over the configured senders (none configured: it leaves
        the pushes queued), its leases signed with this process and role, counted
        in this process's metrics."""
        return Dispatcher.from_settings(
            self.pool,
            self.senders,
            self.clock,
            self.settings,
            self.role,
            reactions=self.reactions(),
            observer=self.metrics,
        )

    def dispatcher_if_configured(self) -> Dispatcher | None:
        """`dispatcher()`, or None (said in the log) when no push service is configured."""
        return Dispatcher.if_configured(
            self.pool,
            self.senders,
            self.clock,
            self.settings,
            self.role,
            reactions=self.reactions(),
            observer=self.metrics,
        )

    def reactions(self) -> list[SettledPushes]:
        """What reacts to settled pushes: the scenarios' bookkeeping."""
        return [ScenarioPushOutcomes(self.pool)]

    def reregistration(self) -> Reregistration | None:
        """The silent re-registration push over the configured senders (None when
        none is configured), counted in this process's metrics."""
        return reregistration(self.pool, self._background_senders(), self.clock, self.metrics)

    def gauges(self) -> DatabaseGauges:
        """The database gauges of this process's /metrics, read on its pool."""
        return DatabaseGauges(self.pool, self.clock)

    def daily_cycle(
        self, dispatcher: Dispatcher | None, progress: CycleProgress | None = None
    ) -> DailyCycle:
        """The daily cycle on this runtime's pool and clock (with the re-registration
        push when a push service is configured)."""
        return daily_cycle(
            self.pool,
            self.clock,
            dispatcher,
            progress=progress,
            reregistration=self.reregistration(),
        )

    def _background_senders(self) -> dict[str, BackgroundSender]:
        # The configured senders are the FCM and APNs senders, which send both kinds.
        return {
            provider: sender
            for provider, sender in self.senders.items()
            if isinstance(sender, BackgroundSender)
        }


@contextlib.asynccontextmanager
async def open_runtime(
    url: str, settings: Settings, role: str | None = None, *, emulator: str | None = None
) -> AsyncIterator[Runtime]:
    """A pool on `url`, the real clock and the push senders the settings configure
    (credentials named as Supabase Vault secrets read first; pointed at the push
    emulator at `emulator` when given), all closed on exit. `role`, when given,
    names this process's kind in the leases it takes (`daily`, `worker`, `api`, ...)."""
    settings = push_settings(settings, emulator)
    clock = real_clock()
    async with open_pool(url, settings) as pool, open_senders(settings, clock, pool) as senders:
        yield Runtime(settings, pool, clock, senders, role)
