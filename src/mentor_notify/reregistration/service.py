"""The silent re-registration push: devices whose token the app has not refreshed
for 30 days get a background push asking the app to upload its current token.

Ticket 000's contingency for widespread token staleness. The push shows
nothing (APNs background notification, FCM data-only message at normal
priority), so it is not a notice to the person: it never enters the person
push queue (push_notices) and never spends their daily push budget. Each
device gets it at most once a week: `device_reregistrations` records the
week's push under a (device, week) key before it is sent. A device the
service calls unregistered has its token deleted, as the dispatcher does.

What the app does on receiving it (data `action` = `reregister_token`): read
the current token from the platform (FCM `getToken`, APNs registration) and
upload it as on launch (POST /v1/device-tokens), which refreshes
`last_refreshed_at`.
"""

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable
from uuid import UUID, uuid4

import structlog
from pydantic import BaseModel, ConfigDict

from mentor_notify.db import Pool, translating
from mentor_notify.db.sql_files import load_sql
from mentor_notify.domain import Clock
from mentor_notify.domain.weeks import week_start
from mentor_notify.push.dispatcher import SendResult
from mentor_notify.push.observer import PushObserver, Unobserved
from mentor_notify.push.outbox import worker_name

log = structlog.get_logger(__name__)

_TAKE = load_sql("mentor_notify.reregistration", "take")
_SETTLE = load_sql("mentor_notify.reregistration", "settle")
# The dispatcher's rule for deleting dead tokens (it leaves a token another
# dispatcher is sending to right now for that one to delete).
_DELETE_TOKENS = load_sql("mentor_notify.push", "delete_tokens")

# The data the app recognises the push by.
REREGISTER_ACTION = "reregister_token"


@runtime_checkable
class BackgroundSender(Protocol):
    """Sends a push that shows nothing (the FCM and APNs senders)."""

    async def send_background(
        self, token: str, message_id: UUID, data: Mapping[str, str]
    ) -> SendResult:
        """Send `data` to one device without an alert; classify the answer."""
        ...


class ReregistrationResult(BaseModel):
    """What one run did: devices taken for this week, pushes accepted, refused, and
    dead tokens deleted."""

    model_config = ConfigDict(frozen=True)

    week_start: str
    taken: int = 0
    sent: int = 0
    failed: int = 0
    tokens_removed: int = 0


class Reregistration:
    """Sends this week's re-registration push to the stale devices not yet reached."""

    def __init__(
        self,
        pool: Pool,
        senders: Mapping[str, BackgroundSender],
        clock: Clock,
        *,
        concurrency: int = 50,
        observer: PushObserver | None = None,
    ) -> None:
        """Send through `senders` (by provider), at most `concurrency` at once; `clock`
        is the real clock (staleness and the week are real-world facts)."""
        self._pool = pool
        self._senders = senders
        self._clock = clock
        self._slots = asyncio.Semaphore(concurrency)
        self._observer = observer or Unobserved()

    async def run(self, organisations: Sequence[str] | None = None) -> ReregistrationResult:
        """Push to the stale devices of the organisations that turned it on (narrowed to
        `organisations`, ids or slugs); a device already pushed this week is left alone."""
        now = self._clock.now()
        week = week_start(now)
        only = list(organisations) if organisations else None
        with translating():
            async with self._pool.connection() as conn:
                wanted = {"now": now, "week": week, "only": only}
                taken = await (await conn.execute(_TAKE, wanted)).fetchall()
        answers = await asyncio.gather(*(self._send(row) for row in taken))
        outcomes = [
            {
                "device_token_id": str(row["device_token_id"]),
                "status": "sent" if answer.result == "sent" else "failed",
                "error_code": answer.error_code,
            }
            for row, answer in zip(taken, answers, strict=True)
        ]
        dead = [
            row["device_token_id"]
            for row, answer in zip(taken, answers, strict=True)
            if answer.result == "unregistered"
        ]
        removed = 0
        with translating():
            async with self._pool.connection() as conn:
                if outcomes:
                    answered = {"outcomes": json.dumps(outcomes), "now": now, "week": week}
                    await conn.execute(_SETTLE, answered)
                    await conn.commit()
                if dead:
                    doomed = {"ids": dead, "worker": worker_name("reregistration")}
                    row = await (await conn.execute(_DELETE_TOKENS, doomed)).fetchone()
                    removed = int(row["n"]) if row else 0
        sent = sum(1 for o in outcomes if o["status"] == "sent")
        result = ReregistrationResult(
            week_start=week.isoformat(),
            taken=len(taken),
            sent=sent,
            failed=len(outcomes) - sent,
            tokens_removed=removed,
        )
        log.info("re-registration pushes sent", **result.model_dump())
        return result

    async def _send(self, row: dict[str, object]) -> SendResult:
        provider = str(row["provider"])
        sender = self._senders.get(provider)
        if sender is None:
            return SendResult("retry", "NO_SENDER")
        data = {"action": REREGISTER_ACTION}
        async with self._slots:
            started = time.perf_counter()
            try:
                answer = await sender.send_background(str(row["token"]), uuid4(), data)
            except Exception as exc:  # a network error: this week's push is lost
                elapsed = time.perf_counter() - started
                self._observer.sent("reregistration", provider, "retry", None, elapsed)
                return SendResult("retry", type(exc).__name__)
        elapsed = time.perf_counter() - started
        self._observer.sent("reregistration", provider, answer.result, answer, elapsed)
        return answer
