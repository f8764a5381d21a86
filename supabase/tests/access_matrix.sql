-- The expected access of every API role to every public table, as ONE
-- declarative table (role x table x operation), and a test of every cell of it
-- against the database (issue 2, "Row-level security").
--
-- A cell says which rows the role may see / insert / update / delete, as a
-- predicate over the table's columns in which $1 is the acting user's id
-- (auth.uid()). The predicates are written here from the specification, with
-- their own helper functions, not by calling the migrations' RLS helpers.
-- Update cells may also name the only columns that may be changed, and insert
-- cells the only columns the role may set (the rest take their defaults).
-- Which privileges each role holds, table by table and column by column, is
-- declared in api_privileges.sql; this file checks the rows they reach.
--
-- Every cell is exercised for every persona of its role (the anonymous visitor;
-- mentors, coordinators, a chapter admin and an outsider as `authenticated`;
-- the back end as `service_role`), impersonated the way PostgREST does it, on
-- the shared fixture world:
--   select  the rows the role sees must be exactly the rows the predicate picks;
--   insert  each fixture row is deleted (as superuser) and re-inserted as the
--           role; exactly the rows the predicate picks may go in;
--   update  `update t set c = c` for every column c; exactly the predicate's
--           rows may change, and only in the permitted columns;
--   delete  `delete from t`; exactly the predicate's rows may go.
-- Refusal must be a permission/RLS refusal (SQLSTATE 42501) or zero rows; any
-- other error fails the cell. Each attempt runs in a subtransaction that is
-- always rolled back, so cells do not influence each other.
--
-- A public table missing from the matrix, or a table with a missing cell,
-- fails the suite.

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

\ir fixtures/world.psql

-- Specification helpers (independent of the private.* helpers used by the policies).
create function pg_temp.led_chapters(uid uuid) returns setof uuid language sql stable as $$
  select m.chapter_id from public.chapter_memberships m
  where m.user_id = uid and m.role in ('coordinator', 'chapter_admin')
$$;
create function pg_temp.led_orgs(uid uuid) returns setof uuid language sql stable as $$
  select m.organization_id from public.chapter_memberships m
  where m.user_id = uid and m.role in ('coordinator', 'chapter_admin')
$$;
create function pg_temp.member_chapters(uid uuid) returns setof uuid language sql stable as $$
  select m.chapter_id from public.chapter_memberships m where m.user_id = uid
$$;
create function pg_temp.mentor_chapters(uid uuid) returns setof uuid language sql stable as $$
  select m.chapter_id from public.chapter_memberships m where m.user_id = uid and m.role = 'peer_mentor'
$$;
create function pg_temp.member_orgs(uid uuid) returns setof uuid language sql stable as $$
  select m.organization_id from public.chapter_memberships m where m.user_id = uid
$$;
-- Mentors followed by uid: peer mentors of a chapter uid coordinates or
-- administers, with that chapter's organisation.
create function pg_temp.followed(uid uuid, out mentor uuid, out org uuid) returns setof record
language sql stable as $$
  select mentor.user_id, mentor.organization_id
  from public.chapter_memberships leader
  join public.chapter_memberships mentor
    on mentor.chapter_id = leader.chapter_id and mentor.role = 'peer_mentor'
  where leader.user_id = uid and leader.role in ('coordinator', 'chapter_admin')
$$;

-- THE MATRIX. One row per (role, table, operation).
create temp table access_matrix (
  role text not null check (role in ('anon', 'authenticated', 'service_role')),
  tbl text not null,
  op text not null check (op in ('select', 'insert', 'update', 'delete')),
  allowed text not null,          -- predicate over the table's columns; $1 = auth.uid()
  update_columns text[],          -- update only: the only columns that may change (null = any)
  insert_columns text[],          -- insert only: the only columns the role may set (null = any)
  primary key (role, tbl, op)
);

-- Nothing for anyone but the back end: the defaults for every table.
insert into access_matrix (role, tbl, op, allowed)
select r, t, o, case when r = 'service_role' then 'true' else 'false' end
from unnest(array['anon', 'authenticated', 'service_role']) r
cross join unnest(array[
  'organizations', 'chapters', 'users', 'chapter_memberships', 'coordinator_assignments',
  'peer_mentor_certifications', 'certification_expiry_tracking', 'cert_notification_log',
  'notifications', 'device_tokens', 'push_notices', 'push_deliveries', 'push_budget_days',
  'scenario_cooldowns',
  'activities', 'scenario_rules', 'scenario_notifications', 'follow_up_notification_log',
  'mentor_directory', 'push_preferences',
  -- Issue 19: the certificate sync is the back end's alone.
  'certificate_sync_settings', 'certificate_sync_people', 'certificate_sync_types',
  'certificate_sync_events', 'certificate_sync_certificates',
  -- Issue 24: and so are its Dataverse names per organisation.
  'certificate_sync_mappings']) t
