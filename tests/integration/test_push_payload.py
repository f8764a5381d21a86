"""The push payload's one builder, `private.push_payload` (issue 25), written out in
full: what an expiry notice's push carries for each audience, and that every push
carries its notification id and deep link whatever its producer adds. (A scenario
nudge's payload is pinned in test_scenario_engine.py, a digest's wire bodies in
test_push_delivery.py.)"""

from datetime import date
from typing import Any
from uuid import UUID

from mentor_notify.db import Pool

CERT = UUID("50000000-0000-4000-8000-000000000001")
MENTOR = UUID("30000000-0000-4000-8000-000000000001")
NOTIFICATION = UUID("70000000-0000-4000-8000-000000000001")
EXPIRY = date(2026, 12, 23)


async def expiry_payload(pool: Pool, audience: str, tier: str, certificate_type: str) -> Any:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select private.expiry_push_payload(%(n)s, %(a)s, %(t)s, %(ct)s, %(c)s, %(m)s, "
            "%(e)s, private.expiry_deep_link(%(a)s, %(m)s, %(c)s, %(ct)s, %(t)s)) as payload",
            {
                "n": NOTIFICATION,
                "a": audience,
                "t": tier,
                "ct": certificate_type,
                "c": CERT,
                "m": MENTOR,
                "e": EXPIRY,
            },
        )
        row = await cur.fetchone()
    assert row is not None
    return row["payload"]


async def test_the_mentor_is_pushed_the_renewal_link_urgently(own_pool: Pool) -> None:
    payload = await expiry_payload(own_pool, "mentor", "expiry_warning_7d", "hlf_peer_mentor")

    assert payload == {
        "category": "certification_expiry",
        "title_key": "certification_expiry.mentor.expiry_warning_7d.title",
        "body_key": "certification_expiry.mentor.expiry_warning_7d.body",
        "priority": "high",
        "data": {
            "notification_id": str(NOTIFICATION),
            "category": "certification_expiry",
            "tier": "expiry_warning_7d",
            "certificate_type": "hlf_peer_mentor",
            "certification_id": str(CERT),
            "subject_mentor_id": str(MENTOR),
            "expiry_date": "2026-12-23",
            "deep_link": (
                f"mentornotify://v1/course-enrolment?certification_id={CERT}"
                "&certificate_type=hlf_peer_mentor&tier=expiry_warning_7d"
            ),
        },
    }


async def test_a_chapter_admin_is_pushed_the_coordinator_texts_and_follow_up_link(
    own_pool: Pool,
) -> None:
    payload = await expiry_payload(
        own_pool, "chapter_admin", "expiry_warning_60d", "nhf_peer_mentor"
    )

    assert payload["title_key"] == "certification_expiry.coordinator.expiry_warning_60d.title"
    assert payload["body_key"] == "certification_expiry.coordinator.expiry_warning_60d.body"
    assert payload["priority"] == "normal"
    assert payload["data"]["deep_link"] == (
        f"mentornotify://v1/mentors/{MENTOR}/certification?certification_id={CERT}"
        "&tier=expiry_warning_60d"
    )
    assert payload["data"]["tier"] == "expiry_warning_60d"


async def test_every_push_carries_its_notification_and_deep_link(own_pool: Pool) -> None:
    async with own_pool.connection() as conn:
        cur = await conn.execute(
            "select private.push_payload('inactivity', 't', 'b', false, %(n)s, %(link)s, "
            "%(data)s::jsonb) as given, "
            "private.push_payload('inactivity', 't', 'b', null, %(n)s, %(link)s, null) as bare",
            # A producer's own notification_id is overruled by the notice's.
            {
                "n": NOTIFICATION,
                "link": "mentornotify://v1/home",
                "data": '{"notification_id": "elsewhere", "milestone": 10}',
            },
        )
        row = await cur.fetchone()

    assert row is not None
    assert row["given"]["data"] == {
        "notification_id": str(NOTIFICATION),
        "deep_link": "mentornotify://v1/home",
        "milestone": 10,
    }
    assert row["bare"] == {
        "category": "inactivity",
        "title_key": "t",
        "body_key": "b",
        "priority": "normal",
        "data": {"notification_id": str(NOTIFICATION), "deep_link": "mentornotify://v1/home"},
    }
