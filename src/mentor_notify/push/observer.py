"""What the dispatcher tells whoever watches it (the metrics), at each stage's
boundary: a claim, a request to a push service, a lease renewal, a settle.

A protocol rather than the metrics themselves, so the push package does not
depend on Prometheus and a test or benchmark runs without one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mentor_notify.push.dispatcher import SendResult
    from mentor_notify.push.outbox import Claim, OutcomeCounts


class PushObserver(Protocol):
    """Told what the dispatcher did; never raises."""

    def claimed(self, claim: Claim) -> None:
        """A claim round finished with `claim`."""
        ...

    def sent(
        self, kind: str, provider: str, outcome: str, answer: SendResult | None, seconds: float
    ) -> None:
        """A request of `kind` to `provider` ended as `outcome` after `seconds`; `answer` is
        None when no HTTP answer came (a network error)."""
        ...

    def renewed(self, asked: int, held: int) -> None:
        """A lease renewal kept `held` of `asked` leases."""
        ...

    def renewal_failed(self) -> None:
        """A lease renewal found no database."""
        ...

    def settled_round(self, counts: OutcomeCounts) -> None:
        """A settle recorded `counts`."""
        ...


class Unobserved:
    """The observer of a dispatcher nobody watches."""

    def claimed(self, claim: Claim) -> None:
        """Nothing to tell."""

    def sent(
        self, kind: str, provider: str, outcome: str, answer: SendResult | None, seconds: float
    ) -> None:
        """Nothing to tell."""

    def renewed(self, asked: int, held: int) -> None:
        """Nothing to tell."""

    def renewal_failed(self) -> None:
        """Nothing to tell."""

    def settled_round(self, counts: OutcomeCounts) -> None:
        """Nothing to tell."""
