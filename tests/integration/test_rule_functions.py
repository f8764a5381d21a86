"""The SQL forms of the business rules (supabase/schemas/08_rule_functions.sql and
04_notifications_and_push.sql) held to their Python definitions: the tier and the
sweep's due rule over their whole input space; the expiry notice (keys, message key,
data, deep link, push payload) for every audience and tier; keys, the renewal link and
the organisation's local date on samples; the digest link over both of its inputs. The
push urgency order has no Python twin; its order is held here."""

from datetime import UTC, date, datetime, timedelta
from itertools import combinations
from uuid import uuid4

from psycopg.types.json import Jsonb

from mentor_notify.db import Pool
from mentor_notify.domain import (
    ALL_THRESHOLDS,
    AsOf,
    Tier,
    cert_log_key,
    classify_tier,
    expiry_notification_key,
    idempotency_key,
    push_key,
)
from mentor_notify.domain.deep_links import digest_link, parse_deep_link, renewal_link
from mentor_notify.domain.expiry_messages import Audience, collapse_key, expiry_message

TODAY = date(2026, 11, 23)
THRESHOLD_SETS = [
    tuple(sorted(subset, reverse=True))
    for size in range(1, len(ALL_THRESHOLDS) + 1)
    for subset in combinations(sorted(ALL_THRESHOLDS), size)
]
DAYS_LEFT = range(-3, 96)


async def test_expiry_tier_in_sql_is_classify_tier_for_every_day_and_threshold_set(
    own_pool: Pool,
) -> None:
    assert len(THRESHOLD_SETS) == 15
    async with own_pool.connection() as conn:
        cur = await conn.execute(
            "select s.n, d, private.expiry_tier(d, (%(sets)s::integer[][])[s.n:s.n][:]::integer[]) "
            "from generate_subscripts(%(sets)s::integer[][], 1) s(n), "
            "generate_series(%(low)s::integer, %(high)s::integer) d",
            {
                # Padded with nulls to a rectangle; unnest's null never meets th >= d.
                "sets": [list(s) + [None] * (4 - len(s)) for s in THRESHOLD_SETS],
                "low": DAYS_LEFT.start,
                "high": DAYS_LEFT.stop - 1,
            },
        )
        rows = await cur.fetchall()
    in_sql = {(r["n"], r["d"]): r["expiry_tier"] for r in rows}
    in_python = {
        (n, d): (
            tier.value
            if (tier := classify_tier(TODAY + timedelta(days=d), TODAY, thresholds))
            else None
        )
        for n, thresholds in enumerate(THRESHOLD_SETS, start=1)
        for d in DAYS_LEFT
    }
    assert len(in_python) == 15 * 99
    assert in_sql == in_python


async def test_expiry_tier_days_in_sql_is_tier_days(own_pool: Pool) -> None:
    async with own_pool.connection() as conn:
        cur = await conn.execute(
            "select t, private.expiry_tier_days(t) as days from unnest(%s::text[]) t",
            [[t.value for t in Tier]],
        )
        in_sql = {r["t"]: r["days"] for r in await cur.fetchall()}
    assert in_sql == {t.value: t.days for t in Tier}


