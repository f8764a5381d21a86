"""How much a dispatcher claims in one round: what its send slots can carry before the
round's leases need renewing.

A claim of more than that holds pushes this dispatcher cannot send for a while, which
other dispatchers could be sending (with a slow service one dispatcher held 523 pushes
and another 17), and widens the time between a claim and its sends. So a round claims
`slots x (renewal interval / time per send) - sends not yet done`, one send per slot
while the speed is not yet known. A lane waits for room for at least half of that
before it claims, so two lanes take turns with claims large enough to amortise the
statement instead of claiming one push per freed slot.
"""

import asyncio
import math
from datetime import timedelta

# How much the newest send's duration moves the estimate: a few dozen sends decide it,
# so a service that slows down (a 429 storm) shrinks the next claims quickly.
_WEIGHT = 0.1


class SendCapacity:
    """The send slots of one dispatcher, the sends claimed and not yet done, and the
    time a send takes (a moving average of the real time each one took)."""

    def __init__(self, slots: int, renewal: timedelta) -> None:
        """`slots` sends go at once; a round should be sent within `renewal`, the
        interval at which its leases are renewed."""
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self._slots = slots
        self._renewal = renewal.total_seconds()
        self._outstanding = 0
        self._seconds_per_send: float | None = None
        self._changed = asyncio.Condition()

    def _carry(self) -> int:
        """How many sends the slots carry within one renewal interval."""
        if not self._seconds_per_send:
            return self._slots
        per_slot = max(1, math.floor(self._renewal / self._seconds_per_send))
        return self._slots * per_slot

    async def room(self, limit: int) -> int:
        """How many the next round may claim (at most `limit`), once the sends not yet
        done leave room for at least half of what the slots carry."""
        async with self._changed:
            await self._changed.wait_for(
                lambda: self._carry() - self._outstanding >= max(1, self._carry() // 2)
            )
            return max(1, min(limit, self._carry() - self._outstanding))

    def taken(self, sends: int) -> None:
        """A round claimed `sends` sends."""
        self._outstanding += sends

    async def done(self, seconds: float | None) -> None:
        """One send is done; it took `seconds` (None: it made no request)."""
        if seconds is not None:
            previous = self._seconds_per_send
            self._seconds_per_send = (
                seconds if previous is None else previous + _WEIGHT * (seconds - previous)
            )
        async with self._changed:
            self._outstanding -= 1
            self._changed.notify_all()
