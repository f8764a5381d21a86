-- Local bootstrap: makes a plain PostgreSQL 15+ look like a Supabase project
-- to the migrations in supabase/migrations/, so the same files apply here and
-- with `supabase db push`.
--
-- NEVER run this against a real Supabase database: there the platform owns
-- these objects. `mentor-notify db migrate` applies it only when the target
-- shows no sign of being Supabase (see mentor_notify/db/target.py).
--
-- Idempotent: every statement is guarded or naturally repeatable, so running
-- it twice (or against a database that already has parts of it) is harmless.
-- Works as superuser `postgres` on the system PostgreSQL 15 and on the embedded
-- pgserver PostgreSQL 16. Uses core features only (no contrib extensions).

-- ---------------------------------------------------------------------------
-- API roles.
-- PostgREST switches to one of these per request, according to the JWT's
-- `role` claim. They cannot log in (NOLOGIN): only a session that already
-- holds them may `SET ROLE` to them. INHERIT, as Supabase has made them since
-- 2023 (supabase/postgres pull request 651, "set postgrest api target roles
-- to have INHERIT"; checked 2026-11-29). Roles are cluster-wide, so several
-- databases on one server share them; the exception handler makes a creation
-- race between two databases bootstrapping at once harmless, and the ALTER
-- brings a role an older bootstrap made NOINHERIT up to date.
-- `authenticator` (the login role PostgREST connects as) is deliberately left
-- out: nothing here connects through PostgREST, and an extra LOGIN role would
-- only widen what a local cluster accepts.
-- Statement timeouts as Supabase sets them per role: 3 s for anon, 8 s for
-- authenticated, none of its own for service_role (Supabase guide
-- "Timeouts", "The default role timeouts"; checked 2026-11-29).
-- ---------------------------------------------------------------------------
do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin inherit;
  end if;
exception when duplicate_object then null;
end
$$;

do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin inherit;
  end if;
exception when duplicate_object then null;
end
$$;

-- service_role is what trusted back-end code uses: it bypasses RLS, exactly
-- like Supabase's, so jobs written against it behave the same in both places.
do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role nologin inherit bypassrls;
  end if;
exception when duplicate_object then null;
end
$$;

-- Attributes and timeouts are set only where they differ: roles are shared by
-- every database of the cluster, and an unconditional ALTER ROLE from two
-- bootstraps at once fails with "tuple concurrently updated".
do $$
declare
  api_role record;
begin
  for api_role in
    select r.rolname, r.rolinherit, wanted.timeout,
           (select s.setconfig
            from pg_catalog.pg_db_role_setting s
            where s.setrole = r.oid and s.setdatabase = 0) as settings
    from pg_catalog.pg_roles r
    join (values ('anon', '3s'), ('authenticated', '8s'), ('service_role', null))
      as wanted (rolname, timeout) on wanted.rolname = r.rolname
  loop
    if not api_role.rolinherit then
      execute format('alter role %I inherit', api_role.rolname);
    end if;
    if api_role.timeout is not null
       and not coalesce('statement_timeout=' || api_role.timeout = any (api_role.settings), false) then
      execute format('alter role %I set statement_timeout = %L', api_role.rolname, api_role.timeout);
    end if;
  end loop;
end
$$;

-- Tests (pgTAP and pytest) impersonate users the way PostgREST does, with
-- `SET LOCAL ROLE authenticated`. On Supabase `postgres` is a member of the
-- API roles and may do the same (Supabase guide "Postgres Roles"; checked
-- 2026-11-29); the grants matter because the tests run as a non-superuser
-- owner, as hosted Supabase's `postgres` is.
do $$
declare
  grantee_name name;
  api_role name;
begin
  foreach grantee_name in array array['postgres', current_user]::name[] loop
    continue when not exists (select from pg_catalog.pg_roles where rolname = grantee_name);
    foreach api_role in array array['anon', 'authenticated', 'service_role']::name[] loop
      continue when exists (
        select
        from pg_catalog.pg_auth_members m
        join pg_catalog.pg_roles granted on granted.oid = m.roleid
        join pg_catalog.pg_roles grantee on grantee.oid = m.member
        where granted.rolname = api_role and grantee.rolname = grantee_name
      );
      execute format('grant %I to %I', api_role, grantee_name);
    end loop;
  end loop;
end
$$;

-- ---------------------------------------------------------------------------
-- Schemas.
-- Supabase installs extensions into `extensions` (kept out of the API-exposed
-- `public`), which the API roles may use (Supabase guide "Postgres
-- Extensions"; checked 2026-11-29); pgTAP goes there too for the tests.
-- ---------------------------------------------------------------------------
create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;

-- API roles need USAGE on public to reach any table at all; what they may do
-- with each table is then decided by grants plus row-level security. Supabase
-- still grants this USAGE on a new project; the 2026 change took away only the
-- table and function privileges (Supabase changelog 2026-04-28; checked
-- 2026-11-29).
grant usage on schema public to anon, authenticated, service_role;

-- Supabase sessions resolve unqualified names in "$user", public, then
-- extensions (that is how pgTAP's functions are found by `supabase test db`;
-- the Supabase CLI's database set-up, checked 2026-11-29). Set per database,
-- not per role, so other databases on a shared cluster are untouched.
do $$
begin
  execute format('alter database %I set search_path = "$user", public, extensions',
                 current_database());
end
$$;

-- ---------------------------------------------------------------------------
-- Default privileges: none for the API roles. Supabase stopped granting
-- anon, authenticated and service_role anything on new tables and functions
-- in public (new projects since 2026-05-30, every project since 2026-10-30;
-- Supabase changelog 2026-04-28, "New tables in the public schema will no
-- longer be exposed to the Data API automatically"; checked 2026-11-29). So
-- nothing is set here, and every privilege the app relies on must be granted
-- by a migration; a missing grant fails a test instead of hiding behind a
-- default. (A database an older version of this file bootstrapped still has
-- the old defaults; the baseline migrations take them away.)
-- ---------------------------------------------------------------------------

-- ---------------------------------------------------------------------------
-- auth: the part of Supabase Auth (GoTrue) the migrations depend on.
-- ---------------------------------------------------------------------------
create schema if not exists auth;
-- Supabase grants USAGE so policies can call auth.uid() as any API role
-- (Supabase's auth schema set-up; checked 2026-11-29).
grant usage on schema auth to anon, authenticated, service_role;

-- A minimal auth.users with Supabase's column names and types for what the
-- project touches. As on Supabase, `id` has no default: Supabase Auth
-- generates it, so every insert (seeds, tests) names the id.
create table if not exists auth.users (
  instance_id uuid,
  id uuid not null primary key,
  aud character varying(255),
  role character varying(255),
  email character varying(255),
  phone text,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_anonymous boolean not null default false,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  deleted_at timestamptz
);
comment on table auth.users is
  'Local stand-in for Supabase Auth users (created by supabase/local/bootstrap.sql); on Supabase the platform owns this table.';

-- As on Supabase: RLS on, and no privileges for the API roles, so auth.users
-- is reachable only through what the project deliberately exposes (Supabase
-- guide "User Management"; checked 2026-11-29).
-- A table an older bootstrap made had a default id; Supabase's has none.
alter table auth.users alter column id drop default;
alter table auth.users enable row level security;
revoke all on table auth.users from anon, authenticated;

-- The request's identity, exactly as Supabase Auth defines these functions
-- (Supabase's auth schema set-up; checked 2026-11-29): PostgREST sets
-- `request.jwt.claims` (a JSON object) per request; older PostgREST versions
-- set `request.jwt.claim.<name>` separately, hence the coalesce.
create or replace function auth.uid()
returns uuid
language sql stable
as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
comment on function auth.uid() is 'Id of the user making the request (the JWT sub claim), or null.';

create or replace function auth.role()
returns text
language sql stable
as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
comment on function auth.role() is 'Role claim of the request''s JWT (anon, authenticated, service_role), or null.';

create or replace function auth.email()
returns text
language sql stable
as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;
comment on function auth.email() is 'Email claim of the request''s JWT, or null.';

create or replace function auth.jwt()
returns jsonb
language sql stable
as $$
  select
    coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;
comment on function auth.jwt() is 'All claims of the request''s JWT as jsonb, or null.';
