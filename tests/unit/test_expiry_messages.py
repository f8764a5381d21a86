"""What an expiry notice says, written out in full: the in-app data of each audience,
and the deep links' encoding of the codes they carry. (Its push payload is the
database's, pinned in tests/integration/test_push_payload.py.)"""

from datetime import date
from urllib.parse import urlencode
from uuid import UUID

import pytest

from mentor_notify.domain import Tier, renewal_link
from mentor_notify.domain.expiry_messages import Audience, expiry_message

CERT = UUID("50000000-0000-4000-8000-000000000001")
MENTOR = UUID("30000000-0000-4000-8000-000000000001")
EXPIRY = date(2026, 12, 23)


def test_the_mentor_is_sent_the_renewal_link() -> None:
    message = expiry_message(
        Audience.MENTOR, MENTOR, CERT, "hlf_peer_mentor", Tier.WARNING_7D, EXPIRY
    )
    link = (
        f"mentornotify://v1/course-enrolment?certification_id={CERT}"
        "&certificate_type=hlf_peer_mentor&tier=expiry_warning_7d"
    )

    assert message.message_key == "certification_expiry.mentor.expiry_warning_7d"
    assert message.data == {
        "audience": "mentor",
        "certification_id": str(CERT),
        "expiry_date": "2026-12-23",
        "deep_link": link,
    }


def test_a_chapter_admin_gets_the_coordinator_texts_and_the_follow_up_link() -> None:
    message = expiry_message(
        Audience.CHAPTER_ADMIN, MENTOR, CERT, "nhf_peer_mentor", Tier.WARNING_60D, EXPIRY
    )
    link = (
        f"mentornotify://v1/mentors/{MENTOR}/certification?certification_id={CERT}"
        "&tier=expiry_warning_60d"
    )

    assert message.message_key == "certification_expiry.coordinator.expiry_warning_60d"
    assert message.data == {
        "audience": "chapter_admin",
        "certification_id": str(CERT),
        "expiry_date": "2026-12-23",
        "deep_link": link,
    }


@pytest.mark.parametrize("code", ["hlf_peer_mentor", "a b&c=d/æ?#"])
def test_the_renewal_link_url_encodes_the_certificate_type(code: str) -> None:
    # The link encodes only its codes (a UUID's text needs none): any code comes
    # out as urlencode writes it.
    query = urlencode({"certification_id": str(CERT), "certificate_type": code, "tier": "expired"})

    assert renewal_link(CERT, code, Tier.EXPIRED) == (f"mentornotify://v1/course-enrolment?{query}")