cross join unnest(array['select', 'insert', 'update', 'delete']) o;
-- Issue 27: the operations records (the last successful cycle, the weekly
-- re-registration pushes) are the back end's to read and write; nobody deletes
-- them through the API (a deleted organisation or device takes its rows).
insert into access_matrix (role, tbl, op, allowed)
select r, t, o, case when r = 'service_role' and o <> 'delete' then 'true' else 'false' end
from unnest(array['anon', 'authenticated', 'service_role']) r
cross join unnest(array['daily_cycle_successes', 'device_reregistrations']) t
cross join unnest(array['select', 'insert', 'update', 'delete']) o;
-- Issue 19: the hashes of the sync's webhook keys are not even service_role's
-- (the server reads them as the owner).
insert into access_matrix (role, tbl, op, allowed)
select r, 'certificate_sync_keys', o, 'false'
from unnest(array['anon', 'authenticated', 'service_role']) r
cross join unnest(array['select', 'insert', 'update', 'delete']) o;

-- What people may do beyond that.
update access_matrix m
set allowed = x.allowed,
    update_columns = case when x.op = 'update' then x.columns end,
    insert_columns = case when x.op = 'insert' then x.columns end
from (values
  -- Tenancy: members see their organisations and their chapters.
  ('authenticated', 'organizations', 'select',
     'id in (select pg_temp.member_orgs($1))', null::text[]),
  ('authenticated', 'chapters', 'select',
     'organization_id in (select pg_temp.member_orgs($1))', null),
  -- Profiles: your own, and those of the mentors you follow up; you may fix
  -- your own name and language and nothing else.
  ('authenticated', 'users', 'select',
     'id = $1 or id in (select f.mentor from pg_temp.followed($1) f)', null),
  ('authenticated', 'users', 'update',
     'id = $1', array['display_name', 'locale']),
  ('authenticated', 'chapter_memberships', 'select',
     'user_id = $1 or chapter_id in (select pg_temp.led_chapters($1))', null),
  ('authenticated', 'coordinator_assignments', 'select',
     'coordinator_id = $1 or peer_mentor_id = $1 or chapter_id in (select pg_temp.led_chapters($1))', null),
  -- Certificates: your own; a coordinator those of the mentors of the chapters
  -- they lead, issued by that chapter's organisation (never another organisation's).
  ('authenticated', 'peer_mentor_certifications', 'select',
     'peer_mentor_id = $1 or (peer_mentor_id, organization_id) in (select f.mentor, f.org from pg_temp.followed($1) f)', null),
  -- Ticket 000: a mentor reads only their own tracking rows.
  ('authenticated', 'certification_expiry_tracking', 'select',
     'peer_mentor_id = $1', null),
  -- Ticket 001: cert_notification_log stays 'false' for people (internal log).
  -- Ticket 004: your own inbox; you may mark it seen/read/archived only.
  ('authenticated', 'notifications', 'select',
     'recipient_id = $1', null),
  ('authenticated', 'notifications', 'update',
     'recipient_id = $1', array['seen_at', 'read_at', 'archived_at']),
  -- Devices: your own, managed by the app (the row's created_at is the database's).
  ('authenticated', 'device_tokens', 'select', 'user_id = $1', null),
  ('authenticated', 'device_tokens', 'insert', 'user_id = $1',
     array['id', 'user_id', 'platform', 'provider', 'token', 'last_refreshed_at']),
  ('authenticated', 'device_tokens', 'update', 'user_id = $1',
     array['platform', 'provider', 'token', 'last_refreshed_at']),
  ('authenticated', 'device_tokens', 'delete', 'user_id = $1', null),
  -- Issue 5: your own push choices.
  ('authenticated', 'push_preferences', 'select', 'user_id = $1', null),
  ('authenticated', 'push_preferences', 'insert', 'user_id = $1',
     array['user_id', 'muted_categories', 'window_start', 'window_end']),
  ('authenticated', 'push_preferences', 'update', 'user_id = $1',
     array['muted_categories', 'window_start', 'window_end', 'updated_at']),
  ('authenticated', 'push_preferences', 'delete', 'user_id = $1', null),
  -- Activities: your own and your led chapters'; you register your own, as a
  -- peer mentor of the chapter, dated no later than now (when it was
  -- registered is the database's clock).
  ('authenticated', 'activities', 'select',
     'peer_mentor_id = $1 or chapter_id in (select pg_temp.led_chapters($1))', null),
  ('authenticated', 'activities', 'insert',
     'peer_mentor_id = $1 and chapter_id in (select pg_temp.mentor_chapters($1)) and occurred_at <= now()',
     array['id', 'organization_id', 'chapter_id', 'peer_mentor_id', 'activity_type', 'occurred_at']),
  -- Rules of the chapters you lead and your organisation's defaults.
  ('authenticated', 'scenario_rules', 'select',
     'chapter_id in (select pg_temp.led_chapters($1)) or (chapter_id is null and organization_id in (select pg_temp.led_orgs($1)))', null),
  -- Ticket 003: own rows only.
  ('authenticated', 'scenario_notifications', 'select', 'user_id = $1', null),
  -- Ticket 002: coordinators (and chapter admins) of the chapter.
  ('authenticated', 'follow_up_notification_log', 'select',
     'chapter_id in (select pg_temp.led_chapters($1))', null),
  -- The directory: listed (active) and certified today in the organisation's calendar.
  ('anon', 'mentor_directory', 'select',
     $$suppression_status = 'active' and certification_expiry_date >= (select (now() at time zone o.timezone)::date from public.organizations o where o.id = organization_id)$$, null),
  ('authenticated', 'mentor_directory', 'select',
     $$suppression_status = 'active' and certification_expiry_date >= (select (now() at time zone o.timezone)::date from public.organizations o where o.id = organization_id)$$, null)
) as x(role, tbl, op, allowed, columns)
where m.role = x.role and m.tbl = x.tbl and m.op = x.op;