async def test_expiry_due_tier_is_the_tier_unless_sent_this_cycle(own_pool: Pool) -> None:
    # The sweep's due rule (private.expiry_due_tier), over every day, threshold
    # set and set of tiers already sent: once per tier per expiry cycle.
    sent_sets = [
        list(subset) for size in range(6) for subset in combinations([90, 60, 30, 7, 0], size)
    ]
    assert len(sent_sets) == 32
    as_text = [
        [str(list(x)).replace("[", "{").replace("]", "}") for x in xs]
        for xs in (THRESHOLD_SETS, sent_sets)
    ]
    async with own_pool.connection() as conn:
        cur = await conn.execute(
            "select th, sent, d, private.expiry_due_tier(d, th::integer[], sent::integer[]) as due "
            "from unnest(%s::text[]) th, unnest(%s::text[]) sent, "
            "generate_series(%s::integer, %s::integer) d",
            [*as_text, DAYS_LEFT.start, DAYS_LEFT.stop - 1],
        )
        in_sql = {(r["th"], r["sent"], r["d"]): r["due"] for r in await cur.fetchall()}
    in_python = {}
    for thresholds, th in zip(THRESHOLD_SETS, as_text[0], strict=True):
        for sent, sent_text in zip(sent_sets, as_text[1], strict=True):
            for d in DAYS_LEFT:
                tier = classify_tier(TODAY + timedelta(days=d), TODAY, thresholds)
                due = tier is not None and tier.days not in sent
                in_python[(th, sent_text, d)] = tier.value if due and tier else None
    assert len(in_python) == 15 * 32 * 99
    assert in_sql == in_python


async def test_idempotency_key_in_sql_is_the_python_key(own_pool: Pool) -> None:
    certification, recipient, notification, device = uuid4(), uuid4(), uuid4(), uuid4()
    notice = uuid4()
    expiry = date(2027, 1, 31)
    cases = {
        expiry_notification_key(certification, Tier.WARNING_30D, expiry, recipient): [
            "certification_expiry",
            str(certification),
            Tier.WARNING_30D.value,
            expiry.isoformat(),
            str(recipient),
        ],
        cert_log_key(certification, Tier.EXPIRED, expiry, recipient): [
            str(certification),
            Tier.EXPIRED.value,
            expiry.isoformat(),
            str(recipient),
        ],
        push_key(notice, device): [str(notice), str(device)],
        idempotency_key("scenario", notification, recipient): [
            "scenario",
            str(notification),
            str(recipient),
        ],
        idempotency_key("æøå", "ÆØÅ"): ["æøå", "ÆØÅ"],
    }
    async with own_pool.connection() as conn:
        for expected, parts in cases.items():
            cur = await conn.execute("select private.idempotency_key(variadic %s::text[])", [parts])
            row = await cur.fetchone()
            assert row is not None
            assert row["idempotency_key"] == expected, parts


async def test_renewal_link_in_sql_is_the_python_link(own_pool: Pool) -> None:
    certification = uuid4()
    async with own_pool.connection() as conn:
        for tier in Tier:
            cur = await conn.execute(
                "select private.renewal_link(%s, 'nhf_peer_mentor', %s)",
                [certification, tier.value],
            )
            row = await cur.fetchone()
            assert row is not None
            assert row["renewal_link"] == renewal_link(certification, "nhf_peer_mentor", tier)


async def test_expiry_notice_in_sql_is_the_python_message_for_every_audience_and_tier(
    own_pool: Pool,
) -> None:
    mentor, certification, recipient, notification = uuid4(), uuid4(), uuid4(), uuid4()
    expiry = date(2027, 1, 31)
    async with own_pool.connection() as conn:
        for audience in Audience:
            for tier in Tier:
                cur = await conn.execute(
                    """
                    select private.expiry_message_key(%(a)s, %(t)s) as message_key,
                           private.expiry_notice_data(%(a)s, %(c)s, %(e)s, l.link) as data,
                           private.expiry_push_payload(%(n)s, %(a)s, %(t)s, 'nhf_peer_mentor',
                                                       %(c)s, %(m)s, %(e)s, l.link) as payload,
                           private.expiry_collapse_key(%(c)s) as collapse_key,
                           private.expiry_notification_key(%(c)s, %(t)s, %(e)s, %(r)s) as key,
                           private.cert_log_key(%(c)s, %(t)s, %(e)s, %(r)s) as log_key
                    from (select private.expiry_deep_link(%(a)s, %(m)s, %(c)s, 'nhf_peer_mentor',
                                                          %(t)s) as link) l
                    """,
                    {
                        "a": audience.value,
                        "t": tier.value,
                        "m": mentor,
                        "c": certification,
                        "e": expiry,
                        "r": recipient,
                        "n": notification,
                    },
                )
                row = await cur.fetchone()
                message = expiry_message(
                    audience, mentor, certification, "nhf_peer_mentor", tier, expiry
                )
                assert row == {
                    "message_key": message.message_key,
                    "data": message.data,
                    "payload": {
                        "category": "certification_expiry",
                        "title_key": f"{message.message_key}.title",
                        "body_key": f"{message.message_key}.body",
                        "priority": "high" if tier.urgent else "normal",
                        "data": {
                            "notification_id": str(notification),
                            "category": "certification_expiry",
                            "tier": tier.value,
                            "certificate_type": "nhf_peer_mentor",
                            "certification_id": str(certification),
                            "subject_mentor_id": str(mentor),
                            "expiry_date": expiry.isoformat(),
                            "deep_link": message.deep_link,
                        },
                    },
                    "collapse_key": collapse_key(certification),
                    "key": expiry_notification_key(certification, tier, expiry, recipient),
                    "log_key": cert_log_key(certification, tier, expiry, recipient),
                }, (audience, tier)


