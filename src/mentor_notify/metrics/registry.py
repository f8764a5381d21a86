"""Every metric the processes export, defined once.

Two kinds: counters and histograms a process increments as it works (its
sends, claims, lease renewals, settled outcomes), and gauges read from the
database when Prometheus scrapes (`DatabaseGauges`), which are the same
whichever process answers. One `Metrics` per process (per app in tests), so
registries are never shared by accident. The names are documented in
docs/operations.md; tests/unit/test_metric_names.py holds the
dashboard and the alert rules to them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from mentor_notify.push.dispatcher import SendResult
    from mentor_notify.push.outbox import Claim, OutcomeCounts

# Send latency buckets: a push service answers in tens of milliseconds, a slow
# one in seconds; the HTTP/2 client gives up after its ping timeout.
_SEND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def answer_class(answer: SendResult | None) -> str:
    """The push service's answer as an alertable class: 2xx, 429, 5xx, 4xx, or
    `network` (no HTTP answer: connection error, timeout) and `none` (no sender
    configured for the provider)."""
    if answer is None:
        return "network"
    status = answer.status
    if status is None:
        return "none"
    if 200 <= status < 300:
        return "2xx"
    if status == 429:
        return "429"
    if status >= 500:
        return "5xx"
    return "4xx"


class Metrics:
    """The registry of one process and every metric in it."""

    def __init__(self, *, database: bool = True) -> None:
        """Create the registry and every metric; with `database`, the gauges read from
        the database too (the worker and `push dispatch`; the API has its own queue
        depth only)."""
        r = self.registry = CollectorRegistry()
        # Jobs run through the API.
        self.runs = Counter(
            "mentor_notify_runs",
            "Job runs by job and outcome (ok or failed).",
            ["job", "outcome"],
            registry=r,
        )
        self.run_seconds = Histogram(
            "mentor_notify_run_duration_seconds",
            "How long job runs took.",
            ["job"],
            registry=r,
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
        )
        self.notifications = Counter(
            "mentor_notify_notifications_created",
            "In-app notifications created, by job.",
            ["job"],
            registry=r,
        )
        self.sends = Counter(
            "mentor_notify_push_sends",
            "Push deliveries of API dispatch jobs by outcome (sent or failed).",
            ["outcome"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "mentor_notify_queue_depth",
            "Pushes waiting in the outbox, read at scrape time.",
            registry=r,
        )
        # The provider boundary: one observation per request to FCM or APNs.
        self.send_attempts = Counter(
            "mentor_notify_push_send_attempts",
            "Requests to a push service by kind (person: a queued push; reregistration: the "
            "silent re-registration push), provider, outcome (sent, retry, failed, "
            "unregistered) and answer class (2xx, 429, 5xx, 4xx, network, none).",
            ["kind", "provider", "outcome", "answer"],
            registry=r,
        )
        self.send_seconds = Histogram(
            "mentor_notify_push_send_duration_seconds",
            "Time from a request to a push service to its answer, by provider.",
            ["provider"],
            registry=r,
            buckets=_SEND_BUCKETS,
        )
        # The claim stage and its leases.
        self.claims = Counter(
            "mentor_notify_push_claims",
            "Claim rounds by result: claimed (leased at least one push) or empty.",
            ["result"],
            registry=r,
        )
        self.claimed_sends = Counter(
            "mentor_notify_push_claimed", "Device sends leased by claims.", registry=r
        )
        self.claim_decisions = Counter(
            "mentor_notify_push_claim_decisions",
            "Notices a claim did not send now, by decision (held, budget_held, folded, "
            "skipped, no_device, dead).",
            ["decision"],
            registry=r,
        )
        self.lease_renewals = Counter(
            "mentor_notify_push_lease_renewals",
            "Lease renewals of pushes in flight by outcome: renewed, lost (another "
            "dispatcher may hold it now) or failed (the database did not answer).",
            ["outcome"],
            registry=r,
        )
        # The settle stage.
        self.settled = Counter(
            "mentor_notify_push_settled",
            "Device sends and pushes settled, by outcome: sent, retrying, failed, withdrawn "
            "(device sends; withdrawn: the device left its recipient before the request), "
            "dead (pushes out of attempts).",
            ["outcome"],
            registry=r,
        )
        self.duplicate_sends = Counter(
            "mentor_notify_push_duplicate_sends",
            "Sends a push service accepted for a delivery already recorded as sent (the "
            "same idempotency key sent again, e.g. after a lost lease).",
            registry=r,
        )
        self.database = DatabaseFigures(r) if database else None

    # The dispatcher's observer (mentor_notify.push.observer.PushObserver).
    def claimed(self, claim: Claim) -> None:
        """Count a claim round and its decisions."""
        self.claims.labels("claimed" if claim.pushes else "empty").inc()
        self.claimed_sends.inc(len(claim.pushes))
        for decision in ("held", "budget_held", "folded", "skipped", "no_device", "dead"):
            if n := getattr(claim, decision):
                self.claim_decisions.labels(decision).inc(n)

    def sent(
        self, kind: str, provider: str, outcome: str, answer: SendResult | None, seconds: float
    ) -> None:
        """Count one request to a push service and its latency."""
        self.send_attempts.labels(kind, provider, outcome, answer_class(answer)).inc()
        if answer is None or answer.status is not None:
            self.send_seconds.labels(provider).observe(seconds)

    def renewed(self, asked: int, held: int) -> None:
        """Count a lease renewal: leases kept and lost."""
        self.lease_renewals.labels("renewed").inc(held)
        if asked > held:
            self.lease_renewals.labels("lost").inc(asked - held)

    def renewal_failed(self) -> None:
        """Count a renewal the database did not answer."""
        self.lease_renewals.labels("failed").inc()

    def settled_round(self, counts: OutcomeCounts) -> None:
        """Count what one settle recorded."""
        for outcome in ("sent", "retrying", "failed", "withdrawn", "dead"):
            if n := getattr(counts, outcome):
                self.settled.labels(outcome).inc(n)
        if counts.duplicates:
            self.duplicate_sends.inc(counts.duplicates)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


class DatabaseFigures:
    """The gauges read from the database at scrape time (`DatabaseGauges` sets them)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        """Create the gauges in `registry`."""
        self.push_notices = Gauge(
            "mentor_notify_push_notices",
            "Push notices waiting (pending), being sent (in_flight) and dead.",
            ["status"],
            registry=registry,
        )
        self.push_due = Gauge(
            "mentor_notify_push_due",
            "Pushes due now: pending past their time, or in flight with a lapsed lease.",
            registry=registry,
        )
        self.oldest_due_age = Gauge(
            "mentor_notify_push_oldest_due_age_seconds",
            "How long the oldest due push has been due (0 when none is).",
            registry=registry,
        )
        self.sync_events = Gauge(
            "mentor_notify_sync_events",
            "Certificate sync events by status (dead: the dead letter).",
            ["status"],
            registry=registry,
        )
        self.cycle_last_success = Gauge(
            "mentor_notify_cycle_last_success_timestamp_seconds",
            "When each organisation's daily cycle last finished with every step done "
            "(Unix time; 0: never).",
            ["organization"],
            registry=registry,
        )
        self.data_quality = Gauge(
            "mentor_notify_data_quality_findings",
            "Findings of the data-quality report by issue.",
            ["issue"],
            registry=registry,
        )
        self.reregistrations_this_week = Gauge(
            "mentor_notify_reregistrations_this_week",
            "Silent re-registration pushes of the current week by status.",
            ["status"],
            registry=registry,
        )
        self.database_up = Gauge(
            "mentor_notify_metrics_database_up",
            "1 when the last scrape read the database gauges, 0 when it could not.",
            registry=registry,
        )
