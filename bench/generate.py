"""Generate benchmark-sized data for mentor-notify in an already migrated database.

Set-based and deterministic: every row comes from ``generate_series`` in a handful of
``INSERT ... SELECT`` statements, and every "random" value (UUIDs, dates, choices) is
derived from md5 of the row number and ``--seed``, so two runs with the same options
produce the same rows on the same day (dates and times are anchored on ``current_date``).

Default volume (``--scale 1``), matching the tickets' performance requirements:

* 3 organisations (HLF, NHF, Blindeforbundet), 300 chapters, 100,000 people
  (a chapter admin and 2 coordinators per chapter, the rest peer mentors, every tenth
  mentor in a second chapter), coordinator assignments for 98 % of mentor memberships;
* 10,000 certificates with expiry dates spread over +/- 1 year (the database's trigger
  creates the 10,000 ``certification_expiry_tracking`` rows), tiers already sent marked
  on 90 % of them, and a directory listing per certified mentor;
* 50,000 ``cert_notification_log`` rows, 1,000,000 ``scenario_notifications`` over all
  100,000 people, 200,000 ``follow_up_notification_log`` rows;

then ``VACUUM ANALYZE``. ``--scale 0.01`` is a CI-sized smoke run. Everything is written
in one transaction: a failure leaves the database as it was.

Usage::

    uv run python bench/generate.py --database-url postgresql://postgres@127.0.0.1/bench
    uv run python bench/generate.py --database-url ... --scale 0.01 --reset
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import psycopg

# Tables this generator fills, children first (for the emptiness check and --reset).
PROJECT_TABLES: tuple[str, ...] = (
    "public.follow_up_notification_log",
    "public.scenario_notifications",
    "public.scenario_rules",
    "public.activities",
    "public.push_deliveries",
    "public.push_notices",
    "public.push_budget_days",
    "public.notifications",
    "public.device_tokens",
    "public.mentor_directory",
    "public.cert_notification_log",
    "public.certification_expiry_tracking",
    "public.peer_mentor_certifications",
    "public.coordinator_assignments",
    "public.chapter_memberships",
    "public.users",
    "public.chapters",
    "public.organizations",
    "auth.users",
)

REQUIRED_TABLES: tuple[str, ...] = (
    "public.organizations",
    "public.certification_expiry_tracking",
    "public.cert_notification_log",
    "public.scenario_notifications",
    "public.follow_up_notification_log",
    "public.mentor_directory",
)


@dataclass(frozen=True)
class Sizes:
    """How much to generate. ``chapters`` is a multiple of ``organizations``."""

    seed: int
    organizations: int
    chapters: int
    coordinators_per_chapter: int
    users: int
    certificates: int
    cert_log: int
    scenario_notifications: int
    follow_up_log: int

    @property
    def staff(self) -> int:
        """People 1..staff are chapter admins and coordinators."""
        return self.chapters * (self.coordinators_per_chapter + 1)

    @property
    def mentors(self) -> int:
        return self.users - self.staff


def scaled(value: int, scale: float, minimum: int) -> int:
    return max(minimum, round(value * scale))


def sizes_from_args(args: argparse.Namespace) -> Sizes:
    scale: float = args.scale
    organizations: int = args.organizations
    chapters = args.chapters if args.chapters is not None else scaled(300, scale, 2 * organizations)
    # Whole number of chapters per organisation, at least two (second-chapter members).
    chapters = max(2 * organizations, chapters - chapters % organizations)
    sizes = Sizes(
        seed=args.seed,
        organizations=organizations,
        chapters=chapters,
        coordinators_per_chapter=args.coordinators_per_chapter,
        users=args.users if args.users is not None else scaled(100_000, scale, 200),
        certificates=(
            args.certificates if args.certificates is not None else scaled(10_000, scale, 50)
        ),
        cert_log=args.cert_log if args.cert_log is not None else scaled(50_000, scale, 100),
        scenario_notifications=(
            args.scenario_notifications
            if args.scenario_notifications is not None
            else scaled(1_000_000, scale, 1_000)
        ),
        follow_up_log=(
            args.follow_up_log if args.follow_up_log is not None else scaled(200_000, scale, 100)
        ),
    )
    if sizes.mentors < 1:
        raise SystemExit(
            f"--users {sizes.users} leaves no peer mentors after {sizes.staff} staff "
            f"({sizes.chapters} chapters x {sizes.coordinators_per_chapter + 1}); raise --users"
        )
    if sizes.certificates > sizes.mentors:
        raise SystemExit(
            f"--certificates {sizes.certificates} exceeds the {sizes.mentors} peer mentors "
            "(one certificate per mentor)"
        )
    return sizes


def h(expr: str, salt: str, seed: int) -> str:
    """SQL for a deterministic pseudo-random non-negative int (28 bits) from ``expr``."""
    return f"(('x' || substr(md5('{seed}:{salt}:' || ({expr})::text), 1, 7))::bit(28)::int)"


def uid(kind: str, expr: str, seed: int) -> str:
    """SQL for a deterministic UUID for row ``expr`` of kind ``kind``."""
    return f"(md5('bench:{seed}:{kind}:' || ({expr})::text)::uuid)"


def sha256_hex(expr: str) -> str:
    return f"encode(sha256(convert_to({expr}, 'UTF8')), 'hex')"


def build_steps(s: Sizes) -> list[tuple[str, str]]:
    """The generation statements, in order, as (label, SQL)."""
    seed = s.seed
    k1 = s.coordinators_per_chapter + 1
    o_n = s.organizations
    steps: list[tuple[str, str]] = []

    # Working tables (dropped at commit): the arithmetic layout of organisations,
    # chapters and people, so every later statement is a join rather than a formula.
    steps.append(
        (
            "layout",
            f"""
