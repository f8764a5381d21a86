-- The exact privileges of the API roles on every table and column in public,
-- declared once, and compared with the database's ACLs in both directions: a
-- privilege nobody declared fails the suite as surely as a missing one.
-- (Which rows the privileges reach, under row-level security, is
-- access_matrix.sql's.)
--
-- Since 2026 Supabase grants the API roles nothing by default (see the grants
-- migration), so these are exactly the grants the migrations make.

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(8);

-- THE DECLARATION. One row per (role, table, privilege); `columns` names the
-- columns of a column-level grant, null for the whole table.
create temp table declared (
  role text not null check (role in ('anon', 'authenticated', 'service_role', 'PUBLIC')),
  tbl text not null,
  privilege text not null
    check (privilege in ('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER')),
  columns text[]
);

-- service_role: the back end on the Data API reads and writes every table but
-- the hashes of the sync's webhook keys, which the server reads as the owner.
-- The operations records (the last successful cycle, the weekly
-- re-registration pushes) are written and read, never deleted by the API: a
-- deleted organisation or device takes its rows with it.
insert into declared
select 'service_role', c.relname, p, null
from pg_class c
cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE']) p
where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
  and c.relname <> 'certificate_sync_keys'
  and not (c.relname in ('daily_cycle_successes', 'device_reregistrations') and p = 'DELETE');

insert into declared (role, tbl, privilege, columns) values
  -- authenticated reads these through row-level security.
  ('authenticated', 'organizations', 'SELECT', null),
  ('authenticated', 'chapters', 'SELECT', null),
  ('authenticated', 'users', 'SELECT', null),
  ('authenticated', 'chapter_memberships', 'SELECT', null),
  ('authenticated', 'coordinator_assignments', 'SELECT', null),
  ('authenticated', 'peer_mentor_certifications', 'SELECT', null),
  ('authenticated', 'certification_expiry_tracking', 'SELECT', null),
  ('authenticated', 'notifications', 'SELECT', null),
  ('authenticated', 'device_tokens', 'SELECT', null),
  ('authenticated', 'push_preferences', 'SELECT', null),
  ('authenticated', 'activities', 'SELECT', null),
  ('authenticated', 'scenario_rules', 'SELECT', null),
  ('authenticated', 'scenario_notifications', 'SELECT', null),
  ('authenticated', 'follow_up_notification_log', 'SELECT', null),
  -- ...and writes only these.
  ('authenticated', 'users', 'UPDATE', array['display_name', 'locale']),
  ('authenticated', 'notifications', 'UPDATE', array['archived_at', 'read_at', 'seen_at']),
  ('authenticated', 'device_tokens', 'INSERT',
     array['id', 'last_refreshed_at', 'platform', 'provider', 'token', 'user_id']),
  ('authenticated', 'device_tokens', 'UPDATE', array['last_refreshed_at', 'platform', 'provider', 'token']),
  ('authenticated', 'device_tokens', 'DELETE', null),
  ('authenticated', 'push_preferences', 'INSERT',
     array['muted_categories', 'user_id', 'window_end', 'window_start']),
  ('authenticated', 'push_preferences', 'UPDATE',
     array['muted_categories', 'updated_at', 'window_end', 'window_start']),
  ('authenticated', 'push_preferences', 'DELETE', null),
  ('authenticated', 'activities', 'INSERT',
     array['activity_type', 'chapter_id', 'id', 'occurred_at', 'organization_id', 'peer_mentor_id']),
  -- The public listing, without certificate dates, for visitors and members alike.
  ('anon', 'mentor_directory', 'SELECT',
     array['chapter_id', 'display_name', 'id', 'organization_id', 'peer_mentor_id']),
  ('authenticated', 'mentor_directory', 'SELECT',
     array['chapter_id', 'display_name', 'id', 'organization_id', 'peer_mentor_id']),
  -- The data-quality report (a view, whose function shows an admin only their
  -- chapters); the sync tables are service_role's alone (above).
  ('authenticated', 'data_quality_report', 'SELECT', null),
  ('service_role', 'data_quality_report', 'SELECT', null);

-- What the database grants: table ACLs and column ACLs of every relation in
-- public, to the API roles and to PUBLIC (grantee 0).
create temp view granted as
with api(oid, name) as (
  select 0::oid, 'PUBLIC'
  union all
  select r.oid, r.rolname::text from pg_roles r where r.rolname in ('anon', 'authenticated', 'service_role')
)
select api.name as role, c.relname::text as tbl, a.privilege_type as privilege, null::text[] as columns
from pg_class c
cross join lateral aclexplode(c.relacl) a
join api on api.oid = a.grantee
where c.relnamespace = 'public'::regnamespace
union all
select api.name, c.relname::text, a.privilege_type, array_agg(att.attname::text order by att.attname)
from pg_class c
join pg_attribute att on att.attrelid = c.oid and att.attnum > 0 and not att.attisdropped
cross join lateral aclexplode(att.attacl) a
join api on api.oid = a.grantee
where c.relnamespace = 'public'::regnamespace
group by api.name, c.relname, a.privilege_type;

select set_eq(
  $$select role, tbl, privilege, coalesce(array_to_string(columns, ','), '*') from granted$$,
  $$select role, tbl, privilege, case when columns is null then '*' else array_to_string(
      array(select c from unnest(columns) c order by c), ',') end from declared$$,
  'the API roles hold exactly the declared table and column privileges in public'
);

select is(
  array(select format('%s %s on %s', role, privilege, tbl) from granted
        where role in ('anon', 'authenticated', 'PUBLIC')
          and privilege in ('TRUNCATE', 'TRIGGER', 'REFERENCES')
        order by 1),
  '{}'::text[],
  'anon and authenticated may never TRUNCATE, add triggers to or reference a table'
);

-- Functions: nothing of the project's in an exposed schema is executable by
-- anon, and nothing in private either (its only policy calls no function).
-- The project's functions are those owned by the role its migrations run as
-- (the owner of the private schema they create) that no extension installed.
-- The platform's own are not ours to judge: on Supabase anon may call
-- graphql_public.graphql(), owned by supabase_admin, by design.
create temp view project_functions as
select p.oid, p.pronamespace
from pg_proc p
where p.proowner = (select n.nspowner from pg_namespace n where n.nspname = 'private')
  and not exists (select from pg_depend d
                  where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e');
select is(
  array(select p.oid::regprocedure::text from project_functions p
        where p.pronamespace in (select oid from pg_namespace where nspname in ('public', 'graphql_public'))
          and has_function_privilege('anon', p.oid, 'execute')
        order by 1),
  '{}'::text[],
  'anon can execute no function of the project in an API-exposed schema'
);
select is(
  array(select p.oid::regprocedure::text from pg_proc p
        where p.pronamespace = 'private'::regnamespace
          and (has_function_privilege('anon', p.oid, 'execute')
               or exists (select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                          where a.grantee = 0))
        order by 1),
  '{}'::text[],
  'no project function is executable by PUBLIC or anon'
);
select ok(
  not has_schema_privilege('anon', 'private', 'usage'),
  'anon has no way into the private schema'
);

-- Future objects start closed: a table and a function created the way the
-- migrations create them get no API role privilege of their own. (EXECUTE for
-- PUBLIC on new functions is PostgreSQL's global default; taking it away for
-- the owner role would also close the functions of every extension that role
-- installs later. The check above, that anon can execute nothing exposed,
-- guards that instead.)
create table public.api_privileges_probe (id integer primary key);
create function private.api_privileges_probe() returns integer language sql
  set search_path = '' as $$ select 1 $$;
select is(
  array(select format('%s %s', a.grantee::regrole, a.privilege_type)
        from pg_class c cross join lateral aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
        where c.oid = 'public.api_privileges_probe'::regclass and a.grantee <> c.relowner
        order by 1),
  '{}'::text[],
  'a new table in public grants nothing to anyone but its owner'
);
select is(
  array(select format('%s %s', a.grantee::regrole, a.privilege_type)
        from pg_proc p cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
        where p.oid = 'private.api_privileges_probe()'::regprocedure
          and a.grantee in (select oid from pg_roles where rolname in ('anon', 'authenticated', 'service_role'))
        order by 1),
  '{}'::text[],
  'a new function grants the API roles nothing of its own'
);

-- The reads the tickets' app screens make work under these grants, the way
-- PostgREST runs them (role and claims set inside the transaction).
\ir fixtures/world.psql
create function pg_temp.listing_as_anon() returns bigint language plpgsql as $$
declare
  n bigint;
begin
  perform pg_catalog.set_config('role', 'anon', true);
  perform pg_catalog.set_config('request.jwt.claims', '{"role": "anon"}', true);
  select count(*) into n
  from (select id, organization_id, chapter_id, peer_mentor_id, display_name
        from public.mentor_directory) listing;
  perform pg_catalog.set_config('role', 'none', true);
  return n;
end
$$;
select ok(pg_temp.listing_as_anon() > 0, 'anon reads the public listing''s columns');

select * from finish();
rollback;