async def test_local_date_in_sql_is_the_as_of_local_date(own_pool: Pool) -> None:
    # Instants either side of midnight and of the DST changes in Oslo, and in
    # zones far from UTC, where the local date differs from the UTC one.
    instants = [
        datetime(2027, 3, 27, 22, 59, 59, tzinfo=UTC),
        datetime(2027, 3, 27, 23, 0, tzinfo=UTC),
        datetime(2027, 3, 28, 0, 30, tzinfo=UTC),
        datetime(2027, 10, 30, 22, 40, tzinfo=UTC),
        datetime(2027, 10, 31, 0, 59, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
        datetime(2027, 1, 1, 10, 0, tzinfo=UTC),
    ]
    zones = ["Europe/Oslo", "UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/St_Johns"]
    async with own_pool.connection() as conn:
        for instant in instants:
            for zone in zones:
                cur = await conn.execute("select private.local_date(%s, %s) as d", [instant, zone])
                row = await cur.fetchone()
                assert row is not None
                assert row["d"] == AsOf(instant).local_date(zone), (instant, zone)


async def test_digest_link_in_sql_is_the_python_link(own_pool: Pool) -> None:
    async with own_pool.connection() as conn:
        for about_others in (True, False):
            cur = await conn.execute("select private.digest_link(%s) as link", [about_others])
            row = await cur.fetchone()
            assert row is not None
            assert row["link"] == digest_link(about_others)
            assert parse_deep_link(row["link"]).route in {"inbox", "mentors/renewals"}


async def test_push_urgency_orders_lapsed_then_nearest_tier_then_the_rest(own_pool: Pool) -> None:
    # Most urgent first, as the claim picks a digest's carrier.
    payloads = [
        {"priority": "high", "data": {"tier": "expired"}},
        {"priority": "normal", "data": {"tier": "expired"}},
        {"priority": "high", "data": {"tier": "expiry_warning_7d"}},
        {"priority": "normal", "data": {"tier": "expiry_warning_30d"}},
        {"priority": "normal", "data": {"tier": "expiry_warning_60d"}},
        {"priority": "normal", "data": {"tier": "expiry_warning_90d"}},
        {"priority": "high", "data": {"category": "inactivity"}},
        {"priority": "normal", "data": {"category": "milestone"}},
    ]
    async with own_pool.connection() as conn:
        cur = await conn.execute(
            "select private.push_urgency(p) as u from unnest(%s::jsonb[]) with ordinality x(p, i)"
            " order by i",
            [[Jsonb(p) for p in payloads]],
        )
        urgencies = [r["u"] for r in await cur.fetchall()]
    assert urgencies == sorted(urgencies, reverse=True)
    assert len(set(urgencies)) == len(urgencies)
