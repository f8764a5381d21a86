"""Certificate expiry tiers: which single notice a certificate is due on a given day.

A certificate is valid through its expiry date and lapsed from the next day.
An organisation configures which advance warnings it sends, from 90, 60, 30
and 7 days before expiry (default 60, 30, 7); the lapsed notice is always on.

The tier on a day is the *most urgent window the certificate is in*: the
smallest configured threshold that is at least the days left. A certificate
first seen 20 days out is in the 30-day window, so it gets the 30-day notice
and never a late 60-day one. Because days left only shrink as the days pass,
the tier never becomes less urgent, and a notice per tier per expiry date
(see `mentor_notify.domain.keys`) is enough for "exactly once".

SQL that must classify a whole set (the sweep's candidates, the
certification-expiry scenario, the demo summary) calls `private.expiry_tier`
and `private.expiry_tier_days` (supabase/schemas/08_rule_functions.sql), and the sweep's due
rule built on them, `private.expiry_due_tier` (same file: the tier, unless
already sent in this expiry cycle); tests hold them to `classify_tier` and
`Tier.days` for every day from -3 to 95 under every threshold set.
"""

from collections.abc import Iterable
from datetime import date
from enum import StrEnum

ALL_THRESHOLDS: frozenset[int] = frozenset({90, 60, 30, 7})
DEFAULT_THRESHOLDS: tuple[int, ...] = (60, 30, 7)


class Tier(StrEnum):
    """A notice tier, named as `notifications.threshold_tier` and the log store it."""

    WARNING_90D = "expiry_warning_90d"
    WARNING_60D = "expiry_warning_60d"
    WARNING_30D = "expiry_warning_30d"
    WARNING_7D = "expiry_warning_7d"
    EXPIRED = "expired"

    @property
    def days(self) -> int:
        """Days before expiry the window opens; 0 for lapsed (the value kept in
        `certification_expiry_tracking.notification_thresholds_sent`)."""
        return _DAYS[self]

    @property
    def urgent(self) -> bool:
        """The 7-day and lapsed notices, which go out at high priority."""
        return self in (Tier.WARNING_7D, Tier.EXPIRED)

    @classmethod
    def from_days(cls, days: int) -> "Tier":
        """The tier of a threshold (90, 60, 30, 7) or of 0 (lapsed)."""
        for tier, tier_days in _DAYS.items():
            if tier_days == days:
                return tier
        raise ValueError(f"{days} is not a tier: use one of 90, 60, 30, 7 or 0 (lapsed)")


_DAYS = {
    Tier.WARNING_90D: 90,
    Tier.WARNING_60D: 60,
    Tier.WARNING_30D: 30,
    Tier.WARNING_7D: 7,
    Tier.EXPIRED: 0,
}


def validate_thresholds(thresholds: Iterable[int]) -> tuple[int, ...]:
    """The thresholds, checked and sorted most distant first.

    The same rule as the CHECK on `organizations.expiry_thresholds`: one to
    four distinct values from 90, 60, 30 and 7.
    """
    values = list(thresholds)
    if not values:
        raise ValueError("configure at least one expiry warning threshold (90, 60, 30 or 7 days)")
    unknown = sorted(set(values) - ALL_THRESHOLDS, reverse=True)
    if unknown:
        raise ValueError(
            f"expiry warning thresholds must be 90, 60, 30 or 7 days, not {unknown[0]}"
        )
    if len(set(values)) != len(values):
        raise ValueError("each expiry warning threshold may be listed once")
    return tuple(sorted(values, reverse=True))


def classify_tier(
    expiry_date: date, today: date, thresholds: Iterable[int] = DEFAULT_THRESHOLDS
) -> Tier | None:
    """The one tier a certificate expiring on `expiry_date` is in on `today`.

    `today` is the organisation's local date (see `local_today`). Returns
    None when the certificate is further from expiry than every threshold.
    """
    days_left = (expiry_date - today).days
    if days_left < 0:
        return Tier.EXPIRED
    due = [t for t in validate_thresholds(thresholds) if t >= days_left]
    return Tier.from_days(min(due)) if due else None