-- Who plays each role.
create temp table personas (role text not null, name text not null, uid uuid);
insert into personas values
  ('anon',          'visitor', null),
  ('authenticated', 'MA',  'c0000000-0000-4000-8000-000000000001'),
  ('authenticated', 'MAB', 'c0000000-0000-4000-8000-000000000003'),
  ('authenticated', 'MC',  'c0000000-0000-4000-8000-000000000004'),
  ('authenticated', 'MAC', 'c0000000-0000-4000-8000-000000000005'),
  ('authenticated', 'COA', 'c0000000-0000-4000-8000-000000000011'),
  ('authenticated', 'COC', 'c0000000-0000-4000-8000-000000000012'),
  ('authenticated', 'ADB', 'c0000000-0000-4000-8000-000000000013'),
  ('authenticated', 'OUT', 'c0000000-0000-4000-8000-000000000021'),
  ('service_role',  'backend', null);

-- Machinery ------------------------------------------------------------------

create function pg_temp.pk_of(tbl text) returns text language sql stable as $$
  select a.attname::text
  from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
  where i.indrelid = format('public.%I', tbl)::regclass and i.indisprimary
$$;

create function pg_temp.writable_columns(tbl text) returns text[] language sql stable as $$
  select array_agg(a.attname::text order by a.attnum)
  from pg_attribute a
  where a.attrelid = format('public.%I', tbl)::regclass
    and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
$$;

create function pg_temp.become(r text, uid uuid) returns void language plpgsql as $$
begin
  perform set_config('role', r, true);
  perform set_config('request.jwt.claims',
    case when uid is null then json_build_object('role', r)
         else json_build_object('sub', uid, 'role', r) end::text, true);
end
$$;

-- Sorted, space-separated primary keys of the rows of tbl satisfying pred (as superuser).
create function pg_temp.keys_where(tbl text, pred text, uid uuid) returns text language plpgsql as $$
declare
  pk text := pg_temp.pk_of(tbl);
  result text;