create temp table bench_org on commit drop as
select i as org,
       {uid("org", "i", seed)} as id,
       (array['hlf_peer_mentor', 'nhf_peer_mentor', 'blindeforbundet_peer_mentor'])[1 + i % 3]
         as certificate_type
from generate_series(0, {o_n - 1}) as i;

create temp table bench_chapter on commit drop as
select c as chapter, {uid("chapter", "c", seed)} as id, c % {o_n} as org,
       {uid("org", f"c % {o_n}", seed)} as organization_id
from generate_series(0, {s.chapters - 1}) as c;
alter table bench_chapter add primary key (chapter);

-- People 1..staff: per chapter one chapter admin then the coordinators; the
-- rest are peer mentors, chapter (m - 1) % chapters, every tenth also in a second
-- chapter of the same organisation.
create temp table bench_user on commit drop as
select u, {uid("user", "u", seed)} as id,
       case when u > {s.staff} then 'peer_mentor'
            when (u - 1) % {k1} = 0 then 'chapter_admin'
            else 'coordinator' end as role,
       case when u > {s.staff} then (u - {s.staff} - 1) % {s.chapters}
            else (u - 1) / {k1} end as chapter,
       case when u > {s.staff} and (u - {s.staff}) % 10 = 0
            then ((u - {s.staff} - 1) % {s.chapters} + {o_n}) % {s.chapters} end as extra_chapter,
       u - {s.staff} as m
from generate_series(1, {s.users}) as u;
alter table bench_user add primary key (u);
create index on bench_user (m);
analyze bench_org;
analyze bench_chapter;
analyze bench_user;
""",
        )
    )

    steps.append(
        (
            "organizations, chapters",
            """
insert into public.organizations (id, slug, name, timezone, expiry_thresholds, certificate_type)
select o.id,
       case o.org when 0 then 'hlf' when 1 then 'nhf' when 2 then 'blindeforbundet'
                  else 'org' || o.org end,
       case o.org when 0 then 'Hørselshemmedes Landsforbund' when 1 then 'Norges Handikapforbund'
                  when 2 then 'Norges Blindeforbund' else 'Organisasjon ' || o.org end,
       'Europe/Oslo',
       case when o.org % 3 = 1 then '{90,30,7}'::integer[] else '{60,30,7}'::integer[] end,
       o.certificate_type
from bench_org o;

insert into public.chapters (id, organization_id, name)
select c.id, c.organization_id, 'Lokallag ' || c.chapter from bench_chapter c;
""",
        )
    )

    steps.append(
        (
            "people",
            """
