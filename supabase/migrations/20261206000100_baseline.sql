-- pgls-ignore-all lint/safety/avoidCreateTrigger: on a new database the tables these
-- triggers are added to were created empty just before, so the SHARE ROW EXCLUSIVE
-- lock a trigger takes blocks nothing. Triggers are how this project keeps an
-- invariant between tables (a row and the state derived from it) that no writer
-- may forget; workflows, by contrast, are explicit statements of the jobs.

-- Baseline: the whole schema, as supabase/schemas/ declares it (issue 26).
--
-- This file is the schema files 01..09 of supabase/schemas/, in their order,
-- each under a banner naming it. Read the schema there, one file per area;
-- this file only exists so that a database (and `supabase db push`) can be
-- brought to it. It replaces the unreleased migrations 20261129000010..
-- 20261129000800, which created some objects only to drop them later
-- (push_outbox) and restated others; none of them was ever released. A
-- database that ran them adopts this baseline without running it
-- (src/mentor_notify/db/migrations.py); `scripts/schema-diff` compares the
-- two, and tests/integration/test_schema_files.py holds this file and the
-- schema files to the same catalog.
--
-- From here on, each change is a new migration and the same change to the
-- object's definition in supabase/schemas/.
--
-- Idempotent: tables and indexes "if not exists", functions and triggers
-- "create or replace", policies, views and added constraints dropped "if
-- exists" first; applying it twice changes nothing
-- (tests/integration/test_migrations_reapply.py).

-- ==========================================================================
-- supabase/schemas/01_organisations_and_people.sql
-- ==========================================================================

-- Organisations, chapters, people and their roles, the tenancy every
-- notification table hangs from; each organisation's notification settings
-- (expiry thresholds, push send window, daily push budget); the private schema
-- with the validators and row-level-security helpers; the API roles' default
-- privileges.

-- Helpers used by row-level security live outside the API-exposed schemas so
-- PostgREST never publishes them as RPC endpoints.
create schema if not exists private;
comment on schema private is
  'mentor-notify internals: row-level-security helpers and trigger functions, never exposed through the API.';
-- anon calls nothing in private: its only policy compares a column with now().
grant usage on schema private to authenticated, service_role;

