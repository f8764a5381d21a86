"""The versioned deep-link contract between notifications and the app's screens.

Ticket 004's risk: if the course-administration screens change their links,
expiry prompts would open broken screens. So the format is one versioned
contract, defined here. SQL that derives links for a whole set calls their SQL
forms, held equal to these by a test: the certification-expiry scenario
`private.renewal_link`, the expiry job `private.expiry_deep_link` (with
`private.coordinator_follow_up_link`, migration 20261206000200):

* mentor, to renew (course enrolment):
  `mentornotify://v1/course-enrolment?certification_id=<uuid>&certificate_type=<code>&tier=<tier>`
* coordinator or chapter admin, to follow the mentor up:
  `mentornotify://v1/mentors/<mentor uuid>/certification?certification_id=<uuid>&tier=<tier>`
* follow-up scenarios, to the screens they are about: `mentornotify://v1/activities/new`
  (register an activity, after an inactivity nudge), `mentornotify://v1/activities`
  (a milestone) and `mentornotify://v1/home` (welcome back); the certification-expiry
  scenario uses the renewal link.
* a digest push (several notices in one push, see push/sql/digest.sql): a person told
  only about other people (a coordinator or chapter admin about their mentors) opens
  `mentornotify://v1/mentors/renewals`, the list of their mentors due for renewal;
  anyone else `mentornotify://v1/inbox`. The claim builds it in SQL with
  `private.digest_link`, held equal to `digest_link` by a test.

A new format gets a new version (`v2`), and the app keeps opening `v1` links
already delivered. An app that cannot open a link falls back to the course
screen root with the same query, as the ticket's contingency says.
"""

import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit
from uuid import UUID

from mentor_notify.domain.tiers import Tier

DEEP_LINK_SCHEME = "mentornotify"
DEEP_LINK_VERSION = "v1"
CERTIFICATE_TYPES = frozenset({"hlf_peer_mentor", "nhf_peer_mentor", "blindeforbundet_peer_mentor"})

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_PLAIN_ROUTES = frozenset({"activities/new", "activities", "home", "inbox", "mentors/renewals"})
_MENTOR_ROUTE = re.compile(r"^mentors/(?P<mentor>[^/]+)/certification$")


@dataclass(frozen=True)
class DeepLink:
    """A parsed, validated deep link."""

    version: str
    route: str
    params: dict[str, str] = field(default_factory=dict)


def renewal_link(certification_id: UUID, certificate_type: str, tier: Tier) -> str:
    """The mentor's link to enrol in the renewal course for this certificate."""
    # urlencode leaves a UUID's text (hex digits and hyphens) as it is, so only
    # the codes need encoding, once per code (a per-record caller builds thousands of links).
    return (
        f"{DEEP_LINK_SCHEME}://{DEEP_LINK_VERSION}/course-enrolment?"
        f"certification_id={certification_id}&{_query(certificate_type=certificate_type)}"
        f"&{_query(tier=tier.value)}"
    )


def coordinator_follow_up_link(mentor_id: UUID, certification_id: UUID, tier: Tier) -> str:
    """A coordinator's link to the mentor's certification, to follow them up."""
    return (
        f"{DEEP_LINK_SCHEME}://{DEEP_LINK_VERSION}/mentors/{mentor_id}/certification?"
        f"certification_id={certification_id}&{_query(tier=tier.value)}"
    )


def digest_link(about_others: bool) -> str:
    """Where a digest push opens: the list of the recipient's mentors due for renewal
    when every notice in it is about another person, else the inbox."""
    route = "mentors/renewals" if about_others else "inbox"
    return f"{DEEP_LINK_SCHEME}://{DEEP_LINK_VERSION}/{route}"


@lru_cache(maxsize=64)
def _query(**code: str) -> str:
    return urlencode(code)


def parse_deep_link(link: str) -> DeepLink:
    """Parse and validate a link against the contract; ValueError says what is wrong."""
    parts = urlsplit(link)
    if parts.scheme != DEEP_LINK_SCHEME:
        raise ValueError(f"deep link scheme must be {DEEP_LINK_SCHEME}, not {parts.scheme!r}")
    if parts.netloc != DEEP_LINK_VERSION:
        raise ValueError(
            f"unknown deep link version {parts.netloc!r}; expected {DEEP_LINK_VERSION}"
        )
    route = parts.path.lstrip("/")
    params = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)))
    if route in _PLAIN_ROUTES:
        if params:
            raise ValueError(f"deep link {route!r} takes no parameters, got {sorted(params)}")
        return DeepLink(version=parts.netloc, route=route, params=params)
    if route == "course-enrolment":
        expected = {"certification_id", "certificate_type", "tier"}
    elif (match := _MENTOR_ROUTE.match(route)) is not None:
        expected = {"certification_id", "tier"}
        _require_uuid("mentor id", match["mentor"])
    else:
        raise ValueError(f"unknown deep link route {route!r}")
    if set(params) != expected:
        raise ValueError(
            f"deep link {route!r} takes exactly {sorted(expected)}, got {sorted(params)}"
        )
    _require_uuid("certification_id", params["certification_id"])
    if params["tier"] not in {t.value for t in Tier}:
        raise ValueError(f"unknown tier {params['tier']!r} in deep link")
    if "certificate_type" in params and params["certificate_type"] not in CERTIFICATE_TYPES:
        raise ValueError(f"unknown certificate type {params['certificate_type']!r} in deep link")
    return DeepLink(version=parts.netloc, route=route, params=params)


def _require_uuid(what: str, value: str) -> None:
    if not _UUID.match(value):
        raise ValueError(f"{what} in deep link must be a lowercase UUID, not {value!r}")
