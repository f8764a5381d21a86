-- The re-registration record and the cycle record (20261206000500): one
-- push per device per week by constraint, weeks start on Mondays, and the
-- tables are the server's: RLS on, nothing for anon or authenticated,
-- service_role reads and writes but does not delete.
begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(9);

insert into auth.users (id) values ('00000000-0000-0000-0000-0000000000a1');
insert into public.users (id, display_name) values ('00000000-0000-0000-0000-0000000000a1', 'Rereg Person');
insert into public.organizations (id, slug, name, certificate_type)
values ('00000000-0000-0000-0000-0000000000b1', 'rereg-org', 'Rereg Org', 'hlf_peer_mentor');
insert into public.device_tokens (id, user_id, platform, provider, token)
values ('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000a1',
        'android', 'fcm', 'rereg-token-1');

select lives_ok(
  $$insert into public.device_reregistrations (device_token_id, week_start, organization_id, provider)
    values ('00000000-0000-0000-0000-0000000000c1', '2026-11-30', '00000000-0000-0000-0000-0000000000b1', 'fcm')$$,
  'a device takes its week''s re-registration push');
select throws_ok(
  $$insert into public.device_reregistrations (device_token_id, week_start, organization_id, provider)
    values ('00000000-0000-0000-0000-0000000000c1', '2026-11-30', '00000000-0000-0000-0000-0000000000b1', 'fcm')$$,
  '23505', null, 'a second push to the same device in the same week is refused');
select throws_ok(
  $$insert into public.device_reregistrations (device_token_id, week_start, organization_id, provider)
    values ('00000000-0000-0000-0000-0000000000c1', '2026-12-01', '00000000-0000-0000-0000-0000000000b1', 'fcm')$$,
  '23514', null, 'a week starts on a Monday');
select throws_ok(
  $$update public.device_reregistrations set status = 'sent'$$,
  '23514', null, 'sent needs its sent time');
select is(
  (select reregistration_push from public.organizations where slug = 'rereg-org'), false,
  'the re-registration push is off until an organisation turns it on');
select ok(
  (select relrowsecurity from pg_class where oid = 'public.device_reregistrations'::regclass)
  and (select relrowsecurity from pg_class where oid = 'public.daily_cycle_successes'::regclass),
  'RLS is on for both tables');
select ok(
  not has_table_privilege('authenticated', 'public.device_reregistrations', 'select')
  and not has_table_privilege('anon', 'public.device_reregistrations', 'select')
  and not has_table_privilege('authenticated', 'public.daily_cycle_successes', 'select'),
  'people and anonymous callers cannot read either table');
select ok(
  has_table_privilege('service_role', 'public.device_reregistrations', 'select, insert, update')
  and has_table_privilege('service_role', 'public.daily_cycle_successes', 'select, insert, update'),
  'service_role reads and writes what the jobs write');
select ok(
  not has_table_privilege('service_role', 'public.device_reregistrations', 'delete')
  and not has_table_privilege('service_role', 'public.daily_cycle_successes', 'delete'),
  'service_role does not delete (a deleted device or organisation takes its rows)');

select * from finish();
rollback;
