"""The deep-link contract and the idempotency keys."""

from datetime import date
from uuid import UUID

import pytest

from mentor_notify.domain import (
    Tier,
    cert_log_key,
    coordinator_follow_up_link,
    expiry_notification_key,
    idempotency_key,
    parse_deep_link,
    push_key,
    renewal_link,
)

CERT = UUID("50000000-0000-4000-8000-000000000001")
MENTOR = UUID("30000000-0000-4000-8000-000000000001")
OTHER = UUID("30000000-0000-4000-8000-000000000002")
EXPIRY = date(2026, 12, 23)


def test_renewal_link_has_the_documented_v1_format() -> None:
    link = renewal_link(CERT, "hlf_peer_mentor", Tier.WARNING_30D)

    assert link == (
        "mentornotify://v1/course-enrolment?certification_id=50000000-0000-4000-8000-000000000001"
        "&certificate_type=hlf_peer_mentor&tier=expiry_warning_30d"
    )
    parsed = parse_deep_link(link)
    assert (parsed.version, parsed.route) == ("v1", "course-enrolment")
    assert parsed.params["tier"] == "expiry_warning_30d"


def test_coordinator_link_has_the_documented_v1_format() -> None:
    link = coordinator_follow_up_link(MENTOR, CERT, Tier.EXPIRED)

    assert link == (
        f"mentornotify://v1/mentors/{MENTOR}/certification?certification_id={CERT}&tier=expired"
    )
    assert parse_deep_link(link).route == f"mentors/{MENTOR}/certification"


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("https://v1/course-enrolment?certification_id=x", "scheme"),
        (f"mentornotify://v2/course-enrolment?certification_id={CERT}", "version"),
        ("mentornotify://v1/courses?x=1", "route"),
        (f"mentornotify://v1/course-enrolment?certification_id={CERT}&tier=expired", "exactly"),
        (
            "mentornotify://v1/course-enrolment?certification_id=not-a-uuid"
            "&certificate_type=hlf_peer_mentor&tier=expired",
            "UUID",
        ),
        (
            f"mentornotify://v1/course-enrolment?certification_id={CERT}"
            "&certificate_type=hlf_peer_mentor&tier=expiry_warning_45d",
            "tier",
        ),
        (
            f"mentornotify://v1/course-enrolment?certification_id={CERT}"
            "&certificate_type=dnt_peer_mentor&tier=expired",
            "certificate type",
        ),
        (
            f"mentornotify://v1/mentors/kari/certification?certification_id={CERT}&tier=expired",
            "mentor id",
        ),
    ],
)
def test_links_outside_the_contract_are_refused(link: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_deep_link(link)


def test_keys_are_sha256_hex_of_the_documented_parts() -> None:
    key = expiry_notification_key(CERT, Tier.WARNING_7D, EXPIRY, MENTOR)

    assert key == idempotency_key(
        "certification_expiry", str(CERT), "expiry_warning_7d", "2026-12-23", str(MENTOR)
    )
    assert len(key) == 64
    assert set(key) <= set("0123456789abcdef")


def test_each_part_of_a_key_matters() -> None:
    base = expiry_notification_key(CERT, Tier.WARNING_7D, EXPIRY, MENTOR)
    variants = {
        expiry_notification_key(CERT, Tier.WARNING_30D, EXPIRY, MENTOR),
        expiry_notification_key(CERT, Tier.WARNING_7D, date(2027, 12, 23), MENTOR),
        expiry_notification_key(CERT, Tier.WARNING_7D, EXPIRY, OTHER),
        cert_log_key(CERT, Tier.WARNING_7D, EXPIRY, MENTOR),
        push_key(CERT, MENTOR),
    }
    assert base not in variants
    assert len(variants) == 5
    assert expiry_notification_key(CERT, Tier.WARNING_7D, EXPIRY, MENTOR) == base


@pytest.mark.parametrize("route", ["activities/new", "activities", "home"])
def test_scenario_links_are_plain_routes(route: str) -> None:
    assert parse_deep_link(f"mentornotify://v1/{route}").route == route
    with pytest.raises(ValueError, match="takes no parameters"):
        parse_deep_link(f"mentornotify://v1/{route}?x=1")
