-- The chapter admins' data-quality report (issue 19, ticket 004 risk 2): an
-- admin sees the findings of the chapters they administer and of no other;
-- coordinators, mentors and visitors see none; the rows carry ids, never
-- names; the database role, never the JWT's role claim, decides who sees
-- every chapter; the sync tables stay closed to app users; and the inbox
-- refuses an incomplete event with a readable message.
--
-- Fixture (world.psql): ADB administers chapter B (mentors MB and MAB, neither
-- assigned a coordinator there); chapter A has MA and MAB (assigned) and MAC
-- (not assigned). MAB has a coordinator in A, who is told about them, so they
-- are no finding in B (private.mentor_coordinators, the expiry sweep's rule).

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

\ir fixtures/world.psql

select plan(15);

-- Findings in both chapters of O1.
update public.device_tokens set last_refreshed_at = now() - interval '31 days'
where id in ('30000000-0000-4000-8000-000000000001', '30000000-0000-4000-8000-000000000002');
update public.push_notices set status = 'dead'
where id in ('40000000-0000-4000-8000-000000000001', '40000000-0000-4000-8000-000000000002');
update public.peer_mentor_certifications
set renewal_history = (select jsonb_agg(jsonb_build_object('schema_version', 1)) from generate_series(1, 501))
where id = 'f0000000-0000-4000-8000-000000000002';
-- A device refreshed 29 days ago is not stale yet.
update public.device_tokens set last_refreshed_at = now() - interval '29 days'
where id = '30000000-0000-4000-8000-000000000003';
insert into public.certificate_sync_people (organization_id, external_person_id, user_id)
values (:O1, 'contact-ma', :MA);
insert into public.certificate_sync_events
  (id, organization_id, source, source_event_id, event_type, external_person_id, external_certificate_id,
   external_type, expiry_date, source_modified_at, body_sha256, status, reason, processed_at)
values
  (900001, :O1, 'v1', 'e-unknown', 'renewed', 'contact-nobody', 'cert-1', 't', current_date + 300, now(),
   encode(sha256('1'::bytea), 'hex'), 'dead', 'unknown person: no mapping for external person id contact-nobody', now()),
  (900002, :O1, 'v1', 'e-ma', 'renewed', 'contact-ma', 'cert-2', 'unmapped', current_date + 300, now(),
   encode(sha256('2'::bytea), 'hex'), 'dead', 'unknown certificate type: no mapping for external type unmapped', now()),
  (900003, :O2, 'v1', 'e-o2', 'renewed', 'contact-nobody', 'cert-3', 't', current_date + 300, now(),
   encode(sha256('3'::bytea), 'hex'), 'dead', 'unknown person: no mapping for external person id contact-nobody', now());

select pg_temp.act_as(:ADB);
select set_eq(
  $$select chapter_id, issue, subject_id from public.data_quality_report$$,
  $$values
      ('b0000000-0000-4000-8000-00000000000b'::uuid, 'mentor_without_coordinator', 'c0000000-0000-4000-8000-000000000002'),
      ('b0000000-0000-4000-8000-00000000000b'::uuid, 'large_renewal_history', 'f0000000-0000-4000-8000-000000000002'),
      ('b0000000-0000-4000-8000-00000000000b'::uuid, 'stale_device', '30000000-0000-4000-8000-000000000002'),
      ('b0000000-0000-4000-8000-00000000000b'::uuid, 'dead_push', '40000000-0000-4000-8000-000000000002'),
      ('b0000000-0000-4000-8000-00000000000b'::uuid, 'dead_sync_event', '900001')$$,
  'the admin of B sees B''s findings only (MB without a coordinator; MAB has one in A): not A''s mentor without coordinator, stale device, dead push or MA''s dead event, nor O2''s event'
);
select is(
  (select count(*)::int from public.data_quality_report where chapter_id <> 'b0000000-0000-4000-8000-00000000000b'),
  0, 'nothing of another chapter reaches the admin of B'
);
reset role;

select pg_temp.act_as(:COA);
select is((select count(*)::int from public.data_quality_report), 0,
  'a coordinator (not an admin) gets an empty report');
reset role;

select pg_temp.act_as(:MA);
select is((select count(*)::int from public.data_quality_report), 0, 'a mentor gets an empty report');
reset role;

select pg_temp.act_as(null);
select throws_ok('select * from public.data_quality_report', '42501', null, 'a visitor may not read the report');
reset role;

-- The database role decides, never the JWT's role claim: PostgREST cannot
-- produce these pairings, but a SQL session can, and the function must hold.
create function pg_temp.act_as_claiming(db_role text, uid uuid, claimed_role text) returns void
language plpgsql as $$
begin
  perform set_config('role', db_role, true);
  perform set_config('request.jwt.claims',
    jsonb_strip_nulls(jsonb_build_object('sub', uid, 'role', claimed_role))::text, true);
end
$$;
select pg_temp.act_as_claiming('authenticated', :MA, 'service_role');
select is((select count(*)::int from public.data_quality_report), 0,
  'a mentor acting as authenticated whose claims say service_role still gets an empty report');
reset role;
select pg_temp.act_as_claiming('authenticated', :ADB, 'service_role');
select is(
  (select array_agg(distinct chapter_id) from public.data_quality_report),
  array['b0000000-0000-4000-8000-00000000000b'::uuid],
  'the admin of B acting as authenticated with a service_role claim still sees B only'
);
reset role;
select pg_temp.act_as_claiming('service_role', null, 'authenticated');
select is(
  (select count(distinct chapter_id)::int from public.data_quality_report
   where chapter_id in ('b0000000-0000-4000-8000-00000000000a', 'b0000000-0000-4000-8000-00000000000b')),
  2, 'acting as service_role, whatever the claims say, the back end sees the findings of chapters A and B'
);
reset role;

select pg_temp.act_as_service();
select set_eq(
  $$select issue, subject_id from public.data_quality_report where chapter_id = 'b0000000-0000-4000-8000-00000000000a'$$,
  $$values ('mentor_without_coordinator', 'c0000000-0000-4000-8000-000000000005'),
           ('stale_device', '30000000-0000-4000-8000-000000000001'),
           ('dead_push', '40000000-0000-4000-8000-000000000001'),
           ('dead_sync_event', '900001'), ('dead_sync_event', '900002')$$,
  'service_role sees every chapter: chapter A has MAC without coordinator, MA''s stale device and dead push, and both dead events of O1'
);
reset role;

select is(
  array(select attname::text from pg_attribute
        where attrelid = 'public.data_quality_report'::regclass and attnum > 0 order by attnum),
  array['organization_id', 'chapter_id', 'issue', 'subject_id', 'person_id', 'since'],
  'the report has ids, a finding and a time: no name, e-mail or phone column'
);

select pg_temp.act_as(:ADB);
select throws_ok('select * from public.certificate_sync_events', '42501', null,
  'app users cannot read the sync inbox');
select throws_ok('select * from public.certificate_sync_people', '42501', null,
  'app users cannot read the person mapping');
reset role;

select throws_ok(
  $$insert into public.certificate_sync_events (organization_id, source, source_event_id, event_type,
      external_person_id, external_certificate_id, source_modified_at, body_sha256)
    values ('a0000000-0000-4000-8000-000000000001', 'v1', 'x', 'revoked', 'p', 'c', now(), encode(sha256('x'::bytea), 'hex'))$$,
  '23514', null, 'the inbox refuses a revocation without revoked_on'
);
select is(
  (select obj_description(oid, 'pg_constraint') from pg_constraint where conname = 'certificate_sync_events_dates_check'),
  'a revocation needs revoked_on, and an issue date is not after the expiry date',
  'and the refusal has a readable explanation'
);
select is(private.renewal_history_warning_size(), 500, 'the report flags renewal histories past 500 entries');

select * from finish();
rollback;