-- Explicit, least-privilege grants for the API roles. Supabase no longer
-- grants the API roles anything on new tables in public. New projects since
-- 2026-05-30, and every project for tables created since 2026-10-30, start
-- with no privileges for anon, authenticated and service_role (Supabase
-- changelog, 2026-04-28, "New tables in the public schema will no longer be
-- exposed to the Data API automatically"; checked 2026-11-29). Without the
-- grants each table below makes, the app gets 42501 on every table
-- and row-level security is never reached. The old defaults were also too
-- broad (TRUNCATE and TRIGGER for anon), so every table first has every API
-- role privilege taken away and then gets exactly what is needed; that works
-- the same on any project, old or new, with no project setting to toggle.
--   authenticated  reads what RLS lets a signed-in person see; writes only
--                  their devices, their push choices, their own activities,
--                  their name and language, and the seen/read/archived marks
--                  of their notifications;
--   anon           the public mentor listing's columns, without any
--                  certificate date;
--   service_role   select, insert, update and delete on every table (it
--                  bypasses RLS; trusted server-side code on the Data API).
-- Nobody but the owner gets TRUNCATE, TRIGGER or REFERENCES.
--
-- Future objects start closed to the API roles too, on a project that still
-- has the old defaults. Default privileges are per creating role; the
-- migrations run as the database owner (postgres on Supabase). EXECUTE for
-- PUBLIC on new functions is PostgreSQL's own global default and stays: taking
-- it away from the owner role would also close the functions of every
-- extension that role installs later. Each function here revokes it itself,
-- and the pgTAP suite fails if anon can execute anything in an exposed schema.
do $$
begin
  execute format(
    'alter default privileges for role %I in schema public, private '
    'revoke all on tables from anon, authenticated, service_role', current_user);
  execute format(
    'alter default privileges for role %I in schema public, private '
    'revoke all on sequences from anon, authenticated, service_role', current_user);
  execute format(
    'alter default privileges for role %I in schema public, private '
    'revoke all on functions from anon, authenticated, service_role', current_user);
end
$$;

-- Certificate types are codes, never names; a CHECK keeps the set closed
-- (ticket 000 prefers a CHECK to a lookup table at this stage).
-- No SET clause, so the planner inlines it into every CHECK that calls it: it
-- runs for every notice and tier mark the expiry sweep writes, and a call
-- with its own search_path costs 5-7 us a row (migration 20261206000200).
-- Its body names no object and compares text with text, so it needs no
-- pinned search_path.
create or replace function private.is_known_certificate_type(certificate_type text)
returns boolean
language sql
immutable
as $$
  select certificate_type in ('hlf_peer_mentor', 'nhf_peer_mentor', 'blindeforbundet_peer_mentor')
$$;
comment on function private.is_known_certificate_type(text) is
  'True for the certificate type codes the programmes issue; shared by every table that stores a certificate_type. Inlined (no SET clause; see migration 20261206000200).';

-- A timezone name is valid when PostgreSQL can convert a time into it. The
-- zone database does not change under a running server, so immutable is safe
-- enough for a CHECK.
create or replace function private.is_valid_timezone(tz text)
returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  perform pg_catalog.now() at time zone tz;
  return true;
exception when invalid_parameter_value then
  return false;
end
$$;
comment on function private.is_valid_timezone(text) is
  'True when tz is an IANA timezone name PostgreSQL knows, such as Europe/Oslo.';

-- Thresholds are chosen per organisation from {90, 60, 30, 7} (the tickets
-- named 60/30/7 in one place and 90/30/7 in another, so each organisation
-- picks its own; 60/30/7 by default); lapsed is always notified and needs no
-- threshold.
create or replace function private.is_valid_expiry_thresholds(thresholds integer[])
returns boolean
language sql
immutable
set search_path = ''
as $$
  select thresholds is not null
    and pg_catalog.cardinality(thresholds) between 1 and 4
    and thresholds operator(pg_catalog.<@) '{90,60,30,7}'::integer[]
    and pg_catalog.cardinality(thresholds)
      = (select count(distinct t) from pg_catalog.unnest(thresholds) as t)
$$;
comment on function private.is_valid_expiry_thresholds(integer[]) is
  'True when thresholds holds 1-4 distinct values from 90, 60, 30 and 7 days.';

-- Validators behind CHECK constraints run with the privileges of whoever
-- writes the row (also when a person marks a notification read), so the roles
-- that write get EXECUTE; nobody else does.
revoke all on function private.is_known_certificate_type(text) from public;
revoke all on function private.is_valid_timezone(text) from public;
revoke all on function private.is_valid_expiry_thresholds(integer[]) from public;
grant execute on function private.is_known_certificate_type(text) to authenticated, service_role;
grant execute on function private.is_valid_timezone(text) to authenticated, service_role;
grant execute on function private.is_valid_expiry_thresholds(integer[]) to authenticated, service_role;

-- pgls-ignore lint/safety/preferBigInt: expiry_thresholds holds days (7-90), never near 2^31; widening it would change the schema the code reads.
-- pgls-ignore lint/safety/preferBigintOverInt: expiry_thresholds holds days (7-90), never near 2^31; widening it would change the schema the code reads.
-- pgls-ignore lint/safety/preferBigintOverSmallint: push_daily_budget is 1-50 pushes (CHECK below).
create table if not exists public.organizations (
  id uuid primary key default gen_random_uuid(),
  slug text not null,
  name text not null,
  timezone text not null default 'Europe/Oslo',
  expiry_thresholds integer[] not null default '{60,30,7}',
  certificate_type text not null,
  created_at timestamptz not null default now(),
  -- Issue 5: pushes are held until the recipient's local send window opens
  -- (the organisation's, or the person's own in push_preferences); the tiers
  -- named in push_immediate_tiers go out at once.
  push_window_start time not null default '08:00',
  push_window_end time not null default '21:00',
  push_immediate_tiers text[] not null default '{}',
  push_daily_budget smallint not null default 1,
  constraint organizations_slug_key unique (slug),
  constraint organizations_slug_check check (slug ~ '^[a-z][a-z0-9_-]{1,39}$'),
  constraint organizations_name_check check (length(btrim(name)) between 1 and 200),
  constraint organizations_timezone_check check (private.is_valid_timezone(timezone)),
  constraint organizations_expiry_thresholds_check check (private.is_valid_expiry_thresholds(expiry_thresholds)),
  constraint organizations_certificate_type_check check (private.is_known_certificate_type(certificate_type)),
  constraint organizations_push_immediate_tiers_check check (
    push_immediate_tiers <@ array['expiry_warning_90d', 'expiry_warning_60d', 'expiry_warning_30d',
                                  'expiry_warning_7d', 'expired']::text[]
  ),
  constraint organizations_push_daily_budget_check check (push_daily_budget between 1 and 50)
);
comment on table public.organizations is
  'A patient or disability organisation (HLF, NHF, Blindeforbundet) running a peer-mentor programme; the tenant every other row belongs to.';
comment on column public.organizations.id is 'Stable identifier of the organisation; the future sharding key on every per-organisation table.';
comment on column public.organizations.slug is 'Short lowercase code used in URLs, configuration and logs (e.g. hlf).';
comment on column public.organizations.name is 'Display name of the organisation.';
comment on column public.organizations.timezone is 'IANA timezone that defines "today" for the organisation''s mentors (expiry tiers, send windows); Europe/Oslo by default.';
comment on column public.organizations.expiry_thresholds is 'Days before expiry at which mentors are warned, chosen from 90/60/30/7; lapsed certificates are always notified. Default 60/30/7.';
comment on column public.organizations.certificate_type is 'The certificate type code this organisation issues to its peer mentors.';
comment on column public.organizations.created_at is 'When the organisation was registered.';
comment on column public.organizations.push_window_start is
  'Local time (in the organisation''s timezone) from which pushes may be sent; pushes due earlier are held until then.';
comment on column public.organizations.push_window_end is
  'Local time at which the send window closes; a window ending before it starts spans midnight, equal start and end mean no window.';
comment on column public.organizations.push_immediate_tiers is
  'Expiry tiers sent at once whatever the time, e.g. {expiry_warning_7d,expired}; empty: every push waits for the window.';
comment on column public.organizations.push_daily_budget is
  'Pushes a person gets at most per organisation-local day (default 1); what is due beyond it is held to the next day and folded into that push (a digest). Tiers in push_immediate_tiers go at once and count.';
comment on constraint organizations_slug_key on public.organizations is 'two organisations cannot share a slug';
comment on constraint organizations_slug_check on public.organizations is 'the slug must be 2-40 lowercase letters, digits, - or _, starting with a letter';
comment on constraint organizations_name_check on public.organizations is 'the name must be 1-200 characters and not blank';
comment on constraint organizations_timezone_check on public.organizations is 'the timezone must be an IANA timezone name such as Europe/Oslo';
comment on constraint organizations_expiry_thresholds_check on public.organizations is 'expiry thresholds must be 1-4 distinct values from 90, 60, 30 and 7 days';
comment on constraint organizations_certificate_type_check on public.organizations is 'the certificate type must be one of hlf_peer_mentor, nhf_peer_mentor, blindeforbundet_peer_mentor';
comment on constraint organizations_push_immediate_tiers_check on public.organizations is
  'immediate tiers must be among expiry_warning_90d, expiry_warning_60d, expiry_warning_30d, expiry_warning_7d, expired';
comment on constraint organizations_push_daily_budget_check on public.organizations is
  'the daily push budget must be between 1 and 50 pushes per person';

create table if not exists public.chapters (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  name text not null,
  created_at timestamptz not null default now(),
  -- Lets child tables reference (organization_id, id) so a row can never
  -- claim one organisation while pointing at another's chapter.
  constraint chapters_organization_id_id_key unique (organization_id, id),
  constraint chapters_organization_id_name_key unique (organization_id, name),
  constraint chapters_name_check check (length(btrim(name)) between 1 and 200)
);
comment on table public.chapters is 'A local chapter (lokallag) of an organisation; coordinators are responsible for the mentors of their chapters.';
comment on column public.chapters.id is 'Stable identifier of the chapter.';
comment on column public.chapters.organization_id is 'The organisation the chapter belongs to.';
comment on column public.chapters.name is 'Display name of the chapter (e.g. HLF Oslo).';
comment on column public.chapters.created_at is 'When the chapter was registered.';
comment on constraint chapters_organization_id_name_key on public.chapters is 'an organisation cannot have two chapters with the same name';
comment on constraint chapters_name_check on public.chapters is 'the chapter name must be 1-200 characters and not blank';
comment on constraint chapters_organization_id_id_key on public.chapters is 'a chapter belongs to exactly one organisation';

-- The profile of a person. Person data (name, e-mail, phone) lives here and
-- only here: notification tables carry the UUID alone.
create table if not exists public.users (
  id uuid primary key references auth.users (id) on delete cascade,
  display_name text not null,
  email text,
  phone text,
  locale text not null default 'nb',
  created_at timestamptz not null default now(),
  constraint users_display_name_check check (length(btrim(display_name)) between 1 and 200),
  constraint users_locale_check check (locale in ('nb', 'en'))
);
comment on table public.users is 'Profile of a person using the app (mentor, coordinator or chapter admin), keyed by their Supabase auth identity. The only table holding names and contact details.';
comment on column public.users.id is 'The person''s auth.users id; deleting the auth user erases the profile and, by cascade, everything about them.';
comment on column public.users.display_name is 'Name shown in the app.';
comment on column public.users.email is 'Contact e-mail; never copied into notification tables or logs.';
comment on column public.users.phone is 'Contact phone number; never copied into notification tables or logs.';
comment on column public.users.locale is 'Language for notification texts: nb (Norwegian Bokmål) or en (English).';
comment on column public.users.created_at is 'When the profile was created.';
comment on constraint users_display_name_check on public.users is 'the display name must be 1-200 characters and not blank';
comment on constraint users_locale_check on public.users is 'the locale must be nb (Norwegian Bokmål) or en (English)';

create table if not exists public.chapter_memberships (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  chapter_id uuid not null,
  user_id uuid not null references public.users (id) on delete cascade,
  role text not null,
  created_at timestamptz not null default now(),
  constraint chapter_memberships_chapter_fkey foreign key (organization_id, chapter_id)
    references public.chapters (organization_id, id) on delete cascade,
  constraint chapter_memberships_chapter_id_user_id_role_key unique (chapter_id, user_id, role),
  constraint chapter_memberships_role_check check (role in ('peer_mentor', 'coordinator', 'chapter_admin'))
);
comment on table public.chapter_memberships is 'Who belongs to which chapter in which role; a person may hold several roles and belong to several chapters.';
comment on column public.chapter_memberships.id is 'Identifier of the membership.';
comment on column public.chapter_memberships.organization_id is 'Organisation of the chapter, repeated for tenant-scoped queries and sharding; must match the chapter''s.';
comment on column public.chapter_memberships.chapter_id is 'The chapter the person belongs to.';
comment on column public.chapter_memberships.user_id is 'The person.';
comment on column public.chapter_memberships.role is 'peer_mentor (a certified volunteer), coordinator (follows up the chapter''s mentors) or chapter_admin (runs the chapter; fallback recipient when no coordinator is assigned).';
comment on column public.chapter_memberships.created_at is 'When the person joined the chapter in this role.';
comment on constraint chapter_memberships_chapter_fkey on public.chapter_memberships is 'the chapter must exist and belong to the same organisation';
comment on constraint chapter_memberships_chapter_id_user_id_role_key on public.chapter_memberships is 'a person holds each role in a chapter at most once';
comment on constraint chapter_memberships_role_check on public.chapter_memberships is 'the role must be peer_mentor, coordinator or chapter_admin';
create index if not exists chapter_memberships_user_id_idx on public.chapter_memberships (user_id, role, chapter_id);
create index if not exists chapter_memberships_organization_id_chapter_id_idx on public.chapter_memberships (organization_id, chapter_id);

-- Which coordinator follows up which mentor in a chapter. The role columns
-- are constants so composite foreign keys prove, in the database, that the
-- coordinator really coordinates and the mentor really mentors in that chapter.
create table if not exists public.coordinator_assignments (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  chapter_id uuid not null,
  coordinator_id uuid not null,
  peer_mentor_id uuid not null,
  coordinator_role text not null generated always as ('coordinator') stored,
  peer_mentor_role text not null generated always as ('peer_mentor') stored,
  created_at timestamptz not null default now(),
  constraint coordinator_assignments_chapter_fkey foreign key (organization_id, chapter_id)
    references public.chapters (organization_id, id) on delete cascade,
  constraint coordinator_assignments_coordinator_fkey foreign key (chapter_id, coordinator_id, coordinator_role)
    references public.chapter_memberships (chapter_id, user_id, role) on delete cascade,
  constraint coordinator_assignments_peer_mentor_fkey foreign key (chapter_id, peer_mentor_id, peer_mentor_role)
    references public.chapter_memberships (chapter_id, user_id, role) on delete cascade,
  constraint coordinator_assignments_chapter_id_peer_mentor_id_key unique (chapter_id, peer_mentor_id),
  constraint coordinator_assignments_not_self_check check (coordinator_id <> peer_mentor_id)
);
comment on table public.coordinator_assignments is 'The coordinator responsible for a mentor within a chapter; the first recipient of coordinator-side notices about that mentor.';
comment on column public.coordinator_assignments.id is 'Identifier of the assignment.';
comment on column public.coordinator_assignments.organization_id is 'Organisation of the chapter; must match the chapter''s.';
comment on column public.coordinator_assignments.chapter_id is 'Chapter in which the assignment holds.';
comment on column public.coordinator_assignments.coordinator_id is 'The coordinator; must hold the coordinator role in the chapter.';
comment on column public.coordinator_assignments.peer_mentor_id is 'The mentor followed up; must hold the peer_mentor role in the chapter.';
comment on column public.coordinator_assignments.coordinator_role is 'Always coordinator; exists so the foreign key can require that role.';
comment on column public.coordinator_assignments.peer_mentor_role is 'Always peer_mentor; exists so the foreign key can require that role.';
comment on column public.coordinator_assignments.created_at is 'When the assignment was made.';
comment on constraint coordinator_assignments_chapter_fkey on public.coordinator_assignments is 'the chapter must exist and belong to the same organisation';
comment on constraint coordinator_assignments_coordinator_fkey on public.coordinator_assignments is 'the coordinator must hold the coordinator role in the chapter';
comment on constraint coordinator_assignments_peer_mentor_fkey on public.coordinator_assignments is 'the mentor must hold the peer_mentor role in the chapter';
comment on constraint coordinator_assignments_chapter_id_peer_mentor_id_key on public.coordinator_assignments is 'a mentor has at most one assigned coordinator per chapter';
comment on constraint coordinator_assignments_not_self_check on public.coordinator_assignments is 'a person cannot coordinate themselves';
create index if not exists coordinator_assignments_coordinator_idx on public.coordinator_assignments (chapter_id, coordinator_id, coordinator_role);
create index if not exists coordinator_assignments_coordinator_id_idx on public.coordinator_assignments (coordinator_id);
create index if not exists coordinator_assignments_peer_mentor_idx on public.coordinator_assignments (peer_mentor_id);
create index if not exists coordinator_assignments_organization_id_chapter_id_idx on public.coordinator_assignments (organization_id, chapter_id);
create index if not exists coordinator_assignments_chapter_mentor_role_idx on public.coordinator_assignments (chapter_id, peer_mentor_id, peer_mentor_role);

-- Row-level-security helpers. SECURITY DEFINER so that reading memberships
-- inside a policy does not recurse into chapter_memberships' own policies;
-- search_path is pinned and every name qualified. Policies call them as
-- (select ...) so they run once per statement, not once per row.
create or replace function private.led_chapter_ids()
returns uuid[]
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(array_agg(distinct m.chapter_id), '{}')
  from public.chapter_memberships m
  where m.user_id = (select auth.uid())
    and m.role in ('coordinator', 'chapter_admin')
$$;
comment on function private.led_chapter_ids() is
  'Chapters in which the current user is coordinator or chapter admin: the chapters whose mentors they may follow up.';

create or replace function private.member_chapter_ids()
returns uuid[]
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(array_agg(distinct m.chapter_id), '{}')
  from public.chapter_memberships m
  where m.user_id = (select auth.uid())
$$;
comment on function private.member_chapter_ids() is 'Chapters the current user belongs to in any role.';

create or replace function private.member_organization_ids()
returns uuid[]
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(array_agg(distinct m.organization_id), '{}')
  from public.chapter_memberships m
  where m.user_id = (select auth.uid())
$$;
comment on function private.member_organization_ids() is 'Organisations the current user belongs to through any chapter.';

create or replace function private.led_organization_ids()
returns uuid[]
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(array_agg(distinct m.organization_id), '{}')
  from public.chapter_memberships m
  where m.user_id = (select auth.uid())
    and m.role in ('coordinator', 'chapter_admin')
$$;
comment on function private.led_organization_ids() is
  'Organisations in which the current user coordinates or administers at least one chapter.';

create or replace function private.followed_mentor_ids()
returns uuid[]
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(array_agg(distinct mentor.user_id), '{}')
  from public.chapter_memberships leader
  join public.chapter_memberships mentor
    on mentor.chapter_id = leader.chapter_id and mentor.role = 'peer_mentor'
  where leader.user_id = (select auth.uid())
    and leader.role in ('coordinator', 'chapter_admin')
$$;
comment on function private.followed_mentor_ids() is
  'Mentors who belong to a chapter the current user coordinates or administers (multi-chapter membership included).';

-- The chapters a person mentors in, for the activities policy (a coordinator
-- or chapter admin of a chapter is a member of it, but does not register
-- mentoring activities there).
create or replace function private.peer_mentor_chapter_ids()
returns uuid[]
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(array_agg(m.chapter_id), '{}')
  from public.chapter_memberships m
  where m.user_id = (select auth.uid()) and m.role = 'peer_mentor'
$$;
comment on function private.peer_mentor_chapter_ids() is
  'Chapters in which the requesting user is a peer mentor (for RLS policies).';

-- Policies run these with the privileges of the person asking; each answers
-- for auth.uid() only.
revoke all on function private.led_chapter_ids() from public;
revoke all on function private.member_chapter_ids() from public;
revoke all on function private.member_organization_ids() from public;
revoke all on function private.led_organization_ids() from public;
revoke all on function private.followed_mentor_ids() from public;
revoke all on function private.peer_mentor_chapter_ids() from public;
grant execute on function private.led_chapter_ids() to authenticated, service_role;
grant execute on function private.member_chapter_ids() to authenticated, service_role;
grant execute on function private.member_organization_ids() to authenticated, service_role;
grant execute on function private.led_organization_ids() to authenticated, service_role;
grant execute on function private.followed_mentor_ids() to authenticated, service_role;
grant execute on function private.peer_mentor_chapter_ids() to authenticated, service_role;

-- Row-level security. service_role bypasses RLS (as on Supabase) and does all
-- writing; people read what their role in a chapter entitles them to.
alter table public.organizations enable row level security;
alter table public.chapters enable row level security;
alter table public.users enable row level security;
alter table public.chapter_memberships enable row level security;
alter table public.coordinator_assignments enable row level security;

drop policy if exists organizations_select_member on public.organizations;
create policy organizations_select_member on public.organizations
  for select to authenticated
  using (id = any ((select private.member_organization_ids())::uuid[]));

drop policy if exists chapters_select_member_organization on public.chapters;
create policy chapters_select_member_organization on public.chapters
  for select to authenticated
  using (organization_id = any ((select private.member_organization_ids())::uuid[]));

drop policy if exists users_select_self_or_followed on public.users;
create policy users_select_self_or_followed on public.users
  for select to authenticated
  using (id = (select auth.uid()) or id = any ((select private.followed_mentor_ids())::uuid[]));

-- A person may correct their own name and language, nothing else of the row
-- (column privileges below) and never someone else's.
drop policy if exists users_update_self on public.users;
create policy users_update_self on public.users
  for update to authenticated
  using (id = (select auth.uid()))
  with check (id = (select auth.uid()));

drop policy if exists chapter_memberships_select_self_or_led on public.chapter_memberships;
create policy chapter_memberships_select_self_or_led on public.chapter_memberships
  for select to authenticated
  using (user_id = (select auth.uid()) or chapter_id = any ((select private.led_chapter_ids())::uuid[]));

drop policy if exists coordinator_assignments_select_involved on public.coordinator_assignments;
create policy coordinator_assignments_select_involved on public.coordinator_assignments
  for select to authenticated
  using (
    coordinator_id = (select auth.uid())
    or peer_mentor_id = (select auth.uid())
    or chapter_id = any ((select private.led_chapter_ids())::uuid[])
  );

-- Privileges (see the note on grants at the top): the app reads through RLS,
-- corrects only a person's own name and language; service_role does the rest.
revoke all on public.organizations, public.chapters, public.users, public.chapter_memberships,
  public.coordinator_assignments
  from anon, authenticated, service_role;
grant select on public.organizations, public.chapters, public.users, public.chapter_memberships,
  public.coordinator_assignments
  to authenticated;
grant update (display_name, locale) on public.users to authenticated;
grant select, insert, update, delete on public.organizations, public.chapters, public.users,
  public.chapter_memberships, public.coordinator_assignments
  to service_role;

-- ==========================================================================
-- supabase/schemas/02_privacy_guard.sql
-- ==========================================================================

-- The privacy guard: notification metadata carries ids, codes
-- and counts, never a national identity number, an e-mail address or a phone
-- number. The Python layer refuses such values with a message naming the
-- field (mentor_notify.privacy); these functions and the CHECK constraints
-- that call them (on notifications.data and scenario_notifications.metadata)
-- make the database refuse them too, whoever writes. The rules match the
-- Python ones exactly (the module docstring of mentor_notify/privacy/guard.py
-- explains them); digits touching letters, digits or hyphens (UUIDs, ISO
-- dates, hashes) are never candidates.

create or replace function private.is_national_identity_number(digits text)
returns boolean
language plpgsql
immutable
strict
set search_path = ''
as $$
declare
  d int[];
  day int;
  month int;
begin
  if digits !~ '^[0-9]{11}$' then
    return false;
  end if;
  d := array(select substr(digits, i, 1)::int from generate_series(1, 11) as i);
  day := d[1] * 10 + d[2];
  month := d[3] * 10 + d[4];
  if day > 40 then day := day - 40; end if;        -- D-number
  if month > 40 then month := month - 40; end if;  -- H-number
  if month not between 1 and 12
     or day not between 1 and (array[31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[month] then
    return false;
  end if;
  -- First control digit: remainder 0 under today's rule, 0-3 for numbers
  -- issued from 2032. Second control digit: remainder 0, unchanged.
  return (3 * d[1] + 7 * d[2] + 6 * d[3] + 1 * d[4] + 8 * d[5] + 9 * d[6] + 4 * d[7] + 5 * d[8] + 2 * d[9] + d[10]) % 11 <= 3
     and (5 * d[1] + 4 * d[2] + 3 * d[3] + 2 * d[4] + 7 * d[5] + 6 * d[6] + 5 * d[7] + 4 * d[8] + 3 * d[9] + 2 * d[10] + d[11]) % 11 = 0;
end
$$;
comment on function private.is_national_identity_number(text) is
  'True for an 11-digit fødselsnummer, D-number or H-number with a possible date and valid check digits (today''s rule or the 2032 rule).';

create or replace function private.text_contains_personal_data(value text)
returns boolean
language sql
immutable
strict
set search_path = ''
as $$
  select exists (
           select 1
           from regexp_matches(value, '(?<![0-9A-Za-z-])([0-9]{6}) ?([0-9]{5})(?![0-9A-Za-z-])', 'g') as m
           where private.is_national_identity_number(m[1] || m[2]))
      or value ~ '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}'
      or value ~ '(?<![0-9A-Za-z-])(\+|00)47 ?[2-9][0-9]( ?[0-9]){6}(?![0-9A-Za-z-])'
      or value ~ '(?<![0-9A-Za-z-])[2-9][0-9] [0-9]{2} [0-9]{2} [0-9]{2}(?![0-9A-Za-z-])'
      or value ~ '(?<![0-9A-Za-z-])[2-9][0-9]{2} [0-9]{2} [0-9]{3}(?![0-9A-Za-z-])'
      or value ~ '(?<![0-9A-Za-z-])[49][0-9]{7}(?![0-9A-Za-z-])'
      or value ~ '(?<![0-9A-Za-z+])\+[1-9]([ .()-]{0,2}[0-9]){6,14}(?![0-9A-Za-z-])'
$$;
comment on function private.text_contains_personal_data(text) is
  'True when a text holds what looks like a Norwegian identity number, an e-mail address or a phone number.';

-- contains_personal_data runs in the privacy CHECK on notifications.data, so
-- it runs for every row the expiry sweep writes (hundreds of thousands on a
-- large first run), and walking every key and value with jsonb_path_query
-- costs far more than the rest of the insert. Two fast paths, in order:
--
-- 1. A prefilter. Each of text_contains_personal_data's patterns needs
--    something a single regex without look-around finds in one pass: an "@"
--    or a "+" (e-mail addresses, international numbers), or, at a token start
--    (the text's start or a character other than a letter, digit or hyphen:
--    the patterns' own boundary), "0047", two or three digits then a space
--    and a digit (spaced phone numbers), eight digits starting with 4 or 9
--    ending at a token end (mobile numbers), or eleven digits, a space allowed
--    after the sixth, ending at a token end (identity numbers). A document
--    whose text has none of these holds no personal data. The JSON the sweep
--    writes (ids, ISO dates, deep links) almost never passes it. It is
--    written inline: a call to another function per row would cost as much
--    again.
-- 2. The whole text. Every key, string and number of a JSON value appears
--    verbatim in its text form, delimited by JSON punctuation (quotes,
--    colons, commas, brackets, spaces), never by a letter, digit, hyphen or
--    plus sign, which are the only characters the patterns' boundaries look
--    at. So when the text as a whole holds nothing that looks like personal
--    data, no single value does either, and the walk is skipped.
--
-- Text with a backslash (an escaped character, which is not verbatim) and
-- text that does look suspicious take the exact walk, which decides.
-- tests/integration/test_privacy_guard_db.py holds the rules to the Python
-- guard, with the values at every kind of token boundary.
-- PL/pgSQL rather than SQL: its plans are cached for the session, where the
-- SQL form set up the walk's subquery on every call, costing more than the
-- check itself.
create or replace function private.contains_personal_data(value jsonb)
returns boolean
language plpgsql
immutable
strict
set search_path = ''
as $$
declare
  doc text := value::text;
begin
  -- Text with a backslash (an escaped character, not verbatim) takes the walk.
  if pg_catalog.strpos(doc, '\') = 0 then
    if doc operator(pg_catalog.!~) '[@+]|(^|[^0-9A-Za-z-])([0-9]{6} ?[0-9]{5}([^0-9A-Za-z-]|$)|0047|[0-9]{2,3} [0-9]|[49][0-9]{7}([^0-9A-Za-z-]|$))' then
      return false;
    end if;
    if not private.text_contains_personal_data(doc) then
      return false;
    end if;
  end if;
  return exists (
    select 1
    from (
      select item #>> '{}' as text
      from jsonb_path_query(value, 'lax $.** ? (@.type() == "string" || @.type() == "number")') as item
      union all
      select key #>> '{}'
      from jsonb_path_query(value, 'lax $.** ? (@.type() == "object").keyvalue().key') as key
    ) as texts
    where private.text_contains_personal_data(texts.text)
  );
end
$$;
comment on function private.contains_personal_data(jsonb) is
  'True when any key, string or number anywhere in a JSON value holds personal data (see private.text_contains_personal_data); rules out most documents with one regex that any match needs, then checks the whole text, and walks the values only when that is inconclusive.';

-- The CHECK constraints that call these (notifications.data,
-- scenario_notifications.metadata) run with the writer's privileges.
revoke all on function private.is_national_identity_number(text) from public;
revoke all on function private.text_contains_personal_data(text) from public;
revoke all on function private.contains_personal_data(jsonb) from public;
grant execute on function private.is_national_identity_number(text) to authenticated, service_role;
grant execute on function private.text_contains_personal_data(text) to authenticated, service_role;
grant execute on function private.contains_personal_data(jsonb) to authenticated, service_role;

-- ==========================================================================
-- supabase/schemas/03_certifications.sql
-- ==========================================================================

-- Certificates, the expiry sweep's per-certificate state (ticket 000) and the
-- internal log of expiry notices (ticket 001). The database keeps the sweep
-- state in step with the certificate record, so no writer can forget to.

-- A renewal_history entry must say which shape it has, so later migrations can
-- transform old entries (ticket 001, risk 3).
create or replace function private.is_valid_renewal_history(history jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select pg_catalog.jsonb_typeof(history) = 'array'
    and not exists (
      select 1
      from pg_catalog.jsonb_array_elements(history) as entry
      where pg_catalog.jsonb_typeof(entry) <> 'object'
        or pg_catalog.jsonb_typeof(entry -> 'schema_version') is distinct from 'number'
        or (entry ->> 'schema_version')::numeric < 1
        or (entry ->> 'schema_version')::numeric <> trunc((entry ->> 'schema_version')::numeric)
    )
$$;
comment on function private.is_valid_renewal_history(jsonb) is
  'True when renewal_history is a JSON array of objects that each carry a positive whole schema_version.';
revoke all on function private.is_valid_renewal_history(jsonb) from public;
grant execute on function private.is_valid_renewal_history(jsonb) to authenticated, service_role;

create table if not exists public.peer_mentor_certifications (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  peer_mentor_id uuid not null references public.users (id) on delete cascade,
  certificate_type text not null,
  issued_on date not null,
  expiry_date date not null,
  renewal_history jsonb not null default '[]',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint peer_mentor_certifications_peer_mentor_id_certificate_type_key unique (peer_mentor_id, certificate_type),
  -- Target of the tracking table's cascading foreign key, which copies these
  -- columns and keeps them identical.
  constraint peer_mentor_certifications_tracked_columns_key
    unique (id, organization_id, peer_mentor_id, certificate_type, expiry_date),
  constraint peer_mentor_certifications_certificate_type_check check (private.is_known_certificate_type(certificate_type)),
  constraint peer_mentor_certifications_dates_check check (issued_on <= expiry_date),
  constraint peer_mentor_certifications_renewal_history_check check (private.is_valid_renewal_history(renewal_history))
);
comment on table public.peer_mentor_certifications is 'The record of a peer mentor''s certificate: what it is, when it was issued, when it expires and how it was renewed.';
comment on column public.peer_mentor_certifications.id is 'Identifier of the certificate.';
comment on column public.peer_mentor_certifications.organization_id is 'Organisation that issued the certificate.';
comment on column public.peer_mentor_certifications.peer_mentor_id is 'The certified mentor.';
comment on column public.peer_mentor_certifications.certificate_type is 'Certificate type code (hlf_peer_mentor, nhf_peer_mentor, blindeforbundet_peer_mentor); a code, never a name.';
comment on column public.peer_mentor_certifications.issued_on is 'Date the current certificate period started.';
comment on column public.peer_mentor_certifications.expiry_date is 'Last day the certificate is valid, in the organisation''s local calendar; the mentor is lapsed from the next day.';
comment on column public.peer_mentor_certifications.renewal_history is 'JSON array of renewals, oldest first, appended by the database whenever expiry_date changes. Entry shape, schema_version 1: {"schema_version":1,"renewed_at":timestamptz,"previous_expiry_date":date,"new_expiry_date":date}.';
comment on column public.peer_mentor_certifications.created_at is 'When the certificate was first recorded.';
comment on column public.peer_mentor_certifications.updated_at is 'When the certificate record last changed.';
comment on constraint peer_mentor_certifications_peer_mentor_id_certificate_type_key on public.peer_mentor_certifications is 'a mentor has one certificate record per certificate type; renew it instead of adding another';
comment on constraint peer_mentor_certifications_tracked_columns_key on public.peer_mentor_certifications is 'the columns the expiry tracking row mirrors identify one certificate';
comment on constraint peer_mentor_certifications_certificate_type_check on public.peer_mentor_certifications is 'the certificate type must be one of hlf_peer_mentor, nhf_peer_mentor, blindeforbundet_peer_mentor';
comment on constraint peer_mentor_certifications_dates_check on public.peer_mentor_certifications is 'a certificate cannot expire before it was issued';
comment on constraint peer_mentor_certifications_renewal_history_check on public.peer_mentor_certifications is 'renewal history must be a JSON array of objects, each with a positive whole schema_version';
create index if not exists peer_mentor_certifications_organization_id_idx on public.peer_mentor_certifications (organization_id);
create index if not exists peer_mentor_certifications_expiry_date_idx on public.peer_mentor_certifications (expiry_date);
-- A mentor's latest certificate per organisation: the mentor directory
-- (06_mentor_directory.sql) copies it into each listing whenever certificates change.
create index if not exists peer_mentor_certifications_organization_id_peer_mentor_id_idx
  on public.peer_mentor_certifications (organization_id, peer_mentor_id, expiry_date);

-- Ticket 000: the sweep's per-certificate notification state.
-- pgls-ignore lint/safety/preferBigInt: notification_thresholds_sent holds days (0-90), never near 2^31; widening it would change the schema the code reads.
-- pgls-ignore lint/safety/preferBigintOverInt: notification_thresholds_sent holds days (0-90), never near 2^31; widening it would change the schema the code reads.
create table if not exists public.certification_expiry_tracking (
  id uuid primary key default gen_random_uuid(),
  peer_mentor_id uuid not null references auth.users (id) on delete cascade,
  certificate_type text not null,
  expiry_date date not null,
  last_notified_at timestamptz,
  notification_thresholds_sent integer[] not null default '{}'::integer[],
  organization_id uuid not null references public.organizations (id) on delete cascade,
  certification_id uuid not null,
  -- The organisation-local business day the sweep last told about the
  -- certificate, written with the tier mark: last_notified_at is the real
  -- clock and cannot say which business day a catch-up or test run decided for.
  last_notified_on date,
  -- ON UPDATE CASCADE copies a renewal's new expiry date (and any correction
  -- of the mentor or type) from the certificate, so the two never disagree.
  constraint certification_expiry_tracking_certification_fkey
    foreign key (certification_id, organization_id, peer_mentor_id, certificate_type, expiry_date)
    references public.peer_mentor_certifications (id, organization_id, peer_mentor_id, certificate_type, expiry_date)
    on update cascade on delete cascade,
  constraint certification_expiry_tracking_certification_id_key unique (certification_id),
  constraint certification_expiry_tracking_certificate_type_check check (private.is_known_certificate_type(certificate_type)),
  constraint certification_expiry_tracking_thresholds_sent_check check (
    notification_thresholds_sent <@ '{90,60,30,7,0}'::integer[]
    and array_position(notification_thresholds_sent, null) is null
  )
);
comment on table public.certification_expiry_tracking is 'Per-certificate state of the daily expiry sweep: which warning tiers have been sent for the current expiry date. One row per certificate, created and kept in step by the database.';
comment on column public.certification_expiry_tracking.id is 'Identifier of the tracking row.';
comment on column public.certification_expiry_tracking.peer_mentor_id is 'The mentor holding the certificate (auth.users id); the only person reference in this table.';
comment on column public.certification_expiry_tracking.certificate_type is 'Certificate type code, copied from the certificate; a code, not a name.';
comment on column public.certification_expiry_tracking.expiry_date is 'Current expiry date, copied from the certificate; a new date starts a new notification cycle.';
comment on column public.certification_expiry_tracking.last_notified_at is 'When the sweep last notified about this certificate in the current cycle; null when not yet.';
comment on column public.certification_expiry_tracking.notification_thresholds_sent is 'Tiers already notified in the current expiry cycle, as days before expiry (90, 60, 30, 7) and 0 for lapsed; emptied when the expiry date changes.';
comment on column public.certification_expiry_tracking.organization_id is 'Organisation that issued the certificate.';
comment on column public.certification_expiry_tracking.certification_id is 'The certificate this row tracks.';
comment on constraint certification_expiry_tracking_certification_fkey on public.certification_expiry_tracking is 'the tracking row must mirror an existing certificate''s organisation, mentor, type and expiry date';
comment on constraint certification_expiry_tracking_certification_id_key on public.certification_expiry_tracking is 'a certificate has exactly one tracking row';
comment on constraint certification_expiry_tracking_certificate_type_check on public.certification_expiry_tracking is 'the certificate type must be one of hlf_peer_mentor, nhf_peer_mentor, blindeforbundet_peer_mentor';
comment on constraint certification_expiry_tracking_thresholds_sent_check on public.certification_expiry_tracking is 'thresholds sent may only contain 90, 60, 30, 7 (days before expiry) and 0 (lapsed)';
comment on column public.certification_expiry_tracking.last_notified_on is
  'Organisation-local business day on which the sweep last told about this certificate (the day it decided for, which a catch-up run may set apart from last_notified_at); the certification follow-up stands aside on that day, so nobody hears twice about one certificate in a day.';
create index if not exists certification_expiry_tracking_expiry_date_idx on public.certification_expiry_tracking (expiry_date);
create index if not exists certification_expiry_tracking_peer_mentor_id_idx on public.certification_expiry_tracking (peer_mentor_id);
create index if not exists certification_expiry_tracking_expiry_date_peer_mentor_id_idx on public.certification_expiry_tracking (expiry_date, peer_mentor_id);
create index if not exists certification_expiry_tracking_thresholds_sent_idx on public.certification_expiry_tracking using gin (notification_thresholds_sent);
-- (Its indexes on organization_id alone and on the certificate foreign key's
-- five columns were dropped by 20261207000300; re-applying this file does
-- not bring them back.)

-- The daily expiry sweep works one organisation at a time and picks that
-- organisation's certificates expiring before its furthest warning window
-- (or already lapsed). With many organisations in one database, neither the
-- organisation index nor the expiry-date index alone narrows that down.
create index if not exists certification_expiry_tracking_organization_id_expiry_date_idx
  on public.certification_expiry_tracking (organization_id, expiry_date);
comment on index public.certification_expiry_tracking_organization_id_expiry_date_idx is
  'Lets the expiry sweep find one organisation''s certificates inside (or past) its warning windows.';

-- A renewal is a change of expiry date: record it in the history and keep
-- updated_at honest, whoever wrote the change.
create or replace function private.peer_mentor_certifications_before_write()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' then
    new.updated_at := pg_catalog.now();
    if new.expiry_date is distinct from old.expiry_date then
      new.renewal_history := new.renewal_history || pg_catalog.jsonb_build_array(
        pg_catalog.jsonb_build_object(
          'schema_version', 1,
          'renewed_at', pg_catalog.now(),
          'previous_expiry_date', old.expiry_date,
          'new_expiry_date', new.expiry_date
        )
      );
    end if;
  end if;
  return new;
end
$$;
comment on function private.peer_mentor_certifications_before_write() is
  'Appends a schema_version 1 renewal_history entry when expiry_date changes and stamps updated_at.';

-- Every certificate gets its tracking row the moment it exists. Statement
-- level, so a bulk load is one INSERT ... SELECT; SECURITY DEFINER so that
-- whoever may write a certificate need not be allowed to write sweep state.
create or replace function private.peer_mentor_certifications_after_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.certification_expiry_tracking
    (certification_id, organization_id, peer_mentor_id, certificate_type, expiry_date)
  select id, organization_id, peer_mentor_id, certificate_type, expiry_date
  from inserted_rows
  on conflict (certification_id) do nothing;
  return null;
end
$$;
comment on function private.peer_mentor_certifications_after_insert() is
  'Creates the certification_expiry_tracking rows for newly inserted certificates.';

-- A new expiry date starts a new notification cycle: a renewed certificate
-- is warned about again, tier by tier, so the tiers sent are emptied.
create or replace function private.certification_expiry_tracking_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.expiry_date is distinct from old.expiry_date then
    new.notification_thresholds_sent := '{}'::integer[];
    new.last_notified_at := null;
  end if;
  return new;
end
$$;
comment on function private.certification_expiry_tracking_before_update() is
  'Resets the sent tiers and last_notified_at when the tracked expiry date changes.';

revoke all on function private.peer_mentor_certifications_before_write() from public;
revoke all on function private.peer_mentor_certifications_after_insert() from public;
revoke all on function private.certification_expiry_tracking_before_update() from public;

create or replace trigger peer_mentor_certifications_before_write
  before insert or update on public.peer_mentor_certifications
  for each row execute function private.peer_mentor_certifications_before_write();

create or replace trigger peer_mentor_certifications_after_insert
  after insert on public.peer_mentor_certifications
  referencing new table as inserted_rows
  for each statement execute function private.peer_mentor_certifications_after_insert();

create or replace trigger certification_expiry_tracking_before_update
  before update on public.certification_expiry_tracking
  for each row execute function private.certification_expiry_tracking_before_update();

-- Ticket 001: internal, append-only log of expiry notices.
create table if not exists public.cert_notification_log (
  id uuid primary key default gen_random_uuid(),
  certification_id uuid not null references public.peer_mentor_certifications (id) on delete cascade,
  notification_type text not null,
  sent_at timestamptz not null default now(),
  recipient_id uuid not null references public.users (id) on delete cascade,
  idempotency_key text not null,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  constraint cert_notification_log_idempotency_key_key unique (idempotency_key),
  constraint cert_notification_log_notification_type_check check (
    notification_type in ('expiry_warning_90d', 'expiry_warning_60d', 'expiry_warning_30d', 'expiry_warning_7d', 'expired')
  ),
  constraint cert_notification_log_idempotency_key_check check (idempotency_key ~ '^[0-9a-f]{64}$')
);
comment on table public.cert_notification_log is 'Internal, append-only record of every certificate-expiry notice sent (to the mentor and to their coordinator); the sweep''s exactly-once guard. No access for app users.';
comment on column public.cert_notification_log.id is 'Identifier of the log row.';
comment on column public.cert_notification_log.certification_id is 'Certificate the notice was about; deleting the certificate deletes its log.';
comment on column public.cert_notification_log.notification_type is 'Tier of the notice: expiry_warning_90d, expiry_warning_60d, expiry_warning_30d, expiry_warning_7d or expired.';
comment on column public.cert_notification_log.sent_at is 'When the notice was recorded as sent; the retention job prunes by it.';
comment on column public.cert_notification_log.recipient_id is 'Who received the notice: the mentor, their coordinator or a chapter admin.';
comment on column public.cert_notification_log.idempotency_key is 'Lowercase hex SHA-256 of certification id, notification type, expiry date (the cycle) and recipient id, joined by |; deterministic, so a re-run collides instead of resending, and a hash, so it can never carry PII.';
comment on column public.cert_notification_log.organization_id is 'Organisation that issued the certificate.';
comment on constraint cert_notification_log_idempotency_key_key on public.cert_notification_log is 'this notice has already been logged; a notice is sent once per certificate, tier, expiry date and recipient';
comment on constraint cert_notification_log_notification_type_check on public.cert_notification_log is 'the notification type must be one of expiry_warning_90d, expiry_warning_60d, expiry_warning_30d, expiry_warning_7d, expired';
comment on constraint cert_notification_log_idempotency_key_check on public.cert_notification_log is 'the idempotency key must be a lowercase hex SHA-256 digest (64 characters), never readable data';
create index if not exists cert_notification_log_certification_id_notification_type_idx on public.cert_notification_log (certification_id, notification_type);
create index if not exists cert_notification_log_recipient_id_idx on public.cert_notification_log (recipient_id);
create index if not exists cert_notification_log_organization_id_idx on public.cert_notification_log (organization_id);
create index if not exists cert_notification_log_sent_at_idx on public.cert_notification_log (sent_at);

alter table public.peer_mentor_certifications enable row level security;
alter table public.certification_expiry_tracking enable row level security;
-- cert_notification_log: RLS on and deliberately no policy for anon or
-- authenticated (ticket 001), so only service_role sees it.
alter table public.cert_notification_log enable row level security;

-- A certificate belongs to one organisation, and a mentor may belong to
-- chapters of several. A coordinator follows a mentor only inside the
-- organisation of the chapters they lead, so "mentors I follow" is not enough:
-- the certificate's organisation must be the followed chapter's too.
create or replace function private.followed_certification_ids()
returns uuid[]
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(array_agg(distinct cert.id), '{}')
  from public.chapter_memberships leader
  join public.chapter_memberships mentor
    on mentor.chapter_id = leader.chapter_id and mentor.role = 'peer_mentor'
  join public.chapters chapter on chapter.id = leader.chapter_id
  join public.peer_mentor_certifications cert
    on cert.peer_mentor_id = mentor.user_id and cert.organization_id = chapter.organization_id
  where leader.user_id = (select auth.uid())
    and leader.role in ('coordinator', 'chapter_admin')
$$;
comment on function private.followed_certification_ids() is
  'Certificates of mentors in a chapter the current user coordinates or administers, issued by that chapter''s organisation.';
revoke all on function private.followed_certification_ids() from public;
grant execute on function private.followed_certification_ids() to authenticated, service_role;

drop policy if exists peer_mentor_certifications_select_own_or_followed on public.peer_mentor_certifications;
create policy peer_mentor_certifications_select_own_or_followed on public.peer_mentor_certifications
  for select to authenticated
  using (
    peer_mentor_id = (select auth.uid())
    or id = any ((select private.followed_certification_ids())::uuid[])
  );

drop policy if exists certification_expiry_tracking_select_own on public.certification_expiry_tracking;
create policy certification_expiry_tracking_select_own on public.certification_expiry_tracking
  for select to authenticated
  using (peer_mentor_id = (select auth.uid()));

-- Privileges (see the grants note in 01_organisations_and_people.sql): mentors and their
-- coordinators read certificates and sweep state through RLS; the notice log
-- is service_role's alone.
revoke all on public.peer_mentor_certifications, public.certification_expiry_tracking,
  public.cert_notification_log
  from anon, authenticated, service_role;
grant select on public.peer_mentor_certifications, public.certification_expiry_tracking to authenticated;
grant select, insert, update, delete on public.peer_mentor_certifications,
  public.certification_expiry_tracking, public.cert_notification_log
  to service_role;

-- ==========================================================================
-- supabase/schemas/04_notifications_and_push.sql
-- ==========================================================================

-- In-app notifications (ticket 004), the devices they are pushed to, each
-- person's push preferences and send window (issue 5), and the push pipeline
-- the dispatcher drains (issue 16): one push per person, devices resolved
-- when the push is sent, a daily push budget with digests, and each device's
-- delivery in plain sight.
--
-- A person may opt out of push for a category and keep the in-app notice:
-- the dispatcher then records the push as skipped, neither sent nor lost.
-- Pushes are held until the recipient's local send window opens (the
-- organisation's, default 08:00-21:00 in its timezone, or the person's own);
-- tiers an organisation names in push_immediate_tiers go out at once. Held
-- pushes are rows with a later available_at, so they survive restarts.
--
--   push_notices     one row per notification to push to its recipient. The
--                    dispatcher's claim reads the recipient's devices at send
--                    time (a device that changed hands or was registered
--                    meanwhile gets what its owner at that moment should),
--                    applies their daily budget and folds what is due
--                    together into one push (a digest).
--   push_deliveries  one row per pushed notice and device: each device's own
--                    outcome, so a retry goes only to the devices that failed.
--   push_budget_days the pushes each person got per organisation-local day;
--                    its row lock serialises two dispatchers deciding for one
--                    person.
--
-- Settling is explicit: the dispatcher's settle statement
-- (mentor_notify/push/sql/settle.sql) moves the notice and its notification
-- in one statement and returns the notifications settled; the scenarios'
-- bookkeeping is their own reaction to it (private.record_scenario_outcomes,
-- in 05_activities_and_scenarios.sql).

create table if not exists public.notifications (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  recipient_id uuid not null references public.users (id) on delete cascade,
  subject_mentor_id uuid not null references public.users (id) on delete cascade,
  category text not null,
  certificate_type text,
  threshold_tier text,
  notification_window_start date,
  message_key text not null,
  data jsonb not null default '{}',
  status text not null default 'pending',
  idempotency_key text not null,
  created_at timestamptz not null default now(),
  status_changed_at timestamptz,
  seen_at timestamptz,
  read_at timestamptz,
  archived_at timestamptz,
  -- Its foreign key to scenario_notifications is added with that table
  -- (05_activities_and_scenarios.sql).
  scenario_notification_id uuid,
  constraint notifications_idempotency_key_key unique (idempotency_key),
  -- certification_follow_up: the certification-expiry follow-up scenario
  -- (issue 4) reminds a mentor about a tier on its own rule and cooldown,
  -- beside the sweep's notice; its own category keeps it out of the sweep's
  -- once-per-tier duplicate index and expiry columns (the certificate, type
  -- and tier travel in data).
  constraint notifications_category_check
    check (category in ('certification_expiry', 'certification_follow_up', 'inactivity', 'milestone', 'welcome_back')),
  constraint notifications_certificate_type_check check (certificate_type is null or private.is_known_certificate_type(certificate_type)),
  constraint notifications_threshold_tier_check check (
    threshold_tier is null
    or threshold_tier in ('expiry_warning_90d', 'expiry_warning_60d', 'expiry_warning_30d', 'expiry_warning_7d', 'expired')
  ),
  constraint notifications_expiry_fields_check check (
    case when category = 'certification_expiry'
      then certificate_type is not null and threshold_tier is not null and notification_window_start is not null
      else certificate_type is null and threshold_tier is null and notification_window_start is null
    end
  ),
  constraint notifications_message_key_check check (message_key ~ '^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$'),
  constraint notifications_data_check check (jsonb_typeof(data) = 'object' and octet_length(data::text) <= 4096),
  constraint notifications_data_privacy_check check (not private.contains_personal_data(data)),
  constraint notifications_status_check check (status in ('pending', 'sent', 'failed', 'skipped')),
  constraint notifications_idempotency_key_check check (idempotency_key ~ '^[0-9a-f]{64}$')
);
-- Pages are filled (the default fillfactor), unlike push_deliveries'. With half
-- of each page left free the settle's status update was heap-only and the
-- push's database work per message fell, but the expiry sweep, which writes
-- every notification, spread its inserts over twice the pages and took as much
-- more (BENCHMARKS.md, issue 25's fourth pass): the cost moved, it did not go.
comment on table public.notifications is
  'In-app notifications shown in the mentor''s and coordinator''s inbox; each may also be pushed to their devices through push_notices.';
comment on column public.notifications.id is 'Identifier of the notification.';
comment on column public.notifications.organization_id is 'Organisation in whose programme the notice was raised.';
comment on column public.notifications.recipient_id is 'Who sees the notification in their inbox.';
comment on column public.notifications.subject_mentor_id is 'The mentor the notice is about: the recipient themself, or the mentor a coordinator is being told about.';
comment on column public.notifications.category is
  'What the notification is about: certification_expiry (the expiry sweep''s notice), certification_follow_up (the expiry follow-up scenario), inactivity, milestone or welcome_back.';
comment on column public.notifications.certificate_type is 'For certification_expiry: the certificate type code; null otherwise.';
comment on column public.notifications.threshold_tier is 'For certification_expiry: the tier (expiry_warning_90d/60d/30d/7d or expired); null otherwise.';
comment on column public.notifications.notification_window_start is 'For certification_expiry: the expiry date the notice belongs to (its expiry cycle); null otherwise.';
comment on column public.notifications.message_key is 'Translation key of the text the app shows (e.g. certification.expiry.warning_30d); texts are rendered in the recipient''s locale, so no personal text is stored.';
comment on column public.notifications.data is 'Non-personal parameters for the text and the app (deep link, days left, milestone); at most 4 KiB.';
comment on column public.notifications.status is
  'Delivery state of the notice: pending until its pushes are done, then sent, failed, or skipped (the recipient opted out of push for the category; the in-app notice stands).';
comment on column public.notifications.idempotency_key is 'Lowercase hex SHA-256 derived from ids, tier or scenario and cycle; a re-run collides instead of notifying twice.';
comment on column public.notifications.created_at is 'When the notification was created.';
comment on column public.notifications.status_changed_at is 'When status last changed.';
comment on column public.notifications.seen_at is 'When the recipient first saw it in the inbox; set by the recipient.';
comment on column public.notifications.read_at is 'When the recipient opened it; set by the recipient.';
comment on column public.notifications.archived_at is 'When the recipient archived it; set by the recipient.';
comment on constraint notifications_idempotency_key_key on public.notifications is 'this notification already exists; the same notice is never created twice';
comment on constraint notifications_category_check on public.notifications is
  'the category must be certification_expiry, certification_follow_up, inactivity, milestone or welcome_back';
comment on constraint notifications_certificate_type_check on public.notifications is 'the certificate type must be one of hlf_peer_mentor, nhf_peer_mentor, blindeforbundet_peer_mentor';
comment on constraint notifications_threshold_tier_check on public.notifications is 'the threshold tier must be one of expiry_warning_90d, expiry_warning_60d, expiry_warning_30d, expiry_warning_7d, expired';
comment on constraint notifications_expiry_fields_check on public.notifications is 'certificate type, threshold tier and expiry cycle are required for certification_expiry notifications and must be empty for other categories';
comment on constraint notifications_message_key_check on public.notifications is 'the message key must be a dotted lowercase translation key such as certification.expiry.warning_30d';
comment on constraint notifications_data_check on public.notifications is 'data must be a JSON object of at most 4 KiB';
comment on constraint notifications_data_privacy_check on public.notifications is
  'data may hold ids, codes and counts only, never a national identity number, an e-mail address or a phone number';
comment on constraint notifications_status_check on public.notifications is
  'the status must be pending, sent, failed or skipped';
comment on constraint notifications_idempotency_key_check on public.notifications is 'the idempotency key must be a lowercase hex SHA-256 digest (64 characters), never readable data';
comment on column public.notifications.scenario_notification_id is
  'For a follow-up scenario''s notice: the scenario notification that raised it, whose delivery status and cooldown the push settles; null for the expiry sweep''s notices.';
-- Ticket 004's duplicate check: one expiry notice per mentor, certificate
-- type, tier and cycle for each recipient, enforced rather than checked.
create unique index if not exists notifications_expiry_duplicate_key
  on public.notifications (subject_mentor_id, certificate_type, threshold_tier, notification_window_start, recipient_id)
  where category = 'certification_expiry';
comment on index public.notifications_expiry_duplicate_key is
  'this expiry notice already exists; a recipient gets one notice per mentor, certificate type, tier and expiry cycle';
create index if not exists notifications_recipient_id_created_at_idx on public.notifications (recipient_id, created_at desc);
create index if not exists notifications_subject_mentor_id_idx on public.notifications (subject_mentor_id);
create index if not exists notifications_organization_id_idx on public.notifications (organization_id);
create index if not exists notifications_created_at_idx on public.notifications (created_at);
comment on index public.notifications_created_at_idx is
  'Lets maintenance prune find notices past the notification retention oldest first, a batch at a time.';

create table if not exists public.device_tokens (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.users (id) on delete cascade,
  platform text not null,
  provider text not null,
  token text not null,
  last_refreshed_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  constraint device_tokens_token_key unique (token),
  constraint device_tokens_platform_check check (platform in ('android', 'ios')),
  constraint device_tokens_provider_check check (provider in ('fcm', 'apns')),
  constraint device_tokens_provider_platform_check check (provider = 'fcm' or platform = 'ios'),
  constraint device_tokens_token_check check (length(token) between 8 and 4096 and token !~ '\s')
);
comment on table public.device_tokens is 'Push tokens of the devices a person uses the app on; one person may have several devices on both platforms. Not per organisation: a device belongs to a person.';
comment on column public.device_tokens.id is 'Identifier of the registration.';
comment on column public.device_tokens.user_id is 'Owner of the device.';
comment on column public.device_tokens.platform is 'android or ios.';
comment on column public.device_tokens.provider is 'Which push service the token belongs to: fcm (Android, or iOS through Firebase) or apns (iOS directly).';
comment on column public.device_tokens.token is 'The FCM registration token or APNs device token.';
comment on column public.device_tokens.last_refreshed_at is 'When the app last re-registered the token (every launch); tokens not refreshed for 30 days are stale.';
comment on column public.device_tokens.created_at is 'When the token was first registered.';
comment on constraint device_tokens_token_key on public.device_tokens is 'a push token is registered once; re-registering refreshes it';
comment on constraint device_tokens_platform_check on public.device_tokens is 'the platform must be android or ios';
comment on constraint device_tokens_provider_check on public.device_tokens is 'the provider must be fcm or apns';
comment on constraint device_tokens_provider_platform_check on public.device_tokens is 'APNs tokens exist only on ios devices';
comment on constraint device_tokens_token_check on public.device_tokens is 'a push token must be 8-4096 characters without white space';
create index if not exists device_tokens_user_id_idx on public.device_tokens (user_id);
create index if not exists device_tokens_last_refreshed_at_idx on public.device_tokens (last_refreshed_at);

-- Per person, like device tokens: a person's choice holds in every organisation.
create table if not exists public.push_preferences (
  user_id uuid primary key references public.users (id) on delete cascade,
  muted_categories text[] not null default '{}',
  window_start time,
  window_end time,
  updated_at timestamptz not null default now(),
  constraint push_preferences_muted_categories_check check (
    muted_categories <@ array['certification_expiry', 'inactivity', 'milestone', 'welcome_back']::text[]
  ),
  constraint push_preferences_window_check check ((window_start is null) = (window_end is null))
);
comment on table public.push_preferences is
  'A person''s push choices: categories they get no push for (the in-app notice stays) and their own send window.';
comment on column public.push_preferences.user_id is 'The person.';
comment on column public.push_preferences.muted_categories is
  'Categories with push switched off: certification_expiry, inactivity, milestone, welcome_back.';
comment on column public.push_preferences.window_start is
  'Own send window start (organisation''s timezone), replacing the organisation''s; null: the organisation''s window.';
comment on column public.push_preferences.window_end is 'Own send window end; set together with window_start.';
comment on column public.push_preferences.updated_at is 'When the person last changed their choices.';
comment on constraint push_preferences_muted_categories_check on public.push_preferences is
  'muted categories must be among certification_expiry, inactivity, milestone, welcome_back';
comment on constraint push_preferences_window_check on public.push_preferences is
  'a send window needs both its start and its end';

-- When a push may go out: `at` itself inside the window, else the window's
-- next opening. Local times are read in `tz`, so DST is handled by PostgreSQL.
create or replace function private.push_send_time(at timestamptz, tz text, opens time, closes time)
returns timestamptz
language sql
stable
parallel safe
as $$
  -- One expression (no FROM, no SET clause) so that it is inlined into the
  -- claim, which asks it for every notice (migration 20261207100100).
  select case
    when opens = closes then at
    when (opens < closes and (at at time zone tz)::time >= opens and (at at time zone tz)::time < closes)
      or (opens > closes and ((at at time zone tz)::time >= opens or (at at time zone tz)::time < closes))
      then at
    when (at at time zone tz)::time < opens then ((at at time zone tz)::date + opens) at time zone tz
    else (((at at time zone tz)::date + 1) + opens) at time zone tz
  end
$$;
comment on function private.push_send_time(timestamptz, text, time, time) is
  'The earliest time at or after `at` inside the daily send window [opens, closes) of timezone tz.';
revoke all on function private.push_send_time(timestamptz, text, time, time) from public;

alter table public.notifications enable row level security;
alter table public.device_tokens enable row level security;

drop policy if exists notifications_select_own on public.notifications;
create policy notifications_select_own on public.notifications
  for select to authenticated
  using (recipient_id = (select auth.uid()));

-- The recipient may mark a notification seen, read or archived; the column
-- privileges below keep every other column out of reach.
drop policy if exists notifications_update_own on public.notifications;
create policy notifications_update_own on public.notifications
  for update to authenticated
  using (recipient_id = (select auth.uid()))
  with check (recipient_id = (select auth.uid()));

drop policy if exists device_tokens_select_own on public.device_tokens;
create policy device_tokens_select_own on public.device_tokens
  for select to authenticated
  using (user_id = (select auth.uid()));
drop policy if exists device_tokens_insert_own on public.device_tokens;
create policy device_tokens_insert_own on public.device_tokens
  for insert to authenticated
  with check (user_id = (select auth.uid()));
drop policy if exists device_tokens_update_own on public.device_tokens;
create policy device_tokens_update_own on public.device_tokens
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));
drop policy if exists device_tokens_delete_own on public.device_tokens;
create policy device_tokens_delete_own on public.device_tokens
  for delete to authenticated
  using (user_id = (select auth.uid()));

alter table public.push_preferences enable row level security;
drop policy if exists push_preferences_select_own on public.push_preferences;
create policy push_preferences_select_own on public.push_preferences
  for select to authenticated using (user_id = (select auth.uid()));
drop policy if exists push_preferences_insert_own on public.push_preferences;
create policy push_preferences_insert_own on public.push_preferences
  for insert to authenticated with check (user_id = (select auth.uid()));
drop policy if exists push_preferences_update_own on public.push_preferences;
create policy push_preferences_update_own on public.push_preferences
  for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
drop policy if exists push_preferences_delete_own on public.push_preferences;
create policy push_preferences_delete_own on public.push_preferences
  for delete to authenticated using (user_id = (select auth.uid()));


-- Privileges (see the grants note in 01_organisations_and_people.sql).
revoke all on public.notifications, public.device_tokens, public.push_preferences
  from anon, authenticated, service_role;
grant select on public.notifications, public.device_tokens, public.push_preferences to authenticated;
-- Your inbox: only the seen/read/archived marks.
grant update (seen_at, read_at, archived_at) on public.notifications to authenticated;
-- Your devices: registered, refreshed and removed by the app. The row's own
-- bookkeeping (created_at) is the database's.
grant insert (id, user_id, platform, provider, token, last_refreshed_at)
  on public.device_tokens to authenticated;
grant update (platform, provider, token, last_refreshed_at)
  on public.device_tokens to authenticated;
grant delete on public.device_tokens to authenticated;
-- Your push choices.
grant insert (user_id, muted_categories, window_start, window_end)
  on public.push_preferences to authenticated;
grant update (muted_categories, window_start, window_end, updated_at)
  on public.push_preferences to authenticated;
grant delete on public.push_preferences to authenticated;
grant select, insert, update, delete on public.notifications, public.device_tokens,
  public.push_preferences
  to service_role;

-- The notices ------------------------------------------------------------------

-- A push body (a notice's own, or the one a push sent): checked when it is
-- written, never again. As a CHECK on push_notices the privacy walk and the
-- size test ran on every update of a notice (its lease, its settle), each
-- about 10 % of the database's work per pushed message (migration
-- 20261207200100); a domain's checks run only where a value is assigned.
do $domain$
begin
  if to_regtype('private.push_body') is null then
    create domain private.push_body as jsonb
      constraint push_body_check check (jsonb_typeof(value) = 'object' and octet_length(value::text) <= 4096)
      constraint push_body_privacy_check check (not private.contains_personal_data(value));
  end if;
end
$domain$;
comment on domain private.push_body is
  'A push body: a JSON object of at most 4 KiB (the FCM limit) holding keys, ids and counts, never personal data.';
comment on constraint push_body_check on domain private.push_body is 'a push body must be a JSON object of at most 4 KiB';
comment on constraint push_body_privacy_check on domain private.push_body is
  'a push body holds ids, keys and counts only, never a national identity number, an e-mail address or a phone number';

-- organization_id and recipient_id are the notification's, copied by the one
-- writer (private.enqueue_push); the notice goes with its notification
-- (notification_id's cascade), which goes with its organisation and person.
-- Their own foreign keys and indexes only repeated that, at two index entries
-- a row version (migration 20261207200100).
-- pgls-ignore lint/safety/preferBigInt: attempts counts send attempts, never near 2^31.
-- pgls-ignore lint/safety/preferBigintOverInt: attempts counts send attempts, never near 2^31.
create table if not exists public.push_notices (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  notification_id uuid not null references public.notifications (id) on delete cascade,
  recipient_id uuid not null,
  payload private.push_body not null,
  collapse_key text,
  status text not null default 'pending',
  available_at timestamptz not null default now(),
  attempts integer not null default 0,
  leased_until timestamptz,
  leased_by text,
  last_error text,
  created_at timestamptz not null default now(),
  settled_at timestamptz,
  carried_by uuid references public.push_notices (id) on delete set null,
  budget_day date,
  sent_payload private.push_body,
  constraint push_notices_notification_id_key unique (notification_id),
  constraint push_notices_collapse_key_check check (collapse_key is null or length(collapse_key) between 1 and 64),
  constraint push_notices_status_check check (
    status in ('pending', 'in_flight', 'sent', 'failed', 'dead', 'skipped', 'folded')
  ),
  constraint push_notices_attempts_check check (attempts >= 0),
  constraint push_notices_lease_check check ((status = 'in_flight') = (leased_until is not null)),
  constraint push_notices_carried_by_check check (carried_by is null or status = 'folded' and carried_by <> id)
);
comment on table public.push_notices is
  'Durable push queue: one row per notification to push to its recipient, written with the notification and drained by dispatchers (FOR UPDATE SKIP LOCKED). Devices are read when the push is sent; what one push carried is folded into it.';
comment on column public.push_notices.id is 'Identifier of the notice.';
comment on column public.push_notices.organization_id is 'Organisation of the notification; its timezone, send window and daily budget apply.';
comment on column public.push_notices.notification_id is 'The in-app notification this push announces (one notice per notification).';
comment on column public.push_notices.recipient_id is 'Who the push is for; their devices at the moment of sending receive it.';
comment on column public.push_notices.payload is 'The notification''s own push body (title/body keys, data with the deep link); at most 4 KiB, the FCM limit.';
comment on column public.push_notices.collapse_key is 'Collapse key / apns-collapse-id so a resend replaces rather than duplicates on the device (at most 64 bytes for APNs).';
comment on column public.push_notices.status is
  'pending (waiting for its time), in_flight (leased to a dispatcher), sent, failed (refused for good, or no device), dead (out of attempts), skipped (the recipient muted the category; the in-app notice stands) or folded (delivered inside the push of the notice in carried_by).';
comment on column public.push_notices.available_at is 'Earliest time the notice may be sent: now, a retry''s backoff, the opening of the recipient''s send window, or the next day''s when the budget is spent.';
comment on column public.push_notices.attempts is 'How many times the notice was claimed for sending.';
comment on column public.push_notices.leased_until is 'While in_flight: when the dispatcher''s lease runs out and another may claim the notice.';
comment on column public.push_notices.leased_by is 'Identifier of the dispatcher holding the lease (host and process), for diagnosis.';
comment on column public.push_notices.last_error is 'Error code of the last failed attempt (e.g. UNREGISTERED, NO_DEVICE); codes only, never personal data.';
comment on column public.push_notices.created_at is 'When the notice was queued.';
comment on column public.push_notices.settled_at is 'When the notice reached its final state (for a folded notice: when its carrier did); the retention job prunes by it.';
comment on column public.push_notices.carried_by is 'For a folded notice: the notice whose push delivered it (a digest).';
comment on column public.push_notices.budget_day is 'The organisation-local day whose push budget this notice''s push used; kept for retries, which use no more.';
comment on column public.push_notices.sent_payload is 'The body actually sent (the notice''s own payload, or a digest), fixed at the first claim so every retry sends the same; keys and counts only.';
comment on constraint push_notices_notification_id_key on public.push_notices is 'this notification is already queued for push; a notification is pushed once';
comment on constraint push_notices_collapse_key_check on public.push_notices is 'a collapse key must be 1-64 characters';
comment on constraint push_notices_status_check on public.push_notices is
  'the status must be pending, in_flight, sent, failed, dead, skipped or folded';
comment on constraint push_notices_attempts_check on public.push_notices is 'attempts cannot be negative';
comment on constraint push_notices_lease_check on public.push_notices is 'a notice is in flight exactly when it has a lease expiry';
comment on constraint push_notices_carried_by_check on public.push_notices is 'only a folded notice names the (other) notice that carried it';
-- The claim's two ordered walks (expired leases, due notices), each on its
-- partial index. Its gathering of a recipient's other due notices reads the
-- recipient's index: a person has few notices, settled ones are pruned.
create index if not exists push_notices_pending_idx on public.push_notices (available_at) where status = 'pending';
create index if not exists push_notices_in_flight_idx on public.push_notices (leased_until) where status = 'in_flight';
-- A person's due notices, for the claim to fold into one push: every condition
-- of that lookup is in this one index. Right after a first run (260,000 new
-- notices, statistics not yet refreshed) the planner otherwise combined the
-- recipient index with push_notices_pending_idx, walking every due notice of
-- the queue once per person (18 s a claim at a million certificates).
create index if not exists push_notices_pending_recipient_idx
  on public.push_notices (recipient_id, organization_id, available_at) where status = 'pending';
create index if not exists push_notices_carried_by_idx on public.push_notices (carried_by) where carried_by is not null;
create index if not exists push_notices_settled_at_idx on public.push_notices (settled_at) where settled_at is not null;
create index if not exists push_notices_dead_idx on public.push_notices (created_at desc) where status = 'dead';
comment on index public.push_notices_pending_recipient_idx is
  'Lets the claim take all of a recipient''s due notices at once, to fold them into one push.';
comment on index public.push_notices_settled_at_idx is
  'Lets the retention job find the oldest settled notices without scanning the queue.';

-- The deliveries ---------------------------------------------------------------

-- organization_id is the notice's (a delivery goes with its notice), without
-- a foreign key or index of its own, as on push_notices.
-- pgls-ignore lint/safety/preferBigInt: attempts counts send attempts, never near 2^31.
-- pgls-ignore lint/safety/preferBigintOverInt: attempts counts send attempts, never near 2^31.
create table if not exists public.push_deliveries (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  notice_id uuid not null references public.push_notices (id) on delete cascade,
  device_token_id uuid references public.device_tokens (id) on delete set null,
  provider text not null,
  status text not null default 'in_flight',
  attempts integer not null default 1,
  last_error text,
  sent_at timestamptz,
  created_at timestamptz not null default now(),
  constraint push_deliveries_notice_id_device_token_id_key unique (notice_id, device_token_id),
  constraint push_deliveries_provider_check check (provider in ('fcm', 'apns')),
  constraint push_deliveries_status_check check (status in ('in_flight', 'sent', 'retry', 'failed', 'unregistered')),
  constraint push_deliveries_attempts_check check (attempts >= 1),
  constraint push_deliveries_sent_at_check check ((status = 'sent') = (sent_at is not null))
)
-- Room on each page for the settle's update of each delivery (status, error,
-- sent time: in no index), so that it is heap-only, as on notifications.
with (fillfactor = 50);
comment on table public.push_deliveries is
  'One row per pushed notice (the carrier of a push) and device it was sent to: each device''s outcome. A retry sends only to devices not yet delivered or refused for good.';
comment on column public.push_deliveries.id is 'Identifier of the delivery; the stable per-device message id sent to the push services (apns-id).';
comment on column public.push_deliveries.organization_id is 'Organisation of the push; partitions the deliveries per tenant.';
comment on column public.push_deliveries.notice_id is 'The notice whose push this is (the carrier).';
comment on column public.push_deliveries.device_token_id is 'The device sent to; null once the token was deleted.';
comment on column public.push_deliveries.provider is 'Push service used: fcm or apns.';
comment on column public.push_deliveries.status is
  'in_flight (being sent), sent (accepted by the service), retry (failed, worth another try), failed (refused for good) or unregistered (the token is dead).';
comment on column public.push_deliveries.attempts is 'How many times the push was sent to this device.';
comment on column public.push_deliveries.last_error is 'Provider error code of the last failed attempt; a code, never personal data.';
comment on column public.push_deliveries.sent_at is 'When the push service accepted the push for this device.';
comment on column public.push_deliveries.created_at is 'When the push was first sent to this device.';
comment on constraint push_deliveries_notice_id_device_token_id_key on public.push_deliveries is
  'a push is delivered to a device once; a retry updates its delivery';
comment on constraint push_deliveries_provider_check on public.push_deliveries is 'the provider must be fcm or apns';
comment on constraint push_deliveries_status_check on public.push_deliveries is
  'the status must be in_flight, sent, retry, failed or unregistered';
comment on constraint push_deliveries_attempts_check on public.push_deliveries is 'a delivery is made by at least one attempt';
comment on constraint push_deliveries_sent_at_check on public.push_deliveries is 'a delivery has a sent time exactly when it was sent';
create index if not exists push_deliveries_device_token_id_idx
  on public.push_deliveries (device_token_id) where device_token_id is not null;
comment on index public.push_deliveries_device_token_id_idx is
  'Serves the foreign key to device_tokens (deleting a dead token clears its deliveries'' reference).';

-- The budget ledger ------------------------------------------------------------

-- A ledger row is read only on its own day; the retention job prunes the rows
-- with the settled pushes (maintenance/retention.py), a day at a time along
-- the key, which leads with the day. That pruning is also what removes a
-- deleted person's or organisation's rows: foreign keys for it cost the
-- claim a key check, a row lock on the person and an index entry for every
-- person's first push of each day (about 6 % of the database's work per
-- pushed message, migration 20261207200200).
-- pgls-ignore lint/safety/preferBigInt: used counts one person's pushes on one day (at most the budget, 50, plus immediate tiers).
-- pgls-ignore lint/safety/preferBigintOverSmallint: used counts one person's pushes on one day (at most the budget, 50, plus immediate tiers).
create table if not exists public.push_budget_days (
  recipient_id uuid not null,
  organization_id uuid not null,
  local_day date not null,
  used smallint not null default 0,
  constraint push_budget_days_pkey primary key (local_day, recipient_id, organization_id),
  constraint push_budget_days_used_check check (used >= 0)
);
comment on table public.push_budget_days is
  'Pushes each person got per organisation-local day: the daily budget''s ledger. The dispatcher locks a person''s row to decide, so two dispatchers never both spend the last push of the day.';
comment on column public.push_budget_days.recipient_id is 'The person.';
comment on column public.push_budget_days.organization_id is 'The organisation whose budget and calendar apply.';
comment on column public.push_budget_days.local_day is 'The day in the organisation''s timezone.';
comment on column public.push_budget_days.used is
  'Pushes sent to the person that day while their send window was open (immediate tiers included, even past the budget); a push sent while it is closed counts on no day.';
comment on constraint push_budget_days_used_check on public.push_budget_days is 'pushes used cannot be negative';

-- The rules the claim applies --------------------------------------------------

-- The one urgency order of a push's notices: the carrier of a digest is the
-- most urgent. Lapsed first, then the nearest expiry tier, then anything else
-- (scenario nudges); within each, high priority first.
create or replace function private.push_urgency(payload jsonb)
returns integer
language sql
immutable
parallel safe
as $$
  select case payload -> 'data'::text ->> 'tier'::text
           when 'expired'::text then 60
           when 'expiry_warning_7d'::text then 50
           when 'expiry_warning_30d'::text then 40
           when 'expiry_warning_60d'::text then 30
           when 'expiry_warning_90d'::text then 20
           else 10
         end
         + case when payload ->> 'priority'::text = 'high'::text then 1 else 0 end
$$;
comment on function private.push_urgency(jsonb) is
  'Urgency of a push payload (higher first): expired > 7 > 30 > 60 > 90 days > scenario and other notices; high priority first within each.';

-- Where a digest opens: a person told only about other people (a coordinator
-- or chapter admin about their mentors) opens the list of their mentors due
-- for renewal; anyone else their inbox.
create or replace function private.digest_link(about_others boolean)
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case when about_others then 'mentornotify://v1/mentors/renewals'
              else 'mentornotify://v1/inbox' end
$$;
comment on function private.digest_link(boolean) is
  'Deep link of a digest push: the mentors-due-for-renewal list for a push only about other people, else the inbox. Mirrors mentor_notify.domain.deep_links.digest_link.';

revoke all on function private.push_urgency(jsonb) from public, anon, authenticated, service_role;
revoke all on function private.digest_link(boolean) from public, anon, authenticated, service_role;

-- The queue, its deliveries and the ledger are the dispatcher's: RLS on, no
-- policy, service_role only.
alter table public.push_notices enable row level security;
alter table public.push_deliveries enable row level security;
alter table public.push_budget_days enable row level security;
revoke all on public.push_notices, public.push_deliveries, public.push_budget_days
  from anon, authenticated, service_role;
grant select, insert, update, delete on public.push_notices, public.push_deliveries,
  public.push_budget_days
  to service_role;

-- ==========================================================================
-- supabase/schemas/05_activities_and_scenarios.sql
-- ==========================================================================

-- Mentor activity, the per-chapter scenario rules (checked on write), the
-- record of scenario notifications (ticket 003) with race-free cooldowns, and
-- the delivery log of follow-up pushes (ticket 002), written by the push
-- dispatcher's settle statement as deliveries happen
-- (private.record_scenario_outcomes).

create table if not exists public.activities (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  chapter_id uuid not null,
  peer_mentor_id uuid not null references public.users (id) on delete cascade,
  activity_type text not null,
  occurred_at timestamptz not null,
  created_at timestamptz not null default now(),
  constraint activities_chapter_fkey foreign key (organization_id, chapter_id)
    references public.chapters (organization_id, id) on delete cascade,
  constraint activities_activity_type_check check (
    activity_type in ('conversation', 'group_session', 'phone_call', 'event', 'training', 'other')
  ),
  constraint activities_occurred_at_check check (occurred_at <= created_at + interval '1 day')
);
comment on table public.activities is 'Peer-mentoring activities a mentor has registered (conversations, group sessions, calls); the basis of inactivity nudges, milestones and welcome-back messages.';
comment on column public.activities.id is 'Identifier of the activity.';
comment on column public.activities.organization_id is 'Organisation of the chapter; must match the chapter''s.';
comment on column public.activities.chapter_id is 'Chapter the activity was done for.';
comment on column public.activities.peer_mentor_id is 'The mentor who did it.';
comment on column public.activities.activity_type is 'Kind of activity: conversation, group_session, phone_call, event, training or other.';
comment on column public.activities.occurred_at is 'When the activity took place.';
comment on column public.activities.created_at is 'When it was registered.';
comment on constraint activities_chapter_fkey on public.activities is 'the chapter must exist and belong to the same organisation';
comment on constraint activities_activity_type_check on public.activities is 'the activity type must be conversation, group_session, phone_call, event, training or other';
comment on constraint activities_occurred_at_check on public.activities is 'an activity cannot be registered more than a day ahead of when it is recorded';
-- Inactivity and milestone scans per mentor (ticket 003, risk 3).
create index if not exists activities_peer_mentor_id_occurred_at_idx on public.activities (peer_mentor_id, occurred_at desc);
create index if not exists activities_organization_id_chapter_id_idx on public.activities (organization_id, chapter_id);
create index if not exists activities_chapter_id_idx on public.activities (chapter_id);

-- Scenario rules are checked on write, whoever writes them: each scenario
-- type takes only its own parameters, each within its range, and messages are
-- message keys for both languages (texts live in the app's translations). The
-- same rules as mentor_notify.scenarios.rules, which also says which field is
-- wrong and why before the database is asked.

create or replace function private.is_day_count(value jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select pg_catalog.jsonb_typeof(value) = 'number'
    and (value #>> '{}')::numeric between 1 and 730
    and (value #>> '{}')::numeric = pg_catalog.trunc((value #>> '{}')::numeric)
$$;
comment on function private.is_day_count(jsonb) is
  'True for a JSON whole number of days from 1 to 730.';

create or replace function private.scenario_rule_problem(scenario_type text, parameters jsonb, messages jsonb)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  allowed text[];
  name text;
  item jsonb;
  previous numeric := 0;
begin
  allowed := case scenario_type
    when 'inactivity' then array['inactivity_days']
    when 'milestone' then array['milestones']
    when 'certification_expiry' then array['tier']
    when 'welcome_back' then array['inactive_days_before_return']
  end;
  if allowed is null then
    return 'unknown scenario type';
  end if;
  if pg_catalog.jsonb_typeof(parameters) is distinct from 'object' then
    return 'parameters must be a JSON object';
  end if;
  for name in select pg_catalog.jsonb_object_keys(parameters) loop
    if not name = any (allowed) then
      return pg_catalog.format('%s is not a %s parameter', name, scenario_type);
    end if;
  end loop;
  if parameters ? 'inactivity_days' and not private.is_day_count(parameters -> 'inactivity_days') then
    return 'inactivity_days must be a whole number of days from 1 to 730';
  end if;
  if parameters ? 'inactive_days_before_return'
     and not private.is_day_count(parameters -> 'inactive_days_before_return') then
    return 'inactive_days_before_return must be a whole number of days from 1 to 730';
  end if;
  if parameters ? 'tier' and not coalesce((parameters ->> 'tier') = any (array[
       'expiry_warning_90d', 'expiry_warning_60d', 'expiry_warning_30d', 'expiry_warning_7d', 'expired']), false) then
    return 'tier must be one of expiry_warning_90d, expiry_warning_60d, expiry_warning_30d, expiry_warning_7d, expired';
  end if;
  if parameters ? 'milestones' then
    if pg_catalog.jsonb_typeof(parameters -> 'milestones') is distinct from 'array'
       or pg_catalog.jsonb_array_length(parameters -> 'milestones') not between 1 and 20 then
      return 'milestones must be a list of 1 to 20 activity counts';
    end if;
    for item in select pg_catalog.jsonb_array_elements(parameters -> 'milestones') loop
      if pg_catalog.jsonb_typeof(item) <> 'number'
         or (item #>> '{}')::numeric <> pg_catalog.trunc((item #>> '{}')::numeric)
         or (item #>> '{}')::numeric not between 1 and 100000
         or (item #>> '{}')::numeric <= previous then
        return 'milestones must be whole activity counts from 1 to 100000, distinct and increasing';
      end if;
      previous := (item #>> '{}')::numeric;
    end loop;
  end if;
  if pg_catalog.jsonb_typeof(messages) is distinct from 'object'
     or (select pg_catalog.array_agg(k order by k) from pg_catalog.jsonb_object_keys(messages) k)
        is distinct from array['en', 'nb']
     or (messages ->> 'nb') !~ '^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$'
     or (messages ->> 'en') !~ '^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$' then
    return 'messages must hold one message key for nb and one for en';
  end if;
  return null;
end
$$;
comment on function private.scenario_rule_problem(text, jsonb, jsonb) is
  'What is wrong with a scenario rule''s parameters or messages, in words; null when nothing is.';

revoke all on function private.is_day_count(jsonb) from public;
revoke all on function private.scenario_rule_problem(text, jsonb, jsonb) from public;
grant execute on function private.is_day_count(jsonb) to authenticated, service_role;
grant execute on function private.scenario_rule_problem(text, jsonb, jsonb) to authenticated, service_role;

create table if not exists public.scenario_rules (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  chapter_id uuid,
  scenario_type text not null,
  parameters jsonb not null default '{}',
  cooldown interval not null,
  enabled boolean not null default true,
  messages jsonb not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint scenario_rules_chapter_fkey foreign key (organization_id, chapter_id)
    references public.chapters (organization_id, id) on delete cascade,
  constraint scenario_rules_scope_key unique nulls not distinct (organization_id, chapter_id, scenario_type),
  constraint scenario_rules_scenario_type_check check (
    scenario_type in ('inactivity', 'milestone', 'certification_expiry', 'welcome_back')
  ),
  constraint scenario_rules_parameters_check check (jsonb_typeof(parameters) = 'object'),
  constraint scenario_rules_cooldown_check check (cooldown >= interval '0'),
  constraint scenario_rules_messages_check check (
    jsonb_typeof(messages -> 'nb') = 'string' and jsonb_typeof(messages -> 'en') = 'string'
    and length(btrim(messages ->> 'nb')) > 0 and length(btrim(messages ->> 'en')) > 0
  ),
  constraint scenario_rules_rule_check check (private.scenario_rule_problem(scenario_type, parameters, messages) is null)
);
comment on table public.scenario_rules is 'When and how often a follow-up scenario fires: per chapter, or for the whole organisation when chapter_id is null (a chapter rule overrides the organisation default).';
comment on column public.scenario_rules.id is 'Identifier of the rule.';
comment on column public.scenario_rules.organization_id is 'Organisation the rule belongs to.';
comment on column public.scenario_rules.chapter_id is 'Chapter the rule applies to; null for the organisation-wide default.';
comment on column public.scenario_rules.scenario_type is 'inactivity, milestone, certification_expiry or welcome_back.';
comment on column public.scenario_rules.parameters is 'Scenario settings as a JSON object, e.g. {"inactivity_days":30}, {"milestones":[10,25,50,100]}, {"tier":"expiry_warning_30d"}.';
comment on column public.scenario_rules.cooldown is 'Least time between two notifications of this scenario to the same person.';
comment on column public.scenario_rules.enabled is 'Whether the engine evaluates the rule.';
comment on column public.scenario_rules.messages is 'Message keys per language: {"nb": "...", "en": "..."} (Norwegian Bokmål and English).';
comment on column public.scenario_rules.created_at is 'When the rule was created.';
comment on column public.scenario_rules.updated_at is 'When the rule last changed.';
comment on constraint scenario_rules_chapter_fkey on public.scenario_rules is 'the chapter must exist and belong to the same organisation';
comment on constraint scenario_rules_scope_key on public.scenario_rules is 'there is one rule per scenario type for each chapter and one organisation-wide default';
comment on constraint scenario_rules_scenario_type_check on public.scenario_rules is 'the scenario type must be inactivity, milestone, certification_expiry or welcome_back';
comment on constraint scenario_rules_parameters_check on public.scenario_rules is 'parameters must be a JSON object';
comment on constraint scenario_rules_cooldown_check on public.scenario_rules is 'the cooldown cannot be negative';
comment on constraint scenario_rules_messages_check on public.scenario_rules is 'messages must hold a non-empty Norwegian Bokmål ("nb") and English ("en") message key';
comment on constraint scenario_rules_rule_check on public.scenario_rules is
  'parameters must be those of the scenario type within their ranges (inactivity_days and inactive_days_before_return 1-730 days, milestones 1-20 increasing counts, tier an expiry tier), and messages one message key each for nb and en';
create index if not exists scenario_rules_organization_id_chapter_id_idx on public.scenario_rules (organization_id, chapter_id);
create index if not exists scenario_rules_chapter_id_idx on public.scenario_rules (chapter_id);

-- Ticket 003, with the scenario engine of issue 4: which rule raised each scenario notification,
-- cooldowns that no concurrent or retried run can break, and milestones once
-- ever. The engine writes every notification with its rule's cooldown_until;
-- a BEFORE INSERT trigger claims the person's cooldown for that scenario in
-- scenario_cooldowns with one conditional upsert, and drops the notification
-- (silently, so a set-based INSERT ... SELECT goes on with the other rows)
-- when an earlier one's cooldown has not ended. The upsert locks the person's
-- cooldown row, so a concurrent writer waits for the first to commit and then
-- sees its cooldown: row locks, not advisory locks, so a run notifying
-- thousands of people does not fill the lock table.

-- pgls-ignore lint/safety/preferBigInt: milestone_value is an activity count (rules allow at most 100000), never near 2^31; widening it would change the schema the code reads.
-- pgls-ignore lint/safety/preferBigintOverInt: milestone_value is an activity count (rules allow at most 100000), never near 2^31; widening it would change the schema the code reads.
create table if not exists public.scenario_notifications (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  scenario_type text not null,
  triggered_at timestamptz not null default now(),
  delivery_status text not null default 'pending',
  milestone_value integer,
  metadata jsonb,
  scenario_rule_id uuid references public.scenario_rules (id) on delete set null,
  cooldown_until timestamptz,
  constraint scenario_notifications_scenario_type_check check (
    scenario_type in ('inactivity', 'milestone', 'certification_expiry', 'welcome_back')
  ),
  constraint scenario_notifications_delivery_status_check check (delivery_status in ('pending', 'sent', 'failed', 'skipped')),
  constraint scenario_notifications_milestone_value_check check (
    (scenario_type = 'milestone') = (milestone_value is not null) and (milestone_value is null or milestone_value > 0)
  ),
  constraint scenario_notifications_metadata_check check (metadata is null or jsonb_typeof(metadata) = 'object'),
  constraint scenario_notifications_metadata_privacy_check check (metadata is null or not private.contains_personal_data(metadata)),
  constraint scenario_notifications_cooldown_until_check check (cooldown_until is null or cooldown_until >= triggered_at)
);
comment on table public.scenario_notifications is 'Every follow-up scenario notification raised for a person: the engine''s memory for cooldowns and once-only milestones. UUIDs and codes only, no personal data.';
comment on column public.scenario_notifications.id is 'Identifier of the scenario notification.';
comment on column public.scenario_notifications.user_id is 'The person notified (auth.users id).';
comment on column public.scenario_notifications.organization_id is 'Organisation whose rule fired; lets reporting and future sharding stay per tenant.';
comment on column public.scenario_notifications.scenario_type is 'inactivity, milestone, certification_expiry or welcome_back.';
comment on column public.scenario_notifications.triggered_at is 'When the scenario fired; cooldowns are measured from it.';
comment on column public.scenario_notifications.delivery_status is
  'pending until delivered, then sent, failed, or skipped (push opted out; the in-app notice stands).';
comment on column public.scenario_notifications.milestone_value is 'For milestone: the activity count crossed (e.g. 50), so "already sent?" needs no metadata parsing; null for other scenarios.';
comment on column public.scenario_notifications.metadata is 'Non-personal context (rule id, counts, tier) as a JSON object; never an identity number, e-mail or phone number.';
comment on column public.scenario_notifications.scenario_rule_id is
  'The scenario rule that raised the notification; null for notifications recorded without a rule (or whose rule was deleted).';
comment on column public.scenario_notifications.cooldown_until is
  'End of the quiet period this notification starts: no other notification of the same scenario reaches the person before it. Null: no cooldown.';
comment on constraint scenario_notifications_scenario_type_check on public.scenario_notifications is 'the scenario type must be inactivity, milestone, certification_expiry or welcome_back';
comment on constraint scenario_notifications_delivery_status_check on public.scenario_notifications is
  'the delivery status must be pending, sent, failed or skipped';
comment on constraint scenario_notifications_milestone_value_check on public.scenario_notifications is 'a milestone notification needs a positive milestone value, and only milestone notifications have one';
comment on constraint scenario_notifications_metadata_check on public.scenario_notifications is 'metadata must be a JSON object';
comment on constraint scenario_notifications_metadata_privacy_check on public.scenario_notifications is
  'metadata may hold ids, codes and counts only, never a national identity number, an e-mail address or a phone number';
comment on constraint scenario_notifications_cooldown_until_check on public.scenario_notifications is
  'a cooldown cannot end before the notification that starts it';
-- Cooldown lookups (ticket 003).
create index if not exists scenario_notifications_user_id_scenario_type_triggered_at_idx
  on public.scenario_notifications (user_id, scenario_type, triggered_at desc);
-- Organisation-level reporting (ticket 003).
create index if not exists scenario_notifications_org_scenario_type_triggered_at_idx
  on public.scenario_notifications (organization_id, scenario_type, triggered_at desc);
-- The most common cooldown question only counts delivered notifications.
create index if not exists scenario_notifications_sent_idx
  on public.scenario_notifications (user_id, scenario_type) where delivery_status = 'sent';
create index if not exists scenario_notifications_scenario_rule_id_idx
  on public.scenario_notifications (scenario_rule_id);
comment on index public.scenario_notifications_scenario_rule_id_idx is
  'Serves the foreign key to scenario_rules (deleting a rule clears the reference).';

create unique index if not exists scenario_notifications_milestone_once_key
  on public.scenario_notifications (user_id, organization_id, milestone_value)
  where scenario_type = 'milestone' and delivery_status <> 'failed';
comment on index public.scenario_notifications_milestone_once_key is
  'this milestone has already been celebrated; a person gets each milestone once per organisation, ever';

-- The notification a follow-up scenario raised points to its scenario
-- notification, whose delivery status and cooldown the push settles.
-- pgls-ignore lint/safety/multipleAlterTable: the table's other ALTER (row-level security, 04_notifications_and_push.sql) is a catalog change; neither scans the empty new table twice.
-- pgls-ignore lint/safety/addingForeignKeyConstraint: on a new database the table is empty, so the check finds nothing to refuse.
-- pgls-ignore lint/safety/constraintMissingNotValid: as above, validating an empty table refuses nothing.
alter table public.notifications
  drop constraint if exists notifications_scenario_notification_id_fkey,
  add constraint notifications_scenario_notification_id_fkey foreign key (scenario_notification_id)
    references public.scenario_notifications (id) on delete set null;
create index if not exists notifications_scenario_notification_id_idx
  on public.notifications (scenario_notification_id) where scenario_notification_id is not null;
comment on index public.notifications_scenario_notification_id_idx is
  'Serves the foreign key to scenario_notifications (deleting one clears the reference).';

-- Per person and scenario, the cooldown in force. A person's, across their
-- organisations, like the cooldown lookup of ticket 003.
create table if not exists public.scenario_cooldowns (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  scenario_type text not null,
  last_triggered_at timestamptz not null,
  cooldown_until timestamptz not null,
  constraint scenario_cooldowns_user_id_scenario_type_key unique (user_id, scenario_type),
  constraint scenario_cooldowns_scenario_type_check check (
    scenario_type in ('inactivity', 'milestone', 'certification_expiry', 'welcome_back')
  ),
  constraint scenario_cooldowns_period_check check (cooldown_until >= last_triggered_at)
);
comment on table public.scenario_cooldowns is
  'The cooldown in force per person and scenario, kept by the scenario_notifications trigger; the lock that makes cooldowns race-free. Internal: no access for app users.';
comment on column public.scenario_cooldowns.id is 'Identifier of the row.';
comment on column public.scenario_cooldowns.user_id is 'The person (auth.users id).';
comment on column public.scenario_cooldowns.scenario_type is 'inactivity, milestone, certification_expiry or welcome_back.';
comment on column public.scenario_cooldowns.last_triggered_at is 'When the notification that started the cooldown was raised.';
comment on column public.scenario_cooldowns.cooldown_until is 'No notification of this scenario reaches the person before this instant.';
comment on constraint scenario_cooldowns_user_id_scenario_type_key on public.scenario_cooldowns is
  'a person has one cooldown per scenario';
comment on constraint scenario_cooldowns_scenario_type_check on public.scenario_cooldowns is
  'the scenario type must be inactivity, milestone, certification_expiry or welcome_back';
comment on constraint scenario_cooldowns_period_check on public.scenario_cooldowns is
  'a cooldown cannot end before the notification that started it';

create or replace function private.scenario_notifications_claim_cooldown()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  claimed uuid;
begin
  -- No cooldown asked for, or a delivery already known to have failed (it
  -- reached nobody): nothing to claim.
  if new.cooldown_until is null or new.delivery_status = 'failed' then
    return new;
  end if;
  insert into public.scenario_cooldowns as c (user_id, scenario_type, last_triggered_at, cooldown_until)
  values (new.user_id, new.scenario_type, new.triggered_at, new.cooldown_until)
  on conflict (user_id, scenario_type) do update
    set last_triggered_at = excluded.last_triggered_at,
        cooldown_until = excluded.cooldown_until
    where c.cooldown_until <= excluded.last_triggered_at
  returning c.id into claimed;
  if claimed is null then
    return null;
  end if;
  return new;
end
$$;
comment on function private.scenario_notifications_claim_cooldown() is
  'Claims the person''s cooldown for the scenario, or drops the notification when an earlier cooldown has not ended.';
revoke all on function private.scenario_notifications_claim_cooldown() from public;

create or replace trigger scenario_notifications_claim_cooldown
  before insert on public.scenario_notifications
  for each row execute function private.scenario_notifications_claim_cooldown();

-- Ticket 002. idempotency_key convention: lowercase hex SHA-256 of
-- '{peer_mentor_id}:{scenario_rule_id}:{date_window}' (plus the channel and
-- device where one notification goes to several devices), computed by the
-- caller; the UNIQUE constraint makes a retried delivery record collide.
create table if not exists public.follow_up_notification_log (
  log_id uuid primary key default gen_random_uuid(),
  peer_mentor_id uuid not null references public.users (id) on delete cascade,
  chapter_id uuid not null,
  scenario_rule_id uuid not null references public.scenario_rules (id) on delete cascade,
  delivered_at timestamptz not null,
  delivery_channel text not null,
  idempotency_key text not null,
  status text not null,
  created_at timestamptz not null default now(),
  organization_id uuid not null,
  notification_id uuid references public.notifications (id) on delete set null,
  failure_reason text,
  constraint follow_up_notification_log_chapter_fkey foreign key (organization_id, chapter_id)
    references public.chapters (organization_id, id) on delete cascade,
  constraint follow_up_notification_log_idempotency_key_key unique (idempotency_key),
  constraint follow_up_notification_log_delivery_channel_check check (delivery_channel in ('fcm', 'apns')),
  constraint follow_up_notification_log_status_check check (status in ('delivered', 'failed', 'skipped')),
  constraint follow_up_notification_log_idempotency_key_check check (idempotency_key ~ '^[0-9a-f]{64}$'),
  constraint follow_up_notification_log_failure_reason_check check (
    failure_reason is null or failure_reason ~ '^[A-Za-z0-9_.:-]{1,100}$'
  )
);
comment on table public.follow_up_notification_log is 'Delivery record of scenario-driven follow-up pushes (delivered, failed or skipped, per channel), read by coordinators for their chapters.';
comment on column public.follow_up_notification_log.log_id is 'Identifier of the delivery record.';
comment on column public.follow_up_notification_log.peer_mentor_id is 'The mentor the push went to.';
comment on column public.follow_up_notification_log.chapter_id is 'Chapter whose coordinators follow the mentor up.';
comment on column public.follow_up_notification_log.scenario_rule_id is 'Rule that raised the notification; deleting the rule deletes its delivery history.';
comment on column public.follow_up_notification_log.delivered_at is 'When the delivery attempt concluded.';
comment on column public.follow_up_notification_log.delivery_channel is 'Push service used: fcm or apns.';
comment on column public.follow_up_notification_log.idempotency_key is 'Lowercase hex SHA-256 of mentor, rule and date window (see the note above the table); unique so a retried record cannot duplicate.';
comment on column public.follow_up_notification_log.status is 'delivered, failed or skipped (the person opted out of push for the category).';
comment on column public.follow_up_notification_log.created_at is 'When the record was written (audit).';
comment on column public.follow_up_notification_log.organization_id is 'Organisation of the chapter; must match the chapter''s.';
comment on column public.follow_up_notification_log.notification_id is 'The in-app notification that was pushed, while it exists.';
comment on column public.follow_up_notification_log.failure_reason is 'Provider error code for failed deliveries (e.g. UNREGISTERED); a code, never personal data.';
comment on constraint follow_up_notification_log_chapter_fkey on public.follow_up_notification_log is 'the chapter must exist and belong to the same organisation';
comment on constraint follow_up_notification_log_idempotency_key_key on public.follow_up_notification_log is 'this delivery is already recorded';
comment on constraint follow_up_notification_log_delivery_channel_check on public.follow_up_notification_log is 'the delivery channel must be fcm or apns';
comment on constraint follow_up_notification_log_status_check on public.follow_up_notification_log is 'the status must be delivered, failed or skipped';
comment on constraint follow_up_notification_log_idempotency_key_check on public.follow_up_notification_log is 'the idempotency key must be a lowercase hex SHA-256 digest (64 characters), never readable data';
comment on constraint follow_up_notification_log_failure_reason_check on public.follow_up_notification_log is 'a failure reason must be a short error code (letters, digits, _ . : -), not free text';
-- Coordinator reads (ticket 002).
create index if not exists follow_up_notification_log_peer_mentor_id_chapter_id_idx
  on public.follow_up_notification_log (peer_mentor_id, chapter_id);
create index if not exists follow_up_notification_log_scenario_rule_id_idx on public.follow_up_notification_log (scenario_rule_id);
create index if not exists follow_up_notification_log_organization_id_chapter_id_idx
  on public.follow_up_notification_log (organization_id, chapter_id);
create index if not exists follow_up_notification_log_chapter_id_delivered_at_idx
  on public.follow_up_notification_log (chapter_id, delivered_at desc);
create index if not exists follow_up_notification_log_notification_id_idx on public.follow_up_notification_log (notification_id);

-- Retention: `mentor-notify maintenance prune` deletes delivery records older
-- than the retention period in small batches, oldest first. Each batch must
-- find its rows through an index on the record's time, or every batch would
-- scan the whole table. cert_notification_log already has one on sent_at.
create index if not exists follow_up_notification_log_delivered_at_idx
  on public.follow_up_notification_log (delivered_at);
comment on index public.follow_up_notification_log_delivered_at_idx is
  'Lets the retention job find the oldest delivery records without scanning the table.';

-- The scenario side of a push outcome, one place for the claim (skipped,
-- dead, no device) and the settle statement (sent, failed): the scenario
-- notification's delivery status, the cooldown release when it failed (the
-- notice reached nobody; a later cooldown that took over is left alone), and
-- the coordinators' follow-up log, once per scenario notification and
-- channel. `outcomes` is a JSON array of {notification_id, outcome (sent,
-- failed or skipped), channels (fcm/apns), failure_reason}. Returns how many
-- scenario notifications changed.
create or replace function private.record_scenario_outcomes(outcomes jsonb, at timestamptz)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  changed integer;
begin
  with outcome as (
    select o.notification_id, o.outcome, o.channels, o.failure_reason,
           s.id as scenario_id, s.user_id, s.organization_id, s.scenario_rule_id, s.triggered_at
    from pg_catalog.jsonb_to_recordset(outcomes) as o(
      notification_id uuid, outcome text, channels text[], failure_reason text)
    join public.notifications n on n.id = o.notification_id
    join public.scenario_notifications s on s.id = n.scenario_notification_id
  ),
  chapter as (
    -- The chapter whose coordinators follow the mentor up: the rule's chapter,
    -- else the mentor's first chapter in the organisation.
    select o.*, coalesce(
             (select r.chapter_id from public.scenario_rules r where r.id = o.scenario_rule_id),
             (select m.chapter_id from public.chapter_memberships m
              where m.user_id = o.user_id and m.organization_id = o.organization_id
                and m.role = 'peer_mentor'
              order by m.chapter_id limit 1)) as chapter_id
    from outcome o
    where o.scenario_rule_id is not null
  ),
  logged as (
    insert into public.follow_up_notification_log (
      peer_mentor_id, chapter_id, scenario_rule_id, delivered_at, delivery_channel,
      idempotency_key, status, organization_id, notification_id, failure_reason)
    select c.user_id, c.chapter_id, c.scenario_rule_id, at, channel,
           private.idempotency_key('follow_up', c.scenario_id::text, channel),
           case c.outcome when 'sent' then 'delivered' else c.outcome end,
           c.organization_id, c.notification_id,
           case when c.outcome = 'failed' then pg_catalog.left(pg_catalog.regexp_replace(
             coalesce(nullif(c.failure_reason, ''), 'unknown'), '[^A-Za-z0-9_.:-]', '_', 'g'), 100) end
    from chapter c
    cross join lateral pg_catalog.unnest(c.channels) as channel
    where c.chapter_id is not null
    on conflict (idempotency_key) do nothing
    returning 1
  ),
  moved as (
    -- Sent once delivered; failed or skipped only from pending.
    update public.scenario_notifications s
    set delivery_status = o.outcome
    from outcome o
    where s.id = o.scenario_id
      and (o.outcome = 'sent' and s.delivery_status <> 'sent'
           or o.outcome in ('failed', 'skipped') and s.delivery_status = 'pending')
    returning s.id, s.user_id, s.scenario_type, s.triggered_at, s.cooldown_until, s.delivery_status
  ),
  released as (
    update public.scenario_cooldowns c
    set cooldown_until = c.last_triggered_at
    from moved m
    where m.delivery_status = 'failed'
      and m.cooldown_until is not null
      and c.user_id = m.user_id
      and c.scenario_type = m.scenario_type
      and c.last_triggered_at = m.triggered_at
      and c.cooldown_until = m.cooldown_until
    returning 1
  )
  -- Data-modifying CTEs run to completion whether read or not.
  select count(*) from moved into changed;
  return changed;
end
$$;
comment on function private.record_scenario_outcomes(jsonb, timestamptz) is
  'Records what became of scenario notices'' pushes: scenario_notifications.delivery_status, the cooldown release on failure, and follow_up_notification_log (once per scenario notification and channel).';

revoke all on function private.record_scenario_outcomes(jsonb, timestamptz)
  from public, anon, authenticated, service_role;

alter table public.activities enable row level security;
alter table public.scenario_rules enable row level security;
alter table public.scenario_notifications enable row level security;
alter table public.follow_up_notification_log enable row level security;
-- scenario_cooldowns: RLS on and no policy; internal to the trigger above.
alter table public.scenario_cooldowns enable row level security;

drop policy if exists activities_select_own_or_led on public.activities;
create policy activities_select_own_or_led on public.activities
  for select to authenticated
  using (peer_mentor_id = (select auth.uid()) or chapter_id = any ((select private.led_chapter_ids())::uuid[]));

-- Activities: only a peer mentor registers activities, only their own, only
-- in a chapter where they are a peer mentor, and never dated after now.
drop policy if exists activities_insert_own on public.activities;
create policy activities_insert_own on public.activities
  for insert to authenticated
  with check (
    peer_mentor_id = (select auth.uid())
    and chapter_id = any ((select private.peer_mentor_chapter_ids())::uuid[])
    and occurred_at <= (select now())
  );
comment on policy activities_insert_own on public.activities is
  'A peer mentor registers their own activities, in a chapter where they are a peer mentor, dated no later than now.';

drop policy if exists scenario_rules_select_led on public.scenario_rules;
create policy scenario_rules_select_led on public.scenario_rules
  for select to authenticated
  using (
    chapter_id = any ((select private.led_chapter_ids())::uuid[])
    or (chapter_id is null and organization_id = any ((select private.led_organization_ids())::uuid[]))
  );

drop policy if exists scenario_notifications_select_own on public.scenario_notifications;
create policy scenario_notifications_select_own on public.scenario_notifications
  for select to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists follow_up_notification_log_select_led on public.follow_up_notification_log;
create policy follow_up_notification_log_select_led on public.follow_up_notification_log
  for select to authenticated
  using (chapter_id = any ((select private.led_chapter_ids())::uuid[]));

-- Privileges (see the grants note in 01_organisations_and_people.sql). A person registers
-- their own activities; when it was registered (created_at) is the
-- database's clock, never the client's, so the occurred-at check cannot be
-- stepped round. The cooldown table is the trigger's (and service_role's).
revoke all on public.activities, public.scenario_rules, public.scenario_notifications,
  public.scenario_cooldowns, public.follow_up_notification_log
  from anon, authenticated, service_role;
grant select on public.activities, public.scenario_rules, public.scenario_notifications,
  public.follow_up_notification_log
  to authenticated;
grant insert (id, organization_id, chapter_id, peer_mentor_id, activity_type, occurred_at)
  on public.activities to authenticated;
grant select, insert, update, delete on public.activities, public.scenario_rules,
  public.scenario_notifications, public.scenario_cooldowns, public.follow_up_notification_log
  to service_role;

-- ==========================================================================
-- supabase/schemas/06_mentor_directory.sql
-- ==========================================================================

-- The mentor directory coordinators and the public browse. A
-- mentor whose certificate has lapsed must vanish from it at once (ticket 000
-- and 004 risks): the read policy compares the lapse instant with now() directly, so
-- it holds between sweeps, and suppression_status lets the sweep (or an
-- administrator) hide a mentor for other reasons.

create table if not exists public.mentor_directory (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  chapter_id uuid not null,
  peer_mentor_id uuid not null,
  peer_mentor_role text not null generated always as ('peer_mentor') stored,
  display_name text not null,
  suppression_status text not null default 'active',
  suppression_reason text,
  suppressed_at timestamptz,
  certification_expiry_date date,
  lapses_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint mentor_directory_chapter_fkey foreign key (organization_id, chapter_id)
    references public.chapters (organization_id, id) on delete cascade,
  constraint mentor_directory_membership_fkey foreign key (chapter_id, peer_mentor_id, peer_mentor_role)
    references public.chapter_memberships (chapter_id, user_id, role) on delete cascade,
  constraint mentor_directory_chapter_id_peer_mentor_id_key unique (chapter_id, peer_mentor_id),
  constraint mentor_directory_display_name_check check (length(btrim(display_name)) between 1 and 200),
  constraint mentor_directory_suppression_status_check check (suppression_status in ('active', 'suppressed')),
  constraint mentor_directory_suppression_reason_check check (
    suppression_reason is null or suppression_reason in ('certification_lapsed', 'manual')
  ),
  constraint mentor_directory_suppression_consistency_check check (
    case when suppression_status = 'suppressed'
      then suppression_reason is not null and suppressed_at is not null
      else suppression_reason is null and suppressed_at is null
    end
  )
);
comment on table public.mentor_directory is 'Listing of peer mentors per chapter that coordinators and the public browse to find a mentor; suppressed or lapsed mentors are never shown.';
comment on column public.mentor_directory.id is 'Identifier of the listing.';
comment on column public.mentor_directory.organization_id is 'Organisation of the chapter; must match the chapter''s.';
comment on column public.mentor_directory.chapter_id is 'Chapter the mentor is listed under.';
comment on column public.mentor_directory.peer_mentor_id is 'The listed mentor; must hold the peer_mentor role in the chapter.';
comment on column public.mentor_directory.peer_mentor_role is 'Always peer_mentor; exists so the foreign key can require that role.';
comment on column public.mentor_directory.display_name is 'Name the mentor has agreed to show publicly in the listing.';
comment on column public.mentor_directory.suppression_status is 'active (listed) or suppressed (hidden by the sweep or an administrator).';
comment on column public.mentor_directory.suppression_reason is 'Why the mentor is hidden: certification_lapsed or manual; null while active.';
comment on column public.mentor_directory.suppressed_at is 'When the mentor was hidden; null while active.';
comment on column public.mentor_directory.certification_expiry_date is 'Latest expiry date among the mentor''s certificates from this organisation, kept by the database; null when the mentor holds none.';
comment on column public.mentor_directory.lapses_at is 'First instant the mentor is no longer certified: midnight after certification_expiry_date in the organisation''s timezone. Kept by the database so the read policy is one indexable comparison.';
comment on column public.mentor_directory.created_at is 'When the mentor was first listed.';
comment on column public.mentor_directory.updated_at is 'When the listing last changed.';
comment on constraint mentor_directory_chapter_fkey on public.mentor_directory is 'the chapter must exist and belong to the same organisation';
comment on constraint mentor_directory_membership_fkey on public.mentor_directory is 'only a person holding the peer_mentor role in the chapter can be listed under it';
comment on constraint mentor_directory_chapter_id_peer_mentor_id_key on public.mentor_directory is 'a mentor is listed once per chapter';
comment on constraint mentor_directory_display_name_check on public.mentor_directory is 'the display name must be 1-200 characters and not blank';
comment on constraint mentor_directory_suppression_status_check on public.mentor_directory is 'the suppression status must be active or suppressed';
comment on constraint mentor_directory_suppression_reason_check on public.mentor_directory is 'the suppression reason must be certification_lapsed or manual';
comment on constraint mentor_directory_suppression_consistency_check on public.mentor_directory is 'a suppressed listing needs a reason and a time, and an active one has neither';
-- The listing query and its policy predicate (ticket 000, risk 1): only
-- active rows are ever listed, so the index holds only those.
create index if not exists mentor_directory_listable_idx
  on public.mentor_directory (chapter_id, lapses_at) where suppression_status = 'active';
-- The sweep's search for active listings whose certificate has lapsed.
create index if not exists mentor_directory_active_lapses_at_idx
  on public.mentor_directory (lapses_at) where suppression_status = 'active';
create index if not exists mentor_directory_organization_id_peer_mentor_id_idx
  on public.mentor_directory (organization_id, peer_mentor_id);
create index if not exists mentor_directory_membership_idx
  on public.mentor_directory (chapter_id, peer_mentor_id, peer_mentor_role);
create index if not exists mentor_directory_organization_id_chapter_id_idx
  on public.mentor_directory (organization_id, chapter_id);

-- The lapse rule in one place: a certificate is valid through its expiry date
-- in the organisation's own calendar, so the mentor lapses at the midnight
-- that starts the next local day. Every listing's lapses_at is computed here.
create or replace function private.lapse_instant(expiry_date date, timezone text)
returns timestamptz
language sql
immutable
parallel safe
set search_path = ''
as $$
  select ((expiry_date + 1)::timestamp at time zone timezone)
$$;
comment on function private.lapse_instant(date, text) is
  'First instant a certificate expiring on expiry_date is no longer valid: the midnight after it in the given timezone.';

-- Certificate dates are copied into the listing whenever a listing is written.
create or replace function private.mentor_directory_before_write()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  select latest.expiry_date,
         private.lapse_instant(latest.expiry_date, o.timezone)
    into new.certification_expiry_date, new.lapses_at
  from public.organizations o
  cross join lateral (
    select max(c.expiry_date) as expiry_date
    from public.peer_mentor_certifications c
    where c.organization_id = new.organization_id and c.peer_mentor_id = new.peer_mentor_id
  ) latest
  where o.id = new.organization_id;
  if tg_op = 'UPDATE' then
    new.updated_at := pg_catalog.now();
  end if;
  return new;
end
$$;
comment on function private.mentor_directory_before_write() is
  'Fills certification_expiry_date and lapses_at of a listing from the mentor''s certificates and the organisation''s timezone.';

-- After certificates change, refresh the listings of the mentors concerned,
-- set-based, so a bulk load of a million certificates is one statement. The
-- mentors concerned are read from the statement's transition tables: the new
-- rows (insert), the old ones (delete), or both (update, which may move a
-- certificate to another mentor). One UPDATE serves all three, with the set
-- of mentors spliced in; EXECUTE sees the transition tables as a static
-- statement would.
create or replace function private.peer_mentor_certifications_refresh_directory()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  organisations uuid[];
  mentors uuid[];
begin
  if tg_op = 'UPDATE' then
    select pg_catalog.array_agg(t.organization_id), pg_catalog.array_agg(t.peer_mentor_id)
      into organisations, mentors
    from (select organization_id, peer_mentor_id from changed_rows
          union
          select organization_id, peer_mentor_id from previous_rows) t;
  else
    select pg_catalog.array_agg(t.organization_id), pg_catalog.array_agg(t.peer_mentor_id)
      into organisations, mentors
    from (select distinct organization_id, peer_mentor_id from changed_rows) t;
  end if;
  update public.mentor_directory d
  set certification_expiry_date = latest.expiry_date,
      lapses_at = private.lapse_instant(latest.expiry_date, o.timezone),
      updated_at = pg_catalog.now()
  from unnest(organisations, mentors) as touched(organization_id, peer_mentor_id)
  join public.organizations o on o.id = touched.organization_id
  cross join lateral (
    select max(c.expiry_date) as expiry_date
    from public.peer_mentor_certifications c
    where c.organization_id = touched.organization_id and c.peer_mentor_id = touched.peer_mentor_id
  ) latest
  where d.organization_id = touched.organization_id
    and d.peer_mentor_id = touched.peer_mentor_id
    and d.certification_expiry_date is distinct from latest.expiry_date;
  return null;
end
$$;
comment on function private.peer_mentor_certifications_refresh_directory() is
  'Recomputes certification_expiry_date and lapses_at of the listings of mentors whose certificates were inserted, changed or deleted.';

-- A new organisation timezone moves every listing's lapse instant.
create or replace function private.organizations_refresh_directory()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.mentor_directory d
  set lapses_at = private.lapse_instant(d.certification_expiry_date, new.timezone),
      updated_at = pg_catalog.now()
  where d.organization_id = new.id;
  return null;
end
$$;
comment on function private.organizations_refresh_directory() is
  'Recomputes lapses_at of an organisation''s listings after its timezone changes.';

revoke all on function private.lapse_instant(date, text) from public, anon, authenticated, service_role;
revoke all on function private.mentor_directory_before_write() from public;
revoke all on function private.peer_mentor_certifications_refresh_directory() from public;
revoke all on function private.organizations_refresh_directory() from public;

create or replace trigger mentor_directory_before_write
  before insert or update of organization_id, peer_mentor_id on public.mentor_directory
  for each row execute function private.mentor_directory_before_write();

create or replace trigger peer_mentor_certifications_directory_after_insert
  after insert on public.peer_mentor_certifications
  referencing new table as changed_rows
  for each statement execute function private.peer_mentor_certifications_refresh_directory();

create or replace trigger peer_mentor_certifications_directory_after_update
  after update on public.peer_mentor_certifications
  referencing old table as previous_rows new table as changed_rows
  for each statement execute function private.peer_mentor_certifications_refresh_directory();

create or replace trigger peer_mentor_certifications_directory_after_delete
  after delete on public.peer_mentor_certifications
  referencing old table as changed_rows
  for each statement execute function private.peer_mentor_certifications_refresh_directory();

create or replace trigger organizations_refresh_directory
  after update of timezone on public.organizations
  for each row when (old.timezone is distinct from new.timezone)
  execute function private.organizations_refresh_directory();

-- The expiry sweep's directory step (src/mentor_notify/expiry/sql/directory.sql)
-- looks, per organisation, for active listings whose certificate has lapsed
-- and for listings it hid itself whose certificate is valid again. Without an
-- index on those columns both halves read every listing of the organisation
-- (at a million mentors, two scans of 330,000 rows per organisation each
-- night to change a few hundred); with this one each half reads only the rows
-- it changes.
create index if not exists mentor_directory_organization_id_suppression_idx
  on public.mentor_directory (organization_id, suppression_status, certification_expiry_date);
comment on index public.mentor_directory_organization_id_suppression_idx is
  'Lets the expiry sweep''s directory step find an organisation''s lapsed active listings, and the listings it hid that are valid again, without reading the others.';

alter table public.mentor_directory enable row level security;

-- Visible to the public and to signed-in users alike: listed, not suppressed,
-- and certified right now. The date test does not wait for the sweep.
drop policy if exists mentor_directory_select_listable on public.mentor_directory;
create policy mentor_directory_select_listable on public.mentor_directory
  for select to anon, authenticated
  using (suppression_status = 'active' and lapses_at > (select now()));

-- Privileges (see the grants note in 01_organisations_and_people.sql). The public listing:
-- who is listed, in which chapter, under which name. No certificate date: an
-- anonymous visitor has no reason to learn when a named volunteer's
-- certificate lapses, and a coordinator reads the certificates of their own
-- mentors from peer_mentor_certifications.
revoke all on public.mentor_directory from anon, authenticated, service_role;
grant select (id, organization_id, chapter_id, peer_mentor_id, display_name)
  on public.mentor_directory to anon, authenticated;
grant select, insert, update, delete on public.mentor_directory to service_role;

-- ==========================================================================
-- supabase/schemas/07_live_inbox.sql
-- ==========================================================================

-- The in-app inbox (public.notifications), live and countable:
--
--   1. Live updates without polling. Each signed-in person receives the
--      changes of their own inbox on the private Realtime channel
--      `inbox:<their user id>`: a row trigger calls
--      realtime.broadcast_changes() when a notification is created or its
--      seen/read/archived marks change, and a policy on realtime.messages lets
--      a person join only the channel named after their own id.
--   2. The badge. One partial index holds exactly the inbox's unread notices
--      (read_at and archived_at null) per recipient, so the app's PostgREST
--      count requests (unread, and unseen = unread and not yet seen) and its
--      "mark all as read" PATCH reach only those rows.
--
-- Why Broadcast and not Postgres Changes: Supabase recommends Broadcast for
-- subscribing to database changes "for scalability and security"; Postgres
-- Changes "does not scale as well", because every change is authorised
-- against every subscriber one by one, on a single thread (Supabase guides
-- "Subscribing to Database Changes" and "Postgres Changes", section
-- "Limitations"; checked 2026-11-29). With Broadcast the authorisation
-- happens once, when a person joins their channel, through RLS on
-- realtime.messages (Supabase guide "Realtime Authorization"; checked
-- 2026-11-29). So public.notifications is deliberately NOT added to the
-- supabase_realtime publication: that would deliver every change a second
-- time through Postgres Changes.
--
-- Where Realtime does not exist (plain PostgreSQL for local work and tests:
-- no `realtime` schema), the Realtime part is skipped by the guards below and
-- only the index is created; the file applies unchanged everywhere. It grants
-- nothing: the app already holds SELECT on notifications and UPDATE of
-- seen_at/read_at/archived_at (04_notifications_and_push.sql), and
-- realtime.messages and its privileges belong to the platform.

-- ---------------------------------------------------------------------------
-- The badge and "mark all as read".
-- PostgREST adds the read policy's `recipient_id = (select auth.uid())` to the
-- app's filters `read_at=is.null&archived_at=is.null` (unread) and
-- `seen_at=is.null&read_at=is.null&archived_at=is.null` (unseen). Without this
-- index each request walks all of the person's notifications through
-- notifications_recipient_id_created_at_idx and reads every row to discard
-- the read ones; with it, only the unread entries (a few per person, however
-- long the history) are touched, and a count needs no table access once the
-- pages are all-visible. Partial on the unread rows, so it stays small: a
-- notice leaves it when it is read or archived.
-- ---------------------------------------------------------------------------
create index if not exists notifications_unread_idx
  on public.notifications (recipient_id, seen_at)
  where read_at is null and archived_at is null;
comment on index public.notifications_unread_idx is
  'The inbox badge: each recipient''s unread, unarchived notifications (seen_at for the unseen count); serves the app''s count requests and its "mark all as read".';

-- ---------------------------------------------------------------------------
-- Live inbox over Realtime Broadcast (only where Supabase Realtime exists).
-- ---------------------------------------------------------------------------
do $guard$
begin
  if to_regprocedure('realtime.broadcast_changes(text, text, text, text, text, record, record, text)') is null then
    raise notice 'live inbox: realtime.broadcast_changes() does not exist here (not Supabase); no broadcast trigger';
    return;
  end if;

  -- SECURITY DEFINER, as Supabase's guide writes it: the trigger also fires
  -- when a person marks their own notice read (role authenticated), and the
  -- message must be written to realtime.messages whatever that person may do
  -- there. It sends only to the recipient's own topic, only what the
  -- recipient may read anyway (the row; notifications hold ids and codes,
  -- never personal data). Pinned, empty search_path; everything qualified.
  execute $ddl$
    create or replace function private.notifications_broadcast_to_inbox()
    returns trigger
    language plpgsql
    security definer
    set search_path = ''
    as $fn$
    begin
      perform realtime.broadcast_changes(
        'inbox:' || new.recipient_id::text,  -- topic: the recipient's private channel
        tg_op,                               -- event: INSERT or UPDATE
        tg_op,                               -- operation
        tg_table_name,
        tg_table_schema,
        new,
        old
      );
      return null;
    end
    $fn$
  $ddl$;
  comment on function private.notifications_broadcast_to_inbox() is
    'Live inbox: sends a notification''s creation, or a change of its seen/read/archived marks, to its recipient''s private Realtime channel inbox:<recipient id> (Realtime Broadcast from the database).';
  -- A trigger function needs no EXECUTE privilege to fire; nobody calls it.
  revoke all on function private.notifications_broadcast_to_inbox() from public;

  -- New notices appear in the inbox at once.
  create or replace trigger notifications_broadcast_insert
    after insert on public.notifications
    for each row execute function private.notifications_broadcast_to_inbox();
  comment on trigger notifications_broadcast_insert on public.notifications is
    'Live inbox: a new notification is broadcast to its recipient''s channel inbox:<recipient id>, so the app shows it and updates the badge without polling.';

  -- Seen/read/archived marks set on one device show on the person's others.
  -- Only those marks: the dispatcher's status changes (pending, sent, failed)
  -- mean nothing to the inbox and would double the traffic. Deletes are not
  -- broadcast: they are cascades (a person or organisation removed) or, in
  -- time, retention pruning of old notices, which nobody watches live.
  create or replace trigger notifications_broadcast_marks
    after update of seen_at, read_at, archived_at on public.notifications
    for each row
    when (old.seen_at is distinct from new.seen_at
          or old.read_at is distinct from new.read_at
          or old.archived_at is distinct from new.archived_at)
    execute function private.notifications_broadcast_to_inbox();
  comment on trigger notifications_broadcast_marks on public.notifications is
    'Live inbox: a change of a notification''s seen/read/archived marks is broadcast to its recipient''s channel, so every device of theirs shows the same badge.';
end
$guard$;

-- Who may listen: a signed-in person joins only the channel named after their
-- own id, and only for Broadcast messages. No INSERT policy, so no client can
-- send on an inbox channel (forged notices are impossible); only the trigger
-- above writes there. Realtime evaluates this once, when a client joins the
-- private channel (and again on a new access token), not per message
-- (Supabase guide "Realtime Authorization", helper realtime.topic(); checked
-- 2026-11-29). Calls wrapped in (select ...) so they run once per statement.
-- The message's own topic is checked as well as the joined one: Realtime
-- filters what it delivers by topic itself, but the policy must hold on its
-- own, for any SQL session that reads realtime.messages with realtime.topic
-- set to its own inbox.
-- Permissive policies add up: any other policy on realtime.messages for
-- authenticated (e.g. the guide's `using (true)` example) would open these
-- channels to everyone, so none may be added without narrowing it the same way.
do $guard$
begin
  if to_regclass('realtime.messages') is null or to_regprocedure('realtime.topic()') is null then
    raise notice 'live inbox: realtime.messages does not exist here (not Supabase); no channel policy';
    return;
  end if;

  drop policy if exists mentor_notify_inbox_receive_own on realtime.messages;
  create policy mentor_notify_inbox_receive_own on realtime.messages
    for select to authenticated
    using (
      realtime.messages.extension = 'broadcast'
      and (select realtime.topic()) = 'inbox:' || (select auth.uid())::text
      and realtime.messages.topic = 'inbox:' || (select auth.uid())::text
    );
  comment on policy mentor_notify_inbox_receive_own on realtime.messages is
    'Live inbox: a signed-in person may join (and receive on) only their own private channel inbox:<their user id>, and read only the messages of that topic; nobody may send on it.';
end
$guard$;

-- ==========================================================================
-- supabase/schemas/08_rule_functions.sql
-- ==========================================================================

-- The business rules that SQL must apply to a whole set, each written once:
--
--   private.expiry_tier(days_left, thresholds)  which notice tier a certificate
--       is in (mentor_notify.domain.tiers.classify_tier); used by the expiry
--       sweep's candidates query, the certification-expiry scenario and the
--       demo summary.
--   private.expiry_tier_days(tier)  the days a tier stands for, as kept in
--       certification_expiry_tracking.notification_thresholds_sent
--       (mentor_notify.domain.tiers.Tier.days).
--   private.idempotency_key(variadic parts)  SHA-256 hex of the parts joined
--       by '|' (mentor_notify.domain.keys.idempotency_key); used where SQL
--       derives keys for a whole set (the scenario delivery).
--   private.local_date(instant, timezone)  the organisation's calendar date
--       at an instant (mentor_notify.domain.clock.AsOf.local_date); used by
--       the certification-expiry scenario and the demo summary.
--   private.renewal_link(certification_id, certificate_type, tier)  the
--       mentor's v1 renewal deep link (mentor_notify.domain.deep_links.renewal_link),
--       used by the certification-expiry scenario's delivery.
--   private.expiry_due_tier(days_left, thresholds, tiers_sent)  the expiry
--       sweep's due rule: which tier's notice the sweep sends a certificate
--       today (its tier today, unless that tier was already sent in the
--       current expiry cycle). The sweep's candidates query and the
--       certification-expiry follow-up scenario both call it: the follow-up
--       stands aside on a day the sweep will tell the mentor about the same
--       certificate (mentor_notify.domain.tiers).
--
-- tests/integration/test_rule_functions.py holds each to its Python
-- definition: the tier over every day from -3 to 95 for every threshold set,
-- keys and links over sample inputs, the due rule over every day, threshold
-- set and set of tiers sent.
--
-- All are pure (immutable), pinned to an empty search_path, and live in the
-- unexposed `private` schema. The jobs call them as the owner role; no API
-- role needs them (no view or policy calls them), so EXECUTE is taken from
-- everyone else explicitly.

create or replace function private.expiry_tier(days_left integer, thresholds integer[])
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  -- Lapsed the day after expiry; otherwise the most urgent configured window
  -- the certificate is in (smallest threshold at least the days left); null
  -- when it is further out than every threshold.
  select case
           when days_left < 0 then 'expired'
           else (select 'expiry_warning_' || pg_catalog.min(th) || 'd'
                 from pg_catalog.unnest(thresholds) th
                 where th >= days_left)
         end
$$;
comment on function private.expiry_tier(integer, integer[]) is
  'Expiry tier of a certificate with days_left days to expiry under the organisation''s thresholds: expired, expiry_warning_<n>d, or null when not yet due. Mirrors mentor_notify.domain.tiers.classify_tier.';

create or replace function private.expiry_tier_days(tier text)
returns integer
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case tier when 'expired' then 0
                   else pg_catalog.substring(tier, 'expiry_warning_([0-9]+)d')::integer end
$$;
comment on function private.expiry_tier_days(text) is
  'Days a tier stands for (0 for expired), as stored in certification_expiry_tracking.notification_thresholds_sent. Mirrors mentor_notify.domain.tiers.Tier.days.';

-- idempotency_key and renewal_link are inlined into the expiry notice's rules
-- below (no SET clause; see the note above those rules).
create or replace function private.idempotency_key(variadic parts text[])
returns text
language sql
stable
parallel safe
as $$
  select pg_catalog.encode(
           pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.array_to_string(parts, '|'), 'UTF8')),
           'hex')
$$;
comment on function private.idempotency_key(text[]) is
  'Idempotency key: lowercase hex SHA-256 of the parts joined by |. Mirrors mentor_notify.domain.keys.idempotency_key. Inlined (no SET clause; see migration 20261206000200).';

create or replace function private.renewal_link(
  certification_id uuid, certificate_type text, tier text
)
returns text
language sql
immutable
parallel safe
as $$
  -- Ids, known certificate codes and tier codes need no URL escaping.
  select 'mentornotify://v1/course-enrolment?certification_id=' || certification_id::text
         || '&certificate_type=' || certificate_type || '&tier=' || tier
$$;
comment on function private.renewal_link(uuid, text, text) is
  'The mentor''s v1 deep link to the renewal course. Mirrors mentor_notify.domain.deep_links.renewal_link. Inlined (no SET clause; see migration 20261206000200).';

create or replace function private.local_date(instant timestamptz, timezone text)
returns date
language sql
immutable
parallel safe
as $$
  -- Certificates expire by the organisation's own calendar, not UTC's.
  select (instant at time zone timezone)::date
$$;
comment on function private.local_date(timestamptz, text) is
  'Calendar date at an instant in an IANA timezone (the organisation''s "today"). Mirrors mentor_notify.domain.clock.AsOf.local_date.';

revoke all on function
  private.expiry_tier(integer, integer[]),
  private.local_date(timestamptz, text),
  private.expiry_tier_days(text),
  private.idempotency_key(text[]),
  private.renewal_link(uuid, text, text)
from public, anon, authenticated, service_role;

create or replace function private.expiry_due_tier(
  days_left integer, thresholds integer[], tiers_sent integer[]
)
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  -- Once per tier per expiry cycle: the tier the certificate is in today
  -- (private.expiry_tier), unless its days are already among the tiers sent
  -- (certification_expiry_tracking.notification_thresholds_sent).
  select case when not (private.expiry_tier_days(t.tier) = any (tiers_sent)) then t.tier end
  from (select private.expiry_tier(days_left, thresholds) as tier) t
$$;
comment on function private.expiry_due_tier(integer, integer[], integer[]) is
  'The tier whose notice the expiry sweep sends a certificate today (days_left days to expiry, the organisation''s thresholds, the tiers already sent in this expiry cycle), or null when none is due. The sweep''s due rule; the certification follow-up stands aside when it is not null. Composed of private.expiry_tier and private.expiry_tier_days.';

revoke all on function private.expiry_due_tier(integer, integer[], integer[])
from public, anon, authenticated, service_role;

-- ==========================================================================
-- supabase/schemas/09_certificate_sync_and_report.sql
-- ==========================================================================

-- Inbound certificate sync from an organisation's membership system (issue 19,
-- ticket 001 risk 1) and the chapter admins' data-quality report (ticket 004
-- risk 2).
--
-- HLF keeps certificate renewals in its Dynamics 365 (Dataverse) portal and
-- sends them by webhook; other organisations may send our own `v1` events.
-- Every authenticated event is first stored in an inbox (only ids, type,
-- dates, the source's modification time and a hash of the body: never names,
-- e-mail addresses or phone numbers, which Dynamics payloads carry), and is
-- applied to peer_mentor_certifications only while the organisation's sync is
-- switched on, so the service can ship before the contract is confirmed and
-- replay what it held once it is. Effects go through the certificate table, so
-- the existing triggers version the renewal history, start a new expiry cycle
-- and refresh the mentor listing.
--
-- Each organisation's membership system authenticates with keys of its own
-- (certificate_sync_keys, hashes only), so it can write only its own
-- organisation's events.
--
-- Grants: Supabase grants the API roles nothing on new tables (changelog
-- 2026-04-28, checked 2026-11-29; see the grants note in
-- 01_organisations_and_people.sql), so the grants below are all there are. The sync tables are the back end's own:
-- service_role reads and writes them, app users get nothing (RLS on, no
-- policy). Chapter admins read the report.

-- ---------------------------------------------------------------------------
-- Settings: the per-organisation feature flag.
-- ---------------------------------------------------------------------------
create table if not exists public.certificate_sync_settings (
  organization_id uuid primary key references public.organizations (id) on delete cascade,
  enabled boolean not null default false,
  updated_at timestamptz not null default now()
);
comment on table public.certificate_sync_settings is 'Per-organisation switch for the inbound certificate sync: while off (or absent) events are accepted and held; `sync replay` applies them once it is on.';
comment on column public.certificate_sync_settings.organization_id is 'Organisation whose membership system sends certificate events.';
comment on column public.certificate_sync_settings.enabled is 'Whether received events are applied to the certificates (true) or only held in the inbox (false).';
comment on column public.certificate_sync_settings.updated_at is 'When the switch last changed.';

-- ---------------------------------------------------------------------------
-- Mappings from the membership system's ids to ours, per organisation.
-- ---------------------------------------------------------------------------
create table if not exists public.certificate_sync_people (
  organization_id uuid not null references public.organizations (id) on delete cascade,
  external_person_id text not null,
  user_id uuid not null references public.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  constraint certificate_sync_people_pkey primary key (organization_id, external_person_id),
  constraint certificate_sync_people_external_person_id_check
    check (length(external_person_id) between 1 and 200 and external_person_id !~ '\s')
);
comment on table public.certificate_sync_people is 'Which of our users each person id of an organisation''s membership system (e.g. a Dataverse contact id) is; an event for a person missing here goes to the dead letter.';
comment on column public.certificate_sync_people.organization_id is 'Organisation whose membership system issued the id.';
comment on column public.certificate_sync_people.external_person_id is 'The membership system''s id of the person (an opaque id, never a name or e-mail address).';
comment on column public.certificate_sync_people.user_id is 'Our user that person is.';
comment on column public.certificate_sync_people.created_at is 'When the mapping was recorded.';
comment on constraint certificate_sync_people_external_person_id_check on public.certificate_sync_people is 'an external person id is 1-200 characters without spaces';
create index if not exists certificate_sync_people_user_id_idx on public.certificate_sync_people (user_id);
alter table public.certificate_sync_people
  drop constraint if exists certificate_sync_people_person_id_not_personal_check,
  add constraint certificate_sync_people_person_id_not_personal_check
    check (not private.text_contains_personal_data(external_person_id)) not valid;
comment on constraint certificate_sync_people_person_id_not_personal_check on public.certificate_sync_people is 'an external person id must be an id, not an e-mail address, phone number or national identity number';

create table if not exists public.certificate_sync_types (
  organization_id uuid not null references public.organizations (id) on delete cascade,
  external_type text not null,
  certificate_type text not null,
  created_at timestamptz not null default now(),
  constraint certificate_sync_types_pkey primary key (organization_id, external_type),
  constraint certificate_sync_types_external_type_check check (length(external_type) between 1 and 200),
  constraint certificate_sync_types_certificate_type_check check (private.is_known_certificate_type(certificate_type))
);
comment on table public.certificate_sync_types is 'Which of our certificate type codes each certificate type of an organisation''s membership system is; an event of a type missing here goes to the dead letter.';
comment on column public.certificate_sync_types.organization_id is 'Organisation whose membership system names the type.';
comment on column public.certificate_sync_types.external_type is 'The membership system''s code or option value of the certificate type.';
comment on column public.certificate_sync_types.certificate_type is 'Our certificate type code (hlf_peer_mentor, nhf_peer_mentor, blindeforbundet_peer_mentor).';
comment on column public.certificate_sync_types.created_at is 'When the mapping was recorded.';
comment on constraint certificate_sync_types_external_type_check on public.certificate_sync_types is 'an external certificate type is 1-200 characters';
comment on constraint certificate_sync_types_certificate_type_check on public.certificate_sync_types is 'the certificate type must be one of hlf_peer_mentor, nhf_peer_mentor, blindeforbundet_peer_mentor';

-- ---------------------------------------------------------------------------
-- The durable inbox.
-- ---------------------------------------------------------------------------
create table if not exists public.certificate_sync_events (
  id bigint generated by default as identity primary key,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  source text not null,
  source_event_id text not null,
  event_type text,
  external_person_id text,
  external_certificate_id text,
  external_type text,
  issued_on date,
  expiry_date date,
  revoked_on date,
  source_modified_at timestamptz not null,
  body_sha256 text not null,
  status text not null default 'pending',
  reason text,
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  source_version bigint,
  is_deletion boolean not null default false,
  receive_problem text,
  constraint certificate_sync_events_source_event_key unique (organization_id, source, source_event_id),
  constraint certificate_sync_events_source_check check (source in ('dataverse', 'v1')),
  constraint certificate_sync_events_source_event_id_check check (length(source_event_id) between 1 and 200),
  constraint certificate_sync_events_event_type_check
    check (event_type in ('issued', 'renewed', 'expiry_changed', 'revoked')),
  constraint certificate_sync_events_external_ids_check check (
    length(external_person_id) between 1 and 200 and length(external_certificate_id) between 1 and 200
    and (external_type is null or length(external_type) between 1 and 200)
  ),
  constraint certificate_sync_events_dates_check check (
    (issued_on is null or expiry_date is null or issued_on <= expiry_date)
    and (event_type is distinct from 'revoked' or revoked_on is not null)
  ),
  constraint certificate_sync_events_body_sha256_check check (body_sha256 ~ '^[0-9a-f]{64}$'),
  constraint certificate_sync_events_status_check check (status in ('pending', 'applied', 'superseded', 'dead')),
  constraint certificate_sync_events_reason_check check ((status = 'dead') = (reason is not null)),
  constraint certificate_sync_events_processed_check check ((status = 'pending') = (processed_at is null)),
  constraint certificate_sync_events_readable_check check (
    receive_problem is not null or (event_type is not null and external_certificate_id is not null)
  )
);
comment on table public.certificate_sync_events is 'Inbox of certificate events received from membership systems, stored before the sender gets its 2xx and applied in the order the source modified them. Holds ids, dates and a body hash only, never personal data.';
comment on column public.certificate_sync_events.id is 'Identifier of the event (what `sync retry` takes).';
comment on column public.certificate_sync_events.organization_id is 'Organisation whose membership system sent the event.';
comment on column public.certificate_sync_events.source is 'Format it arrived in: dataverse (a Dynamics 365 webhook''s RemoteExecutionContext) or v1 (our own contract).';
comment on column public.certificate_sync_events.source_event_id is 'The sender''s request id (Dataverse RequestId, v1 event_id); a second delivery with the same id is the same event and is stored once.';
comment on column public.certificate_sync_events.event_type is 'issued, renewed, expiry_changed or revoked; null only for a delivery whose change could not be read (see receive_problem).';
comment on column public.certificate_sync_events.external_person_id is 'The membership system''s id of the certificate holder (mapped through certificate_sync_people); null when the delivery does not carry it (the known certificate''s holder is taken) or carried personal data instead.';
comment on column public.certificate_sync_events.external_certificate_id is 'The membership system''s id of the certificate; null only for an unreadable v1 event.';
comment on column public.certificate_sync_events.external_type is 'The membership system''s certificate type; mapped through certificate_sync_types (null for a revocation, which needs none when the certificate is known).';
comment on column public.certificate_sync_events.issued_on is 'Start of the certificate period, when the event gives one.';
comment on column public.certificate_sync_events.expiry_date is 'New last valid day of the certificate, when the event gives one (an update without it keeps the known one).';
comment on column public.certificate_sync_events.revoked_on is 'First day the certificate is no longer valid (revocations only).';
comment on column public.certificate_sync_events.source_modified_at is 'When the source last modified the certificate; an event older than one already applied for the same certificate is superseded, never applied.';
comment on column public.certificate_sync_events.body_sha256 is 'Lowercase hex SHA-256 of the raw request body, for audit: proves what was received without keeping it.';
comment on column public.certificate_sync_events.status is 'pending (held or not yet applied), applied, superseded (a newer modification was applied first) or dead (cannot be applied; see reason).';
comment on column public.certificate_sync_events.reason is 'Why a dead event could not be applied (an unknown person or type, a date conflict); null otherwise.';
comment on column public.certificate_sync_events.received_at is 'When the event was stored.';
comment on column public.certificate_sync_events.processed_at is 'When it was applied, superseded or given up on; null while pending.';
comment on column public.certificate_sync_events.source_version is 'The source''s row version (Dataverse versionnumber) when it sends one: orders the events of one certificate; null for v1 events and deliveries without it.';
comment on column public.certificate_sync_events.is_deletion is 'The source deleted the row (a Dataverse Delete): ordered at the time it was executed, after any update of the version it deleted.';
comment on column public.certificate_sync_events.receive_problem is 'Why the delivery can never be applied as received (its body was cut, it is another table''s message, an id is personal data); the event stays dead through `sync retry` and the source must send it again.';
comment on constraint certificate_sync_events_source_event_key on public.certificate_sync_events is 'this event was already received (same organisation, source and request id)';
comment on constraint certificate_sync_events_source_check on public.certificate_sync_events is 'the source must be dataverse or v1';
comment on constraint certificate_sync_events_source_event_id_check on public.certificate_sync_events is 'the source event id must be 1-200 characters';
comment on constraint certificate_sync_events_event_type_check on public.certificate_sync_events is 'the event type must be issued, renewed, expiry_changed or revoked';
comment on constraint certificate_sync_events_external_ids_check on public.certificate_sync_events is 'external ids and types must be 1-200 characters';
comment on constraint certificate_sync_events_dates_check on public.certificate_sync_events is 'a revocation needs revoked_on, and an issue date is not after the expiry date';
comment on constraint certificate_sync_events_body_sha256_check on public.certificate_sync_events is 'the body hash must be a lowercase hex SHA-256 digest';
comment on constraint certificate_sync_events_status_check on public.certificate_sync_events is 'the status must be pending, applied, superseded or dead';
comment on constraint certificate_sync_events_reason_check on public.certificate_sync_events is 'a dead event needs a reason, and only a dead event has one';
comment on constraint certificate_sync_events_processed_check on public.certificate_sync_events is 'an event is processed exactly when it is no longer pending';
comment on constraint certificate_sync_events_readable_check on public.certificate_sync_events is 'an event without a type or certificate id must say why (receive_problem)';
-- NOT VALID as the migration made it: rows stored before issue 24 are not
-- re-read; every new or changed row is checked.
alter table public.certificate_sync_events
  drop constraint if exists certificate_sync_events_person_id_not_personal_check,
  add constraint certificate_sync_events_person_id_not_personal_check
    check (external_person_id is null or not private.text_contains_personal_data(external_person_id)) not valid;
comment on constraint certificate_sync_events_person_id_not_personal_check on public.certificate_sync_events is 'an external person id must be an id, not an e-mail address, phone number or national identity number';
-- Replay walks an organisation's pending events in source order.
create index if not exists certificate_sync_events_pending_order_idx
  on public.certificate_sync_events (organization_id, source_modified_at, source_version, id)
  where status = 'pending';
create index if not exists certificate_sync_events_dead_idx
  on public.certificate_sync_events (organization_id) where status = 'dead';

-- The newest source modification applied per external certificate, so an
-- older event that arrives late never overwrites a newer one.
create table if not exists public.certificate_sync_certificates (
  organization_id uuid not null references public.organizations (id) on delete cascade,
  external_certificate_id text not null,
  certification_id uuid references public.peer_mentor_certifications (id) on delete set null,
  source_modified_at timestamptz not null,
  source_version bigint,
  newest_event_id bigint,
  newest_is_deletion boolean not null default false,
  constraint certificate_sync_certificates_pkey primary key (organization_id, external_certificate_id)
);
comment on table public.certificate_sync_certificates is 'Per certificate of a membership system: our certificate it maps to and the newest source modification applied to it (the reordering guard).';
comment on column public.certificate_sync_certificates.organization_id is 'Organisation whose membership system issued the certificate.';
comment on column public.certificate_sync_certificates.external_certificate_id is 'The membership system''s id of the certificate.';
comment on column public.certificate_sync_certificates.certification_id is 'Our certificate it was applied to; null if that record was deleted since.';
comment on column public.certificate_sync_certificates.source_modified_at is 'Source modification time of the newest event applied; older events are superseded.';
comment on column public.certificate_sync_certificates.source_version is 'Row version of the newest event applied, when it had one.';
comment on column public.certificate_sync_certificates.newest_event_id is 'Inbox id of the newest event applied: among events of the same source time without versions, a later arrival wins.';
comment on column public.certificate_sync_certificates.newest_is_deletion is 'Whether the newest event applied deleted the row.';
create index if not exists certificate_sync_certificates_certification_id_idx
  on public.certificate_sync_certificates (certification_id);

-- ---------------------------------------------------------------------------
-- Webhook keys, per organisation: a key admits its holder to its own
-- organisation's sync URLs only (a key of A on B's URL is refused), so one
-- membership system can never write another organisation's certificates.
-- Only the SHA-256 of each key is kept: the key is 256 random bits made by
-- `mentor-notify sync keys add`, so its hash cannot be reversed by guessing
-- and a leaked table admits nobody. Several keys may be live at once
-- (rotation); a revoked one stays listed with the time it was revoked.
-- ---------------------------------------------------------------------------
create table if not exists public.certificate_sync_keys (
  id bigint generated by default as identity primary key,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  key_sha256 text not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  constraint certificate_sync_keys_key_sha256_key unique (key_sha256),
  constraint certificate_sync_keys_key_sha256_check check (key_sha256 ~ '^[0-9a-f]{64}$'),
  constraint certificate_sync_keys_revoked_check check (revoked_at is null or revoked_at >= created_at)
);
comment on table public.certificate_sync_keys is 'Webhook keys of each organisation''s membership system, as SHA-256 hashes: a key admits its holder to that organisation''s sync endpoints only. Read by the server as the owner; no API role may read it.';
comment on column public.certificate_sync_keys.id is 'Identifier of the key.';
comment on column public.certificate_sync_keys.organization_id is 'Organisation whose events the key may post.';
comment on column public.certificate_sync_keys.key_sha256 is 'Lowercase hex SHA-256 of the key (the key itself is shown once, when made, and kept nowhere); its first 12 digits are the key''s fingerprint.';
comment on column public.certificate_sync_keys.created_at is 'When the key was made.';
comment on column public.certificate_sync_keys.revoked_at is 'When the key was revoked (it admits nobody since); null while it is live.';
comment on constraint certificate_sync_keys_key_sha256_key on public.certificate_sync_keys is 'this key is already registered';
comment on constraint certificate_sync_keys_key_sha256_check on public.certificate_sync_keys is 'the key hash must be a lowercase hex SHA-256 digest';
comment on constraint certificate_sync_keys_revoked_check on public.certificate_sync_keys is 'a key cannot be revoked before it was made';
create index if not exists certificate_sync_keys_organization_id_idx
  on public.certificate_sync_keys (organization_id);

-- ---------------------------------------------------------------------------
-- Dataverse names per organisation (`sync mappings`, issue 24).
-- ---------------------------------------------------------------------------
create table if not exists public.certificate_sync_mappings (
  organization_id uuid primary key references public.organizations (id) on delete cascade,
  table_name text not null,
  person_column text not null,
  certificate_type_column text not null,
  issued_on_column text not null,
  expiry_date_column text not null,
  revoked_on_column text not null,
  state_column text not null,
  modified_on_column text not null,
  version_column text not null,
  date_behavior text not null,
  updated_at timestamptz not null default now(),
  constraint certificate_sync_mappings_names_check check (
    table_name ~ '^[a-z][a-z0-9_]{0,99}$' and person_column ~ '^[a-z][a-z0-9_]{0,99}$'
    and certificate_type_column ~ '^[a-z][a-z0-9_]{0,99}$' and issued_on_column ~ '^[a-z][a-z0-9_]{0,99}$'
    and expiry_date_column ~ '^[a-z][a-z0-9_]{0,99}$' and revoked_on_column ~ '^[a-z][a-z0-9_]{0,99}$'
    and state_column ~ '^[a-z][a-z0-9_]{0,99}$' and modified_on_column ~ '^[a-z][a-z0-9_]{0,99}$'
    and version_column ~ '^[a-z][a-z0-9_]{0,99}$'
  ),
  constraint certificate_sync_mappings_date_behavior_check
    check (date_behavior in ('UserLocal', 'DateOnly', 'TimeZoneIndependent'))
);
comment on table public.certificate_sync_mappings is 'Which Dataverse table and columns hold an organisation''s certificates, and how its date columns behave; no row means the proposal in the code (DataverseMapping). Set with `sync mappings set`; HLF must confirm the names.';
comment on column public.certificate_sync_mappings.organization_id is 'Organisation whose Dataverse environment this describes.';
comment on column public.certificate_sync_mappings.table_name is 'Logical name of the certificate table.';
comment on column public.certificate_sync_mappings.person_column is 'Lookup column naming the holder (a contact).';
comment on column public.certificate_sync_mappings.certificate_type_column is 'Choice column of the certificate type.';
comment on column public.certificate_sync_mappings.issued_on_column is 'Date column of the first valid day.';
comment on column public.certificate_sync_mappings.expiry_date_column is 'Date column of the last valid day.';
comment on column public.certificate_sync_mappings.revoked_on_column is 'Date column of the first day no longer valid.';
comment on column public.certificate_sync_mappings.state_column is 'Status column (statecode; 1, inactive, revokes).';
comment on column public.certificate_sync_mappings.modified_on_column is 'Column of the last modification time.';
comment on column public.certificate_sync_mappings.version_column is 'Column of the row version (versionnumber).';
comment on column public.certificate_sync_mappings.date_behavior is 'Behaviour of the date columns in Dataverse: UserLocal (an instant; its date is taken in the organisation''s time zone), DateOnly or TimeZoneIndependent (the date as entered).';
comment on column public.certificate_sync_mappings.updated_at is 'When the mapping last changed.';
comment on constraint certificate_sync_mappings_names_check on public.certificate_sync_mappings is 'Dataverse logical names are lowercase letters, digits and underscores, starting with a letter (at most 100)';
comment on constraint certificate_sync_mappings_date_behavior_check on public.certificate_sync_mappings is 'the date behaviour must be UserLocal, DateOnly or TimeZoneIndependent';
alter table public.certificate_sync_mappings enable row level security;
revoke all on public.certificate_sync_mappings from anon, authenticated, service_role;
grant select, insert, update, delete on public.certificate_sync_mappings to service_role;


alter table public.certificate_sync_settings enable row level security;
-- pgls-ignore lint/safety/multipleAlterTable: the person-id check above is NOT VALID, so it cannot sit in the CREATE TABLE; on a new database the table is empty.
alter table public.certificate_sync_people enable row level security;
alter table public.certificate_sync_types enable row level security;
-- pgls-ignore lint/safety/multipleAlterTable: as above, for the inbox's person-id check.
alter table public.certificate_sync_events enable row level security;
alter table public.certificate_sync_certificates enable row level security;
alter table public.certificate_sync_keys enable row level security;
-- No policy for anon or authenticated: the sync is the back end's business.
revoke all on public.certificate_sync_settings, public.certificate_sync_people,
  public.certificate_sync_types, public.certificate_sync_events, public.certificate_sync_certificates
  from anon, authenticated, service_role;
grant select, insert, update, delete on public.certificate_sync_settings, public.certificate_sync_people,
  public.certificate_sync_types, public.certificate_sync_events, public.certificate_sync_certificates
  to service_role;
-- The keys are not even service_role's: the server reads them as the owner,
-- and no API caller needs to see or change them.
revoke all on public.certificate_sync_keys from anon, authenticated, service_role;

-- ---------------------------------------------------------------------------
-- Applying events. One function decides and writes, set-based, so the rule
-- (map, order, write through the certificate table, dead-letter what cannot
-- be applied) is written once, and a batch costs a few statements instead of
-- a dozen per event: issue 24's applied throughput (1,000 events: 0.79 ms of
-- database CPU each applied one by one, 0.19 ms for the bare writes done
-- set-based; BENCHMARKS.md).
--
-- A round applies the longest run of the pending events it is given, in
-- their order, in which no two events are of the same source certificate or
-- reach the same certificate row (two source certificates of one person and
-- type): such events read nothing another event of the run writes, so one
-- statement decides them all on one snapshot exactly as one by one would.
-- The rest are deferred to the next round, which sees what this one wrote.
-- ---------------------------------------------------------------------------
create or replace function private.apply_certificate_sync_round(event_ids bigint[], at timestamptz)
returns table (event_id bigint, outcome text, peer_mentor_id uuid)
language plpgsql
set search_path = ''
as $$
begin
  -- Locked first, so the statement below reads them as they are now.
  perform from public.certificate_sync_events e
  where e.id = any (event_ids) and e.status = 'pending'
  order by e.id
  for update;

  return query
  with given as (
    select e.*, g.pos,
           pg_catalog.row_number() over (
             partition by e.organization_id, coalesce(e.external_certificate_id, '#' || e.id::text)
             order by g.pos
           ) as nth
    from unnest(event_ids) with ordinality as g (id, pos)
    join public.certificate_sync_events e on e.id = g.id and e.status = 'pending'
  ),
  repeated as (
    select coalesce(min(g.pos), 9223372036854775807) as pos from given g where g.nth > 1
  ),
  -- What is known of each event's certificate, its holder and its type.
  looked as (
    select e.*,
           k.organization_id is not null as is_known,
           k.source_modified_at as known_modified_at,
           k.source_version as known_version,
           k.newest_event_id as known_newest_event_id,
           k.newest_is_deletion as known_is_deletion,
           c.id as known_cert_id,
           c.peer_mentor_id as known_mentor,
           c.certificate_type as known_type,
           p.user_id as named_person,
           t.certificate_type as our_type
    from given e
    left join public.certificate_sync_certificates k
      on e.receive_problem is null
     and k.organization_id = e.organization_id and k.external_certificate_id = e.external_certificate_id
    left join public.peer_mentor_certifications c on c.id = k.certification_id
    left join public.certificate_sync_people p
      on p.organization_id = e.organization_id and p.external_person_id = e.external_person_id
    left join public.certificate_sync_types t
      on t.organization_id = e.organization_id and t.external_type = e.external_type
    where e.pos < (select r.pos from repeated r)
  ),
  -- Who holds it (the person the event names, else the known certificate's),
  -- why it cannot be applied, and whether it is older than what was applied.
  judged as (
    select l.*,
           case when l.external_person_id is not null then l.named_person else l.known_mentor end as person,
           case
             when l.receive_problem is not null then l.receive_problem
             when l.external_person_id is not null and l.named_person is null then
               'unknown person: no mapping for external person id ' || l.external_person_id
               || ' (add it to certificate_sync_people, then `sync retry`)'
             when l.external_person_id is null and l.known_mentor is null then
               'certificate ' || l.external_certificate_id || ' is not known yet and the delivery names no holder'
               || ' (an Update or Delete without an image): register the webhook step with a pre-image (Delete)'
               || ' and a post-image (Create, Update), then `sync retry` once its Create has been applied'
             when l.external_type is not null and l.our_type is null then
               'unknown certificate type: no mapping for external type ' || l.external_type
               || ' (add it to certificate_sync_types, then `sync retry`)'
           end as unmapped,
           -- Order. A row version orders two events that both carry one; a
           -- deletion of version v comes after the update that made v.
           -- Otherwise the source's time, and among equal times the later
           -- arrival (the larger id) wins.
           l.is_known and case
             when l.source_version is not null and l.known_version is not null then
               l.source_version < l.known_version
               or (l.source_version = l.known_version and not (l.is_deletion and not l.known_is_deletion))
             else (l.source_modified_at, l.id) < (l.known_modified_at, coalesce(l.known_newest_event_id, 0))
           end as older
    from looked l
  ),
  -- The certificate row it writes: the known one, else (or when the event
  -- names another holder or type) that person's certificate of that type.
  targeted as (
    select j.*, c.id as cert_id, c.organization_id as cert_organization_id,
           c.peer_mentor_id as cert_mentor
    from judged j
    left join public.peer_mentor_certifications c
      on j.unmapped is null and not j.older
     and c.id = case
       when j.our_type is not null
        and (j.known_cert_id is null or j.known_type <> j.our_type or j.known_mentor <> j.person)
       then (select x.id from public.peer_mentor_certifications x
             where x.peer_mentor_id = j.person and x.certificate_type = j.our_type)
       else j.known_cert_id
     end
  ),
  decided as (
    select t.*,
           case
             when t.unmapped is not null then t.unmapped
             when t.older then null
             when t.cert_id is not null and t.cert_organization_id <> t.organization_id then
               'the certificate belongs to another organisation'
             when t.event_type = 'revoked' and t.cert_id is null then
               'revocation of certificate ' || t.external_certificate_id || ', which is not known here'
             when t.event_type = 'revoked' then null
             when t.cert_id is null and t.our_type is null then
               'certificate ' || t.external_certificate_id || ' is not known yet and the delivery names no certificate type'
             when t.cert_id is null and (t.issued_on is null or t.expiry_date is null) then
               'certificate ' || t.external_certificate_id || ' is not known yet and the delivery lacks its '
               || case when t.issued_on is null then 'issue date' else 'expiry date' end
               || ' (an Update without a post-image carries only the changed columns)'
           end as dead_reason,
           -- Two events that reach the same certificate row (or would create the
           -- same one) are not decided on one snapshot: the later ends the run.
           case
             when t.unmapped is not null or t.older then '#' || t.id::text
             when t.cert_id is not null then 'c' || t.cert_id::text
             when t.our_type is not null then 'p' || t.person::text || '/' || t.our_type
             else '#' || t.id::text
           end as target
    from targeted t
  ),
  settled as (
    select d.*,
           case when d.dead_reason is not null then 'dead' when d.older then 'superseded' else 'applied' end as result,
           pg_catalog.row_number() over (partition by d.target order by d.pos) as nth_target
    from decided d
  ),
  cut as (
    select least((select r.pos from repeated r),
                 coalesce((select min(s.pos) from settled s where s.nth_target > 1), 9223372036854775807)) as pos
  ),
  go as (
    select s.* from settled s where s.pos < (select c.pos from cut c)
  ),
  -- Revoked from revoked_on: the last valid day is the day before, which
  -- hides the mentor at once through the listing's lapse time. Otherwise the
  -- changed columns onto the known state; an unchanged expiry date writes
  -- nothing, so no renewal entry appears.
  changed as (
    update public.peer_mentor_certifications c
    set expiry_date = case when g.event_type = 'revoked' then least(c.expiry_date, g.revoked_on - 1)
                           else coalesce(g.expiry_date, c.expiry_date) end,
        issued_on = case when g.event_type = 'revoked' then least(c.issued_on, g.revoked_on - 1)
                         else coalesce(g.issued_on, least(c.issued_on, coalesce(g.expiry_date, c.expiry_date))) end
    from go g
    where g.result = 'applied' and c.id = g.cert_id
      and (g.event_type = 'revoked'
           or (c.expiry_date, c.issued_on) is distinct from
              (coalesce(g.expiry_date, c.expiry_date),
               coalesce(g.issued_on, least(c.issued_on, coalesce(g.expiry_date, c.expiry_date)))))
    returning c.id
  ),
  created as (
    insert into public.peer_mentor_certifications as c
      (organization_id, peer_mentor_id, certificate_type, issued_on, expiry_date)
    select g.organization_id, g.person, g.our_type, g.issued_on, g.expiry_date
    from go g
    where g.result = 'applied' and g.cert_id is null
    returning c.id, c.peer_mentor_id, c.certificate_type
  ),
  remembered as (
    insert into public.certificate_sync_certificates
      (organization_id, external_certificate_id, certification_id, source_modified_at,
       source_version, newest_event_id, newest_is_deletion)
    select g.organization_id, g.external_certificate_id, coalesce(g.cert_id, n.id), g.source_modified_at,
           g.source_version, g.id, g.is_deletion
    from go g
    left join created n
      on g.cert_id is null and n.peer_mentor_id = g.person and n.certificate_type = g.our_type
    where g.result = 'applied'
    on conflict (organization_id, external_certificate_id) do update
      set certification_id = excluded.certification_id,
          source_modified_at = excluded.source_modified_at,
          source_version = excluded.source_version,
          newest_event_id = excluded.newest_event_id,
          newest_is_deletion = excluded.newest_is_deletion
  ),
  marked as (
    update public.certificate_sync_events e
    set status = g.result, reason = g.dead_reason, processed_at = at
    from go g
    where e.id = g.id
  )
  select e.id, coalesce(g.result, 'deferred'),
         case when g.result = 'applied' then coalesce(g.cert_mentor, g.person) end
  from given e
  left join go g on g.id = e.id;
end
$$;
comment on function private.apply_certificate_sync_round(bigint[], timestamptz) is
  'Applies, set-based, the longest run of the pending events event_ids (in their order) with no two of one source certificate or certificate row to peer_mentor_certifications (its changed columns onto the known certificate), or marks each superseded (ordered before what was applied: by row version, else source time then arrival) or dead with the reason; returns each pending event''s outcome (deferred: left pending for the next round) and, when applied, the mentor whose certificate it changed.';

-- Replay and the applier: an organisation's pending events in source order
-- (time, row version, arrival), applied in rounds; also names the mentors
-- whose certificates changed, so that only their listings are refreshed (a
-- refresh of the whole organisation per round held every ingest behind the
-- organisation's lock). The batch is applied in one subtransaction: a
-- subtransaction per event cost a transaction id each, and beyond 64 of them
-- in one transaction visibility checks must look in pg_subtrans (PostgreSQL
-- manual, "Subtransactions", checked 2026-12-07; issue 24's speed). Only if
-- an event fails is the batch undone and applied again one event per
-- subtransaction, the failing one dead with the database's reason, so a
-- failure on one record never aborts the others.
drop function if exists private.apply_certificate_sync_events(uuid, timestamptz, integer);
create function private.apply_certificate_sync_events(org uuid, at timestamptz, max_events integer)
returns table (outcome text, events integer, peer_mentor_ids uuid[])
language plpgsql
set search_path = ''
as $$
declare
  batch bigint[];
  remaining bigint[];
  later bigint[];
  pending_id bigint;
  careful integer;
  r record;
  tally jsonb;
  mentors uuid[];
  -- A round ends at the first repeated certificate: offering it this many
  -- events is enough, and keeps each round's reading short.
  offer constant integer := 200;
begin
  batch := array(
    select e.id from public.certificate_sync_events e
    where e.organization_id = org and e.status = 'pending'
    order by e.source_modified_at, e.source_version nulls first, e.id
    limit max_events
  );
  for careful in 0..1 loop
    tally := '{}';
    mentors := '{}';
    begin
      if careful = 0 then
        remaining := batch;
        while pg_catalog.cardinality(remaining) > 0 loop
          later := '{}';
          for r in select * from private.apply_certificate_sync_round(remaining[1:offer], at) loop
            if r.outcome = 'deferred' then
              later := later || r.event_id;
            else
              if r.peer_mentor_id is not null and not r.peer_mentor_id = any (mentors) then
                mentors := mentors || r.peer_mentor_id;
              end if;
              tally := tally || pg_catalog.jsonb_build_object(r.outcome, coalesce((tally ->> r.outcome)::integer, 0) + 1);
            end if;
          end loop;
          -- Deferred events keep their places in the source order.
          remaining := array(
            select g.id from unnest(remaining) with ordinality as g (id, pos)
            where g.pos > offer or g.id = any (later) order by g.pos
          );
        end loop;
      else
        foreach pending_id in array batch loop
          begin
            -- One event: never deferred.
            for r in select * from private.apply_certificate_sync_round(array[pending_id], at) loop
              if r.peer_mentor_id is not null and not r.peer_mentor_id = any (mentors) then
                mentors := mentors || r.peer_mentor_id;
              end if;
              tally := tally || pg_catalog.jsonb_build_object(r.outcome, coalesce((tally ->> r.outcome)::integer, 0) + 1);
            end loop;
          exception when others then
            update public.certificate_sync_events
            set status = 'dead', reason = 'rejected by the database: ' || sqlerrm, processed_at = at
            where id = pending_id and status = 'pending';
            tally := tally || pg_catalog.jsonb_build_object('dead', coalesce((tally ->> 'dead')::integer, 0) + 1);
          end;
        end loop;
      end if;
      exit;
    exception when others then
      -- The whole batch is undone; the second pass applies it one by one.
      if careful = 1 then
        raise;
      end if;
    end;
  end loop;
  return query
    select t.key, t.value::integer, case when t.key = 'applied' then mentors end
    from pg_catalog.jsonb_each_text(tally) t;
end
$$;
comment on function private.apply_certificate_sync_events(uuid, timestamptz, integer) is
  'Applies up to max_events pending sync events of an organisation in source order (time, row version, arrival), in rounds (private.apply_certificate_sync_round), in one subtransaction, or if one fails one subtransaction per event (the failing one dead); returns how many ended applied, superseded or dead, and the mentors whose certificates the applied ones changed.';

revoke all on function private.apply_certificate_sync_round(bigint[], timestamptz) from public;
revoke all on function private.apply_certificate_sync_events(uuid, timestamptz, integer) from public;

-- ---------------------------------------------------------------------------
-- The data-quality report (ticket 004 risk 2), per chapter, for that
-- chapter's admins.
-- ---------------------------------------------------------------------------

-- The size of renewal history ticket 001 warns about; the expiry sweep's
-- RENEWAL_HISTORY_WARNING is held equal to it by a test.
create or replace function private.renewal_history_warning_size()
returns integer
language sql
immutable
set search_path = ''
as $$ select 500 $$;
comment on function private.renewal_history_warning_size() is
  'Renewal history entries beyond which a certificate is reported (ticket 001 risk 3).';

-- A device not re-registered for this long is stale (the app re-registers on
-- every launch); matches the device_tokens.last_refreshed_at comment. The
-- default of `mentor-notify push stale-tokens --days` (STALE_TOKEN_AGE in
-- push/tokens.py) is held equal to it by a test.
create or replace function private.stale_device_age()
returns interval
language sql
immutable
set search_path = ''
as $$ select interval '30 days' $$;
comment on function private.stale_device_age() is
  'How long a device token may go without a refresh before it is stale (the report; push stale-tokens by default).';

-- The one rule of staleness, for the report and `push stale-tokens`: a token
-- last refreshed before this instant is stale. Callers wrap it in a scalar
-- subquery, so it is computed once per statement, not once per token.
create or replace function private.stale_device_cutoff(at timestamptz, older_than interval)
returns timestamptz
language sql
stable
set search_path = ''
as $$ select at - older_than $$;
comment on function private.stale_device_cutoff(timestamptz, interval) is
  'Instant before which a device token''s last refresh makes it stale, at `at` for the age `older_than` (private.stale_device_age() unless an operator asks for another).';

-- Who a mentor's coordinators are: those assigned to them in any chapter of the
-- organisation (an assignment implies the mentor's peer_mentor membership of
-- that chapter, by its foreign key). One definition for the expiry sweep (its
-- coordinator notices, and the chapter admins standing in for a mentor with
-- none, whom it reports) and the data-quality report's mentors without a
-- coordinator: a mentor with a coordinator in another of the organisation's
-- chapters is told through them, so is not a finding. A view, so the planner
-- joins through it as through the table (set-based in the sweep).
drop view if exists private.mentor_coordinators;
create view private.mentor_coordinators with (security_invoker = true) as
select a.organization_id, a.peer_mentor_id, a.coordinator_id
from public.coordinator_assignments a;
comment on view private.mentor_coordinators is
  'A mentor''s coordinators in an organisation: those assigned to them in any of its chapters. A mentor with no row here has no coordinator (the sweep tells the chapter admins instead; the data-quality report lists them).';
revoke all on private.mentor_coordinators from public, anon, authenticated, service_role;

create or replace function private.administered_chapter_ids()
returns uuid[]
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(array_agg(distinct m.chapter_id), '{}')
  from public.chapter_memberships m
  where m.user_id = (select auth.uid()) and m.role = 'chapter_admin'
$$;
comment on function private.administered_chapter_ids() is
  'Chapters in which the requesting user is chapter admin (the report''s audience).';

-- SECURITY DEFINER: an admin may not read other members' devices or the push
-- queue row by row, yet must see that they are stale or dead. It returns only
-- the admin's own chapters (a caller acting as service_role, the back end,
-- sees every chapter) and ids, never a name or a token.
create or replace function private.data_quality_report()
returns table (
  organization_id uuid,
  chapter_id uuid,
  issue text,
  subject_id text,
  person_id uuid,
  since timestamptz
)
language sql
stable
security definer
set search_path = ''
as $$
  with caller as (
    -- The database role the caller acts as: the one SET ROLE chose (what
    -- PostgREST does per request), else the role they logged in as. Not
    -- current_user, which in a SECURITY DEFINER function is its owner: the
    -- `role` setting is left as it was on entering one, and only a member of
    -- a role may set it. Never the JWT's role claim, which a session may set
    -- to anything.
    select case when pg_catalog.current_setting('role') = 'none' then session_user::text
                else pg_catalog.current_setting('role') end as role_name
  ),
  chapters as (
    select c.id, c.organization_id
    from public.chapters c
    where (select pg_catalog.pg_has_role(k.role_name, 'service_role', 'member') from caller k)
       or c.id = any ((select private.administered_chapter_ids())::uuid[])
  ),
  mentors as (
    select ch.organization_id, ch.id as chapter_id, m.user_id, m.created_at
    from chapters ch
    join public.chapter_memberships m on m.chapter_id = ch.id and m.role = 'peer_mentor'
  )
  select m.organization_id, m.chapter_id, 'mentor_without_coordinator', m.user_id::text, m.user_id, m.created_at
  from mentors m
  where not exists (
    select 1 from private.mentor_coordinators k
    where k.organization_id = m.organization_id and k.peer_mentor_id = m.user_id
  )
  union all
  select m.organization_id, m.chapter_id, 'large_renewal_history', c.id::text, m.user_id, c.updated_at
  from mentors m
  join public.peer_mentor_certifications c
    on c.peer_mentor_id = m.user_id and c.organization_id = m.organization_id
  where pg_catalog.jsonb_array_length(c.renewal_history) > private.renewal_history_warning_size()
  union all
  select ch.organization_id, ch.id, 'stale_device', d.id::text, d.user_id, d.last_refreshed_at
  from chapters ch
  join public.chapter_memberships m on m.chapter_id = ch.id
  join public.device_tokens d on d.user_id = m.user_id
  where d.last_refreshed_at
        < (select private.stale_device_cutoff(pg_catalog.now(), private.stale_device_age()))
  union all
  select ch.organization_id, ch.id, 'dead_push', o.id::text, o.recipient_id, o.created_at
  from chapters ch
  join public.chapter_memberships m on m.chapter_id = ch.id
  join public.push_notices o on o.recipient_id = m.user_id and o.organization_id = ch.organization_id
  where o.status = 'dead'
  union all
  -- A dead event whose person is unknown reaches no chapter, so it is shown in
  -- every chapter of its organisation; a known person's only in theirs.
  select ch.organization_id, ch.id, 'dead_sync_event', e.id::text, p.user_id, e.processed_at
  from chapters ch
  join public.certificate_sync_events e on e.organization_id = ch.organization_id and e.status = 'dead'
  left join public.certificate_sync_people p
    on p.organization_id = e.organization_id and p.external_person_id = e.external_person_id
  where p.user_id is null
     or exists (select 1 from public.chapter_memberships m where m.chapter_id = ch.id and m.user_id = p.user_id)
$$;
comment on function private.data_quality_report() is
  'Rows of the data-quality report for the chapters the requesting user (auth.uid()) administers; every chapter for a caller whose database role is, or is a member of, service_role (the JWT''s role claim decides nothing).';

revoke all on function private.renewal_history_warning_size() from public;
revoke all on function private.stale_device_age() from public;
revoke all on function private.stale_device_cutoff(timestamptz, interval) from public;
revoke all on function private.administered_chapter_ids() from public;
revoke all on function private.data_quality_report() from public;
grant execute on function private.administered_chapter_ids() to authenticated, service_role;
grant execute on function private.renewal_history_warning_size() to authenticated, service_role;
grant execute on function private.stale_device_age() to authenticated, service_role;
grant execute on function private.data_quality_report() to authenticated, service_role;

-- security_invoker: the view adds no rights of its own (Supabase's linter
-- flags definer views, "security_definer_view", checked 2026-11-29); the
-- function above decides what the caller sees.
drop view if exists public.data_quality_report;
create view public.data_quality_report with (security_invoker = true) as
select r.organization_id, r.chapter_id, r.issue, r.subject_id, r.person_id, r.since
from private.data_quality_report() r;
comment on view public.data_quality_report is 'Data-quality report of the admin dashboard: per chapter the admin administers, mentors without a coordinator, certificates with an oversized renewal history, devices not refreshed for 30 days, dead pushes and dead sync events. Ids only.';
comment on column public.data_quality_report.organization_id is 'Organisation of the chapter.';
comment on column public.data_quality_report.chapter_id is 'Chapter the finding belongs to.';
comment on column public.data_quality_report.issue is 'mentor_without_coordinator, large_renewal_history, stale_device, dead_push or dead_sync_event.';
comment on column public.data_quality_report.subject_id is 'What to look at: the mentor, certificate, device token, push message or sync event id.';
comment on column public.data_quality_report.person_id is 'The member concerned (names are read from users under its own policy); null for a sync event of an unknown person.';
comment on column public.data_quality_report.since is 'When the finding''s subject was created, last refreshed or given up on.';

revoke all on public.data_quality_report from anon, authenticated, service_role;
grant select on public.data_quality_report to authenticated, service_role;