begin
  execute format('select coalesce(string_agg(x.%I::text, '' '' order by x.%I::text), '''') from public.%I x where %s',
                 pk, pk, tbl, pred)
    into result using uid;
  return result;
end
$$;

-- What the database lets role r (acting as uid) do with op on tbl.
create function pg_temp.observe(r text, uid uuid, tbl text, op text) returns text language plpgsql as $$
declare
  pk text := pg_temp.pk_of(tbl);
  cols text[] := pg_temp.writable_columns(tbl);
  col_list text;
  col text;
  result text := '';
  part text;
  before_ctids tid[];
  before_keys text;
  rec record;
  done text[] := '{}';
begin
  col_list := (select string_agg(format('%I', c), ', ') from unnest(cols) c);
  if op = 'select' then
    begin
      perform pg_temp.become(r, uid);
      execute format('select coalesce(string_agg(x.%I::text, '' '' order by x.%I::text), '''') from public.%I x',
                     pk, pk, tbl) into result;
      raise exception using errcode = 'TZ999';
    exception
      when sqlstate 'TZ999' then null;
      when insufficient_privilege then result := '';
      when others then result := format('unexpected error %s: %s', sqlstate, sqlerrm);
    end;
    return result;

  elsif op = 'insert' then
    select coalesce(m.insert_columns, cols) into cols
    from access_matrix m where m.role = r and m.tbl = observe.tbl and m.op = 'insert';
    col_list := (select string_agg(format('%I', c), ', ') from unnest(cols) c);
    for rec in execute format('select x.%I::text as key, to_jsonb(x) as row from public.%I x order by 1', pk, tbl) loop
      begin
        execute format('delete from public.%I where %I::text = $1', tbl, pk) using rec.key;
        perform pg_temp.become(r, uid);
        execute format('insert into public.%I (%s) select %s from jsonb_populate_record(null::public.%I, $1)',
                       tbl, col_list, col_list, tbl) using rec.row;
        done := done || rec.key;
        raise exception using errcode = 'TZ999';
      exception
        when sqlstate 'TZ999' then null;
        when insufficient_privilege then null;
        when others then
          return format('unexpected error %s on row %s: %s', sqlstate, rec.key, sqlerrm);
      end;
    end loop;
    return array_to_string(done, ' ');

  elsif op = 'update' then
    foreach col in array cols loop
      execute format('select array_agg(ctid) from public.%I', tbl) into before_ctids;
      part := '';
      begin
        perform pg_temp.become(r, uid);
        execute format('update public.%I set %I = %I', tbl, col, col);
        execute 'reset role';
        execute format('select coalesce(string_agg(x.%I::text, '' '' order by x.%I::text), '''') from public.%I x where not (x.ctid = any ($1))',
                       pk, pk, tbl) into part using before_ctids;
        raise exception using errcode = 'TZ999';
      exception
        when sqlstate 'TZ999' then null;
        when insufficient_privilege then part := '';
        when others then part := format('unexpected error %s: %s', sqlstate, sqlerrm);
      end;
      result := result || col || ': ' || part || E'\n';
    end loop;
    return result;

  else -- delete
    before_keys := pg_temp.keys_where(tbl, 'true', null);
    begin
      perform pg_temp.become(r, uid);
      execute format('delete from public.%I', tbl);
      execute 'reset role';
      execute format('select coalesce(string_agg(k, '' '' order by k), '''') from unnest(string_to_array($1, '' '')) k where k not in (select x.%I::text from public.%I x)',
                     pk, tbl) into result using before_keys;
      raise exception using errcode = 'TZ999';
    exception
      when sqlstate 'TZ999' then null;
      when insufficient_privilege then result := '';
      when others then result := format('unexpected error %s: %s', sqlstate, sqlerrm);
    end;
    return result;
  end if;
end
$$;

-- What the matrix says role r (acting as uid) may do with op on tbl.
create function pg_temp.expected(r text, uid uuid, tbl text, op text) returns text language plpgsql as $$
declare
  cell access_matrix;
  col text;
  result text := '';
begin
  select * into cell from access_matrix m where m.role = r and m.tbl = expected.tbl and m.op = expected.op;
  if op <> 'update' then
    return pg_temp.keys_where(tbl, cell.allowed, uid);
  end if;
  foreach col in array pg_temp.writable_columns(tbl) loop
    result := result || col || ': '
      || case when cell.update_columns is null or col = any (cell.update_columns)
              then pg_temp.keys_where(tbl, cell.allowed, uid) else '' end
      || E'\n';
  end loop;
  return result;
end
$$;

-- Precomputed so the plan can count the cells.
create temp table cells as
select m.role, m.tbl, m.op, p.name, p.uid
from access_matrix m join personas p on p.role = m.role
order by m.tbl, m.op, m.role, p.name;

select plan(4 + (select count(*)::int from cells));

select set_eq(
  $$select c.relname::text from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')$$,
  -- The data-quality report is a read-only view without a key, which the cells
  -- below cannot exercise: data_quality_report.sql checks who sees which rows.
  $$select distinct tbl from access_matrix union select 'data_quality_report'$$,
  'every table and view in public is declared in the access matrix, and nothing else'
);

select is(
  (select count(*)::int from access_matrix),
  (select count(distinct tbl)::int * 3 * 4 from access_matrix),
  'the access matrix has a cell for each of the 3 roles x 4 operations of every table'
);

-- The fixture must exercise the matrix: every table has rows, and for
-- authenticated reads, at least one table shows a persona some but not all rows.
select is(
  (select count(*)::int from access_matrix m where m.role = 'service_role' and m.op = 'select'
     and pg_temp.keys_where(m.tbl, 'true', null) = ''),
  0,
  'the fixture has rows in every table'
);
select ok(
  (select count(*) from personas p
   where p.role = 'authenticated'
     and pg_temp.keys_where('peer_mentor_certifications', (select allowed from access_matrix where role = 'authenticated' and tbl = 'peer_mentor_certifications' and op = 'select'), p.uid)
         not in ('', pg_temp.keys_where('peer_mentor_certifications', 'true', null))) >= 3,
  'the fixture distinguishes own, followed and foreign rows'
);

select is(
  pg_temp.observe(c.role, c.uid, c.tbl, c.op),
  pg_temp.expected(c.role, c.uid, c.tbl, c.op),
  format('%s as %s (%s): %s', c.op, c.role, c.name, c.tbl)
)
from cells c;

select * from finish();
rollback;
