"""Resolve at send time: a send goes only to a device its recipient still holds.

A claim reads the recipient's devices when it leases a push, but the request may
leave much later (a slow service, few free send slots). Each send therefore asks,
right before its request, whether the device is still the recipient's with the
token the claim read. Asking once per send would cost a database round trip per
message, so the sends that ask while a question is out wait for the next one and
are asked together: one statement per wave of sends, however many they are.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from mentor_notify.push.outbox import ClaimedPush

StillHeld = Callable[[Sequence[ClaimedPush]], Awaitable[set[UUID]]]


class DeviceCheck:
    """Answers, for one send at a time, whether its device is still its recipient's,
    by asking `still_held` for every send waiting at that moment."""

    def __init__(self, still_held: StillHeld) -> None:
        """`still_held` returns the ids of the sends whose device is still held."""
        self._still_held = still_held
        self._waiting: list[tuple[ClaimedPush, asyncio.Future[bool]]] = []
        self._asking: asyncio.Task[None] | None = None

    async def held(self, push: ClaimedPush) -> bool:
        """Whether `push` may go now: its device is still its recipient's, with the same
        token. Raises what the question raised (a database error)."""
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((push, answer))
        if self._asking is None or self._asking.done():
            self._asking = asyncio.create_task(self._ask())
        return await answer

    async def _ask(self) -> None:
        while self._waiting:
            wave, self._waiting = self._waiting, []
            try:
                held = await self._still_held([push for push, _ in wave])
            except Exception as exc:  # every send of the wave hears it
                for _, answer in wave:
                    if not answer.done():
                        answer.set_exception(exc)
                continue
            for push, answer in wave:
                if not answer.done():
                    answer.set_result(push.id in held)
