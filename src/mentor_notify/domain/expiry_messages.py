"""What an expiry notice says, per tier and audience: message keys, in-app data, push payload.

Texts live in the app's translation bundles (Norwegian Bokmål and English);
the server sends keys, so no language, and no personal data, is baked into a
stored row. This is their only definition: the daily sweep hands its due
certificates to the orchestrator, which builds every notice from here.

Push payloads are provider-neutral; the senders map them onto FCM and APNs
(`title_key` becomes `title_loc_key` / `title-loc-key`, `priority` the
Android priority and `apns-priority`).
"""

from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Any
from uuid import UUID

from mentor_notify.domain.deep_links import coordinator_follow_up_link, renewal_link
from mentor_notify.domain.tiers import Tier

CATEGORY = "certification_expiry"


class Audience(StrEnum):
    """Who a notice is for; chapter admins stand in when a mentor has no coordinator."""

    MENTOR = "mentor"
    COORDINATOR = "coordinator"
    CHAPTER_ADMIN = "chapter_admin"

    @property
    def message_audience(self) -> str:
        """The message set used: admins get the coordinators' texts."""
        return "mentor" if self is Audience.MENTOR else "coordinator"


def message_key(audience: Audience, tier: Tier) -> str:
    """`notifications.message_key`, e.g. `certification_expiry.mentor.expiry_warning_30d`."""
    return f"{CATEGORY}.{audience.message_audience}.{tier.value}"


# A notice's in-app data and its push carry the same link: cached, it is built
# once per notice (URL encoding is a large share of a sweep's Python time).
@lru_cache(maxsize=4096)
def deep_link(
    audience: Audience, mentor_id: UUID, certification_id: UUID, certificate_type: str, tier: Tier
) -> str:
    """Renewal for the mentor, follow-up for everyone else."""
    if audience is Audience.MENTOR:
        return renewal_link(certification_id, certificate_type, tier)
    return coordinator_follow_up_link(mentor_id, certification_id, tier)


def collapse_key(certification_id: UUID) -> str:
    """One collapse key per certificate, so a newer tier replaces an older one on the device."""
    return f"expiry:{certification_id}"


def notification_data(
    audience: Audience,
    mentor_id: UUID,
    certification_id: UUID,
    certificate_type: str,
    tier: Tier,
    expiry_date: date,
) -> dict[str, Any]:
    """`notifications.data` of an expiry notice: ids, codes, a date and the deep link."""
    return {
        "audience": audience.value,
        "certification_id": str(certification_id),
        "expiry_date": expiry_date.isoformat(),
        "deep_link": deep_link(audience, mentor_id, certification_id, certificate_type, tier),
    }


def push_payload(
    notification_id: UUID,
    audience: Audience,
    mentor_id: UUID,
    certification_id: UUID,
    certificate_type: str,
    tier: Tier,
    expiry_date: date,
) -> dict[str, Any]:
    """`push_outbox.payload` of an expiry notice."""
    key = message_key(audience, tier)
    return {
        "category": CATEGORY,
        "title_key": f"{key}.title",
        "body_key": f"{key}.body",
        "priority": "high" if tier.urgent else "normal",
        "data": {
            "notification_id": str(notification_id),
            "category": CATEGORY,
            "tier": tier.value,
            "certificate_type": certificate_type,
            "certification_id": str(certification_id),
            "subject_mentor_id": str(mentor_id),
            "expiry_date": expiry_date.isoformat(),
            "deep_link": deep_link(audience, mentor_id, certification_id, certificate_type, tier),
        },
    }