insert into auth.users (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data,
                        created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', u.id, 'authenticated', 'authenticated',
       'bench.person.' || u.u || '@example.org', '{"provider": "email"}', '{}',
       current_date - interval '2 years', current_date - interval '2 years'
from bench_user u;

insert into public.users (id, display_name, email, phone, locale, created_at)
select u.id, 'Testperson ' || u.u, 'bench.person.' || u.u || '@example.org',
       '+474' || lpad((u.u % 10000000)::text, 7, '0'),
       case when u.u % 20 = 0 then 'en' else 'nb' end, current_date - interval '2 years'
from bench_user u;
""",
        )
    )

    steps.append(
        (
            "memberships, coordinator assignments",
            f"""
insert into public.chapter_memberships (id, organization_id, chapter_id, user_id, role)
select {uid("membership", "u.u || ':' || c.chapter", seed)}, c.organization_id, c.id, u.id, u.role
from bench_user u
join bench_chapter c on c.chapter = u.chapter
union all
select {uid("membership", "u.u || ':' || c.chapter", seed)}, c.organization_id, c.id, u.id, u.role
from bench_user u
join bench_chapter c on c.chapter = u.extra_chapter;

-- Coordinator (m mod coordinators) of each chapter; every fiftieth mentor has none
-- (the coordinator fallback).
insert into public.coordinator_assignments
  (id, organization_id, chapter_id, coordinator_id, peer_mentor_id)
select {uid("assignment", "u.u || ':' || c.chapter", seed)}, c.organization_id, c.id,
       {uid("user", f"c.chapter * {k1} + 2 + u.m % {s.coordinators_per_chapter}", seed)}, u.id
from bench_user u
join bench_chapter c on c.chapter in (u.chapter, u.extra_chapter)
where u.role = 'peer_mentor' and u.m % 50 <> 0;
""",
        )
    )

    exp = f"(current_date + {h('u.m', 'expiry', seed)} % 731 - 365)"
    steps.append(
        (
            "certificates (+ tracking rows by trigger)",
            f"""
-- The first `certificates` mentors hold one certificate each, expiring within a
-- year either side of today; a fifth of them renewed once (schema_version 1).
insert into public.peer_mentor_certifications
  (id, organization_id, peer_mentor_id, certificate_type, issued_on, expiry_date, renewal_history)
select {uid("certificate", "u.m", seed)}, o.id, u.id, o.certificate_type,
       {exp} - 730, {exp},
       case when u.m % 5 = 0 then jsonb_build_array(jsonb_build_object(
              'schema_version', 1,
              'renewed_at', ({exp} - 760)::timestamp at time zone 'Europe/Oslo',
              'previous_expiry_date', {exp} - 730,
              'new_expiry_date', {exp}))
            else '[]'::jsonb end
from bench_user u
join bench_chapter c on c.chapter = u.chapter
join bench_org o on o.org = c.org
where u.role = 'peer_mentor' and u.m <= {s.certificates};

-- The sweep has already sent the tiers each certificate has passed (90 %: the
-- rest are due, as on a morning before the sweep).
update public.certification_expiry_tracking t
set notification_thresholds_sent = sent.tiers, last_notified_at = current_date - interval '18 hours'
from (
  select t2.id,
         array(select x from unnest(o.expiry_thresholds || 0) as x
               where (x > 0 and t2.expiry_date - current_date <= x)
                  or (x = 0 and t2.expiry_date < current_date)
               order by x desc) as tiers
  from public.certification_expiry_tracking t2
  join public.organizations o on o.id = t2.organization_id
) sent
where sent.id = t.id and cardinality(sent.tiers) > 0
  and {h("t.certification_id", "lag", seed)} % 10 <> 0;

-- A directory listing per certified mentor (dates filled by trigger); those
-- lapsed before yesterday were hidden by an earlier sweep.
insert into public.mentor_directory
  (id, organization_id, chapter_id, peer_mentor_id, display_name,
   suppression_status, suppression_reason, suppressed_at)
select {uid("listing", "u.u", seed)}, c.organization_id, c.id, u.id, 'Testperson ' || u.u,
       case when {exp} < current_date - 1 then 'suppressed' else 'active' end,
       case when {exp} < current_date - 1 then 'certification_lapsed' end,
       case when {exp} < current_date - 1 then ({exp} + 1)::timestamptz end
from bench_user u
join bench_chapter c on c.chapter = u.chapter
where u.role = 'peer_mentor' and u.m <= {s.certificates};
""",
        )
    )

    steps.append(
        (
            "scenario rules",
            f"""
insert into public.scenario_rules
  (id, organization_id, chapter_id, scenario_type, parameters, cooldown, messages)
select {uid("rule", "o.org || ':' || r.scenario_type", seed)}, o.id, null, r.scenario_type,
       r.parameters, r.cooldown, jsonb_build_object('nb', r.message_key, 'en', r.message_key)
from bench_org o
cross join (values
  ('inactivity', '{{"inactivity_days": 60}}'::jsonb, interval '30 days',
   'scenario.inactivity.nudge'),
  ('milestone', '{{"milestones": [10, 25, 50, 100]}}'::jsonb, interval '1 day',
   'scenario.milestone.reached'),
  ('certification_expiry', '{{"tier": "expiry_warning_30d"}}'::jsonb, interval '7 days',
   'scenario.certification_expiry.reminder'),
  ('welcome_back', '{{"inactive_days_before_return": 60}}'::jsonb, interval '30 days',
   'scenario.welcome_back.greeting')
) as r (scenario_type, parameters, cooldown, message_key);

-- Every tenth chapter overrides the inactivity rule.
insert into public.scenario_rules
  (id, organization_id, chapter_id, scenario_type, parameters, cooldown, messages)
select {uid("chapter-rule", "c.chapter", seed)}, c.organization_id, c.id, 'inactivity',
       '{{"inactivity_days": 45}}', interval '21 days',
       '{{"nb": "scenario.inactivity.nudge", "en": "scenario.inactivity.nudge"}}'
from bench_chapter c
where c.chapter % 10 = 0;
""",
        )
    )

    # cert_notification_log row i: certificate i mod N, tier (i div N) mod 4 of the
    # organisation's three thresholds plus expired, expiry cycle i div 4N (older
    # cycles are two years earlier), so (certificate, tier, cycle) never repeats.
    n_cert = s.certificates
    cert_log_key = sha256_hex(
        "concat_ws('|', cert.id, tier.notification_type, cert.expiry_date - 730 * g.cycle, "
        "recipient.id)"
    )
    steps.append(
        (
            "cert_notification_log",
            f"""
insert into public.cert_notification_log
  (id, certification_id, notification_type, sent_at, recipient_id, idempotency_key,
   organization_id)
select {uid("cert-log", "g.i", seed)}, cert.id, tier.notification_type,
       least(current_date - interval '1 minute',
             ((cert.expiry_date - 730 * g.cycle - tier.days)::timestamp + time '06:00')
               at time zone 'Europe/Oslo'),
       recipient.id,
       {cert_log_key},
       cert.organization_id
from (
  select i, i % {n_cert} + 1 as m, (i / {n_cert}) % 4 as tier_no, i / ({n_cert} * 4) as cycle
  from generate_series(0, {s.cert_log - 1}) as i
) g
join bench_user u on u.m = g.m
join public.peer_mentor_certifications cert on cert.id = {uid("certificate", "g.m", seed)}
join public.organizations o on o.id = cert.organization_id
cross join lateral (
  select case when g.tier_no = 3 then 'expired'
              else 'expiry_warning_' || o.expiry_thresholds[g.tier_no + 1] || 'd' end
           as notification_type,
         case when g.tier_no = 3 then -1 else o.expiry_thresholds[g.tier_no + 1] end as days
) tier
-- two notices in three go to the mentor, the third to the chapter's first coordinator
cross join lateral (
  select case when {h("g.i", "recipient", seed)} % 3 = 2
              then {uid("user", f"u.chapter * {k1} + 2", seed)} else u.id end as id
) recipient;
""",
        )
    )

    steps.append(
        (
            "scenario_notifications",
            f"""
insert into public.scenario_notifications
  (id, user_id, organization_id, scenario_type, triggered_at, delivery_status,
   milestone_value, metadata)
select {uid("scenario", "g.i", seed)}, u.id, c.organization_id, g.scenario_type,
       current_date - make_interval(secs => 1 + g.r2 % (365 * 86400)),
       case when g.r1 % 20 = 0 then 'failed' when g.r1 % 10 = 1 then 'pending' else 'sent' end,
       case when g.scenario_type = 'milestone'
            then (array[10, 25, 50, 100])[1 + g.r1 % 4] end,
       jsonb_build_object('rule_id', {uid("rule", "c.org || ':' || g.scenario_type", seed)})
from (
  select i, r1, r2,
         1 + {h("i", "user", seed)} % {s.users} as u,
         case when r1 % 100 < 40 then 'inactivity' when r1 % 100 < 60 then 'milestone'
              when r1 % 100 < 85 then 'certification_expiry' else 'welcome_back' end
           as scenario_type
  from (
    select i, {h("i", "kind", seed)} as r1, {h("i", "when", seed)} as r2
    from generate_series(1, {s.scenario_notifications}) as i
    offset 0  -- fence: compute each hash once, not once per reference
  ) raw
  offset 0
) g
join bench_user u on u.u = g.u
join bench_chapter c on c.chapter = u.chapter
-- in index order: far fewer random index page writes than id order
order by u.id, g.scenario_type;
""",
        )
    )

    steps.append(
        (
            "follow_up_notification_log",
            f"""
insert into public.follow_up_notification_log
  (log_id, peer_mentor_id, chapter_id, scenario_rule_id, delivered_at, delivery_channel,
   idempotency_key, status, organization_id, failure_reason)
select {uid("follow-up", "g.i", seed)}, u.id, c.id,
       case when g.scenario_type = 'inactivity' and c.chapter % 10 = 0
            then {uid("chapter-rule", "c.chapter", seed)}
            else {uid("rule", "c.org || ':' || g.scenario_type", seed)} end,
       g.delivered_at,
       case when g.r1 % 10 < 7 then 'fcm' else 'apns' end,
       {sha256_hex("concat_ws(':', u.id, g.scenario_type, g.delivered_at::date, g.i)")},
       case when g.r1 % 100 < 90 then 'delivered' when g.r1 % 100 < 97 then 'failed'
            else 'skipped' end,
       c.organization_id,
       case when g.r1 % 100 between 90 and 96
            then (array['UNREGISTERED', 'UNAVAILABLE', 'BadDeviceToken'])[1 + g.r1 % 3] end
from (
  select i, r1,
         1 + {h("i", "mentor", seed)} % {s.mentors} as m,
         current_date - make_interval(secs => 1 + {h("i", "delivered", seed)} % (365 * 86400))
           as delivered_at,
         (array['inactivity', 'milestone', 'certification_expiry', 'welcome_back'])[1 + r1 % 4]
           as scenario_type
  from (
    select i, {h("i", "status", seed)} as r1
    from generate_series(1, {s.follow_up_log}) as i
    offset 0  -- fence: compute each hash once, not once per reference
  ) raw
  offset 0
) g
join bench_user u on u.m = g.m
join bench_chapter c
  on c.chapter = case when g.i % 2 = 0 and u.extra_chapter is not null
                      then u.extra_chapter else u.chapter end
order by u.id;
""",
        )
    )
    return steps


def check_target(conn: psycopg.Connection, reset: bool, allow_supabase: bool) -> None:
    """Refuse unsuitable targets: unmigrated, hosted Supabase, or holding data."""
    missing = [
        t
        for t in REQUIRED_TABLES
        if conn.execute("select to_regclass(%s)", [t]).fetchone() == (None,)
    ]
    if missing:
        raise SystemExit(
            "The schema is not there (missing "
            + ", ".join(missing)
            + "). Migrate first: uv run mentor-notify --database-url URL db migrate"
        )
    looks_hosted = conn.execute(
        "select to_regclass('auth.identities') is not null"
        " or exists (select from pg_namespace where nspname = 'storage')"
    ).fetchone()
    if looks_hosted and looks_hosted[0] and not allow_supabase:
        raise SystemExit(
            "This looks like a Supabase project (auth.identities / storage exist). "
            "The generator writes 1.3 million fake rows; point it at a scratch database, "
            "or pass --allow-supabase if this really is a throw-away project."
        )
    holding = [
        t
        for t in PROJECT_TABLES
        if conn.execute(f"select exists (select from {t})").fetchone() == (True,)
    ]
    if holding and not reset:
        raise SystemExit(
            "Refusing to generate into a database that holds data (rows in "
            + ", ".join(holding)
            + "). Use an empty database, or pass --reset to delete ALL rows of the project "
            "tables and auth.users first."
        )


def reset_tables(conn: psycopg.Connection) -> None:
    conn.execute("truncate " + ", ".join(PROJECT_TABLES) + " cascade")


def generate(database_url: str, sizes: Sizes, reset: bool, allow_supabase: bool) -> None:
    started = time.perf_counter()
    print("generating:", ", ".join(f"{k}={v}" for k, v in asdict(sizes).items()), flush=True)
    with psycopg.connect(database_url, autocommit=True) as conn:
        check_target(conn, reset, allow_supabase)
        with conn.transaction():
            if reset:
                reset_tables(conn)
                print("  reset: project tables and auth.users emptied", flush=True)
            conn.execute("set local synchronous_commit = off")
            conn.execute("set local work_mem = '64MB'")
            for label, statement in build_steps(sizes):
                t0 = time.perf_counter()
                conn.execute(statement)
                print(f"  {label}: {time.perf_counter() - t0:.1f} s", flush=True)
    # VACUUM cannot run inside a transaction; it also sets the visibility map so
    # index-only scans skip the heap, as autovacuum would in production.
    t0 = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as conn:
        for table in PROJECT_TABLES:
            conn.execute(f"vacuum (analyze) {table}")
        counts = {
            t: conn.execute(f"select count(*) from {t}").fetchone()
            for t in (
                "auth.users",
                "public.chapters",
                "public.chapter_memberships",
                "public.coordinator_assignments",
                "public.peer_mentor_certifications",
                "public.certification_expiry_tracking",
                "public.mentor_directory",
                "public.cert_notification_log",
                "public.scenario_notifications",
                "public.follow_up_notification_log",
            )
        }
    print(f"  vacuum analyze: {time.perf_counter() - t0:.1f} s", flush=True)
    for table, row in counts.items():
        print(f"  {table:40} {row[0] if row else 0:>10,}")
    print(f"done in {time.perf_counter() - started:.1f} s")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True, help="target database (migrated)")
    parser.add_argument(
        "--reset",
        action="store_true",
        help="delete all rows of the project tables and auth.users before generating",
    )
    parser.add_argument(
        "--allow-supabase",
        action="store_true",
        help="allow a target that looks like a hosted Supabase project",
    )
    parser.add_argument("--seed", type=int, default=1, help="salt of all derived values")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply the default volume (0.01 for a CI smoke run)",
    )
    parser.add_argument("--organizations", type=int, default=3)
    parser.add_argument("--chapters", type=int, help="default 300 x scale")
    parser.add_argument("--coordinators-per-chapter", type=int, default=2)
    parser.add_argument("--users", type=int, help="people; default 100,000 x scale")
    parser.add_argument("--certificates", type=int, help="default 10,000 x scale")
    parser.add_argument("--cert-log", type=int, help="cert_notification_log rows; 50,000 x scale")
    parser.add_argument("--scenario-notifications", type=int, help="default 1,000,000 x scale")
    parser.add_argument(
        "--follow-up-log", type=int, help="follow_up_notification_log rows; 200,000 x scale"
    )
    args = parser.parse_args(argv)
    if args.organizations < 1 or args.coordinators_per_chapter < 1 or args.scale <= 0:
        parser.error("--organizations and --coordinators-per-chapter must be >= 1, --scale > 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    generate(args.database_url, sizes_from_args(args), args.reset, args.allow_supabase)
    return 0


if __name__ == "__main__":
    sys.exit(main())
