"""The silent re-registration push (ticket 000's contingency for stale tokens)."""

from mentor_notify.reregistration.service import (
    REREGISTER_ACTION,
    BackgroundSender,
    Reregistration,
    ReregistrationResult,
)

__all__ = ["REREGISTER_ACTION", "BackgroundSender", "Reregistration", "ReregistrationResult"]
