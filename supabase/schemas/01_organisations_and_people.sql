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
  -- Issue 27: the silent re-registration push of ticket 000, per organisation.
  reregistration_push boolean not null default false,
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
comment on column public.organizations.reregistration_push is
  'Whether the daily cycle sends the silent re-registration push to this organisation''s members'' devices not refreshed for 30 days (at most once a week per device; never counted against the daily push budget).';
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
