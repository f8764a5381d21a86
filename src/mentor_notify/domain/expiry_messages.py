"""What an expiry notice says, per tier and audience: message keys, in-app data, deep link.

Texts live in the app's translation bundles (Norwegian Bokmål and English);
the server sends keys, so no language, and no personal data, is baked into a
stored row. This is their definition; the expiry job builds its notices for a
whole set in SQL with their SQL forms (`private.expiry_message_key`,
`private.expiry_notice_data`, `private.expiry_collapse_key`, migration
20261206000200), which tests/integration/test_rule_functions.py holds equal to
these for every audience and tier.

The push payload has no Python form: it is built in one place, the database's
`private.push_payload` (issue 25), which every producer's SQL calls (the expiry
notice's through `private.expiry_push_payload`); the senders map it onto FCM
and APNs.
"""

from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple
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


# Fifteen (audience, tier) pairs: cached, so a caller building many notices
# builds each key once, not once per notice.
@lru_cache(maxsize=32)
def message_key(audience: Audience, tier: Tier) -> str:
    """`notifications.message_key`, e.g. `certification_expiry.mentor.expiry_warning_30d`."""
    return f"{CATEGORY}.{audience.message_audience}.{tier.value}"


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


class ExpiryMessage(NamedTuple):
    """What one expiry notice says: its message key, in-app data and deep link.

    Built once per notice by `expiry_message`, so the deep link is derived
    once. Ids and the date are held as the message writes them (text), ready
    for JSON and for the SQL that builds the push
    (`private.expiry_push_payload`). A named tuple: immutable, and built in a
    third of the time a frozen dataclass takes (a per-record caller, such as
    the benchmark's baseline, builds thousands).
    """

    audience: Audience
    tier: Tier
    certificate_type: str
    mentor_id: str
    certification_id: str
    expiry_date: str
    deep_link: str

    @property
    def message_key(self) -> str:
        """`notifications.message_key` (see `message_key`)."""
        return message_key(self.audience, self.tier)

    @property
    def data(self) -> dict[str, Any]:
        """`notifications.data` of the notice: ids, codes, a date and the deep link."""
        return {
            "audience": self.audience.value,
            "certification_id": self.certification_id,
            "expiry_date": self.expiry_date,
            "deep_link": self.deep_link,
        }


def expiry_message(
    audience: Audience,
    mentor_id: UUID,
    certification_id: UUID,
    certificate_type: str,
    tier: Tier,
    expiry_date: date,
) -> ExpiryMessage:
    """The message of the notice about `certification_id` in `tier` for `audience`."""
    return ExpiryMessage(
        audience=audience,
        tier=tier,
        certificate_type=certificate_type,
        mentor_id=str(mentor_id),
        certification_id=str(certification_id),
        expiry_date=expiry_date.isoformat(),
        deep_link=deep_link(audience, mentor_id, certification_id, certificate_type, tier),
    )
