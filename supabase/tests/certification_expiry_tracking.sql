-- Ticket 000: certification_expiry_tracking.
-- Testing requirements: (1) defaults of a new row; (2) invalid certificate_type
-- rejected by the CHECK; (3) EXPLAIN shows index use (explain_plans.sql);
-- (4) RLS keeps a mentor from reading another mentor's row (JWT with another
-- sub); (5) the rollback drops it (rollbacks.sql). Plus: the database creates
-- the tracking row and keeps it in step with the certificate (renewal resets
-- the sent tiers and appends a versioned renewal_history entry), FK to
-- auth.users, and only service_role writes.

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

\ir fixtures/world.psql

select plan(40);

-- The database creates the tracking row --------------------------------------------

select is(
  (select count(*)::int from certification_expiry_tracking),
  (select count(*)::int from peer_mentor_certifications),
  'every fixture certificate got exactly one tracking row'
);

insert into auth.users (id) values ('c0000000-0000-4000-8000-0000000000e1'), ('c0000000-0000-4000-8000-0000000000e2');
insert into users (id, display_name) values ('c0000000-0000-4000-8000-0000000000e1', 'New mentor 1'), ('c0000000-0000-4000-8000-0000000000e2', 'New mentor 2');
insert into peer_mentor_certifications (id, organization_id, peer_mentor_id, certificate_type, issued_on, expiry_date) values
  ('f0000000-0000-4000-8000-0000000000e1', :O1, 'c0000000-0000-4000-8000-0000000000e1', 'hlf_peer_mentor', '2025-01-01', '2027-03-31'),
  ('f0000000-0000-4000-8000-0000000000e2', :O1, 'c0000000-0000-4000-8000-0000000000e2', 'blindeforbundet_peer_mentor', '2025-01-01', '2027-04-30');

select results_eq(
  $$select certification_id, organization_id, peer_mentor_id, certificate_type, expiry_date
    from certification_expiry_tracking where certification_id in ('f0000000-0000-4000-8000-0000000000e1', 'f0000000-0000-4000-8000-0000000000e2')
    order by certification_id$$,
  $$values ('f0000000-0000-4000-8000-0000000000e1'::uuid, 'a0000000-0000-4000-8000-000000000001'::uuid, 'c0000000-0000-4000-8000-0000000000e1'::uuid, 'hlf_peer_mentor'::text, '2027-03-31'::date),
           ('f0000000-0000-4000-8000-0000000000e2'::uuid, 'a0000000-0000-4000-8000-000000000001'::uuid, 'c0000000-0000-4000-8000-0000000000e2'::uuid, 'blindeforbundet_peer_mentor'::text, '2027-04-30'::date)$$,
  'inserting certificates (one statement, two rows) creates their tracking rows, copying mentor, type and expiry date'
);

-- (1) Defaults -----------------------------------------------------------------------

select is((select notification_thresholds_sent from certification_expiry_tracking where certification_id = 'f0000000-0000-4000-8000-0000000000e1'),
          '{}'::integer[], 'notification_thresholds_sent defaults to the empty array, not null');
select is((select last_notified_at from certification_expiry_tracking where certification_id = 'f0000000-0000-4000-8000-0000000000e1'),
          null, 'last_notified_at starts null');
select isnt((select id from certification_expiry_tracking where certification_id = 'f0000000-0000-4000-8000-0000000000e1'),
            null, 'id is generated');
select isnt((select id from certification_expiry_tracking where certification_id = 'f0000000-0000-4000-8000-0000000000e1'),
            (select id from certification_expiry_tracking where certification_id = 'f0000000-0000-4000-8000-0000000000e2'),
            'generated ids are distinct');

-- A row written directly (as the sweep's service would) gets the same defaults.
delete from certification_expiry_tracking where certification_id = 'f0000000-0000-4000-8000-0000000000e2';
insert into certification_expiry_tracking (certification_id, organization_id, peer_mentor_id, certificate_type, expiry_date)
values ('f0000000-0000-4000-8000-0000000000e2', :O1, 'c0000000-0000-4000-8000-0000000000e2', 'blindeforbundet_peer_mentor', '2027-04-30');
select results_eq(
  $$select notification_thresholds_sent, last_notified_at is null from certification_expiry_tracking
    where certification_id = 'f0000000-0000-4000-8000-0000000000e2'$$,
  $$values ('{}'::integer[], true)$$,
  'a directly inserted row defaults to thresholds {} and last_notified_at null'
);

-- (2) certificate_type CHECK -------------------------------------------------------------

select throws_ok(
  $$insert into certification_expiry_tracking (certification_id, organization_id, peer_mentor_id, certificate_type, expiry_date)
    values ('f0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'red_cross_peer_mentor', current_date)$$,
  '23514', null,
  'an unknown certificate_type is rejected by the CHECK constraint (23514)'
);
select throws_ok(
  $$insert into certification_expiry_tracking (certification_id, organization_id, peer_mentor_id, certificate_type, expiry_date)
    values ('f0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'HLF Likeperson', current_date)$$,
  '23514', null,
  'a certificate name instead of a code is rejected (23514)'
);
select throws_ok(
  $$insert into peer_mentor_certifications (organization_id, peer_mentor_id, certificate_type, issued_on, expiry_date)
    values ('a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000021', 'hlf', current_date, current_date + 1)$$,
  '23514', null,
  'the certificate record rejects an unknown certificate_type too (23514)'
);
select lives_ok(
  $$insert into peer_mentor_certifications (organization_id, peer_mentor_id, certificate_type, issued_on, expiry_date)
    values ('a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000021', 'hlf_peer_mentor', current_date, current_date + 1),
           ('a0000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-000000000021', 'nhf_peer_mentor', current_date, current_date + 1),
           ('a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000021', 'blindeforbundet_peer_mentor', current_date, current_date + 1)$$,
  'each known certificate type code is accepted'
);
select is((select array_agg(certificate_type order by certificate_type) from certification_expiry_tracking
           where peer_mentor_id = 'c0000000-0000-4000-8000-000000000021'),
          array['blindeforbundet_peer_mentor', 'hlf_peer_mentor', 'nhf_peer_mentor'],
          'and each is tracked');

-- Other constraints -------------------------------------------------------------------------

select throws_ok(
  $$update certification_expiry_tracking set notification_thresholds_sent = '{45}'
    where certification_id = 'f0000000-0000-4000-8000-000000000001'$$,
  '23514', null,
  'notification_thresholds_sent only holds 90/60/30/7 and 0 (lapsed) (23514)'
);
select throws_ok(
  $$update certification_expiry_tracking set notification_thresholds_sent = null
    where certification_id = 'f0000000-0000-4000-8000-000000000001'$$,
  '23502', null,
  'notification_thresholds_sent is never null (23502)'
);
select throws_ok(
  $$insert into certification_expiry_tracking (certification_id, organization_id, peer_mentor_id, certificate_type, expiry_date)
    values ('f0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'hlf_peer_mentor', current_date + 45)$$,
  '23505', null,
  'a certificate has exactly one tracking row (23505)'
);
select throws_ok(
  $$update certification_expiry_tracking set expiry_date = expiry_date + 10
    where certification_id = 'f0000000-0000-4000-8000-000000000001'$$,
  '23503', null,
  'the tracking row cannot disagree with its certificate''s expiry date (23503)'
);

-- FK to auth.users ---------------------------------------------------------------------------

select throws_ok(
  $$insert into certification_expiry_tracking (certification_id, organization_id, peer_mentor_id, certificate_type, expiry_date)
    values (gen_random_uuid(), 'a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-0000000000ff', 'hlf_peer_mentor', current_date)$$,
  '23503', null,
  'peer_mentor_id must be an existing auth user: no orphaned rows (23503)'
);
select is(
  (select count(*)::int from certification_expiry_tracking where peer_mentor_id = 'c0000000-0000-4000-8000-0000000000e1'), 1,
  'the new mentor has a tracking row ...'
);
delete from auth.users where id = 'c0000000-0000-4000-8000-0000000000e1';
select is(
  (select count(*)::int from certification_expiry_tracking where peer_mentor_id = 'c0000000-0000-4000-8000-0000000000e1'), 0,
  '... which goes when the auth user is deleted'
);

-- Renewal: a new expiry date starts a new notification cycle ----------------------------------

-- The sweep has sent the 60- and 30-day notices for MA's certificate.
update certification_expiry_tracking
set notification_thresholds_sent = '{60,30}', last_notified_at = now() - interval '1 day'
where certification_id = 'f0000000-0000-4000-8000-000000000001';

-- A change that is not a renewal leaves the cycle alone.
update peer_mentor_certifications set issued_on = issued_on + 1 where id = 'f0000000-0000-4000-8000-000000000001';
select results_eq(
  $$select notification_thresholds_sent, last_notified_at is not null, jsonb_array_length(c.renewal_history)
    from certification_expiry_tracking t join peer_mentor_certifications c on c.id = t.certification_id
    where t.certification_id = 'f0000000-0000-4000-8000-000000000001'$$,
  $$values ('{60,30}'::integer[], true, 0)$$,
  'an update that keeps the expiry date keeps the sent tiers and adds no renewal entry'
);

-- Renewal.
update peer_mentor_certifications set expiry_date = current_date + 45 + 730 where id = 'f0000000-0000-4000-8000-000000000001';

select is((select expiry_date from certification_expiry_tracking where certification_id = 'f0000000-0000-4000-8000-000000000001'),
          current_date + 45 + 730, 'renewal: the tracking row follows the certificate''s new expiry date');
select is((select notification_thresholds_sent from certification_expiry_tracking where certification_id = 'f0000000-0000-4000-8000-000000000001'),
          '{}'::integer[], 'renewal: notification_thresholds_sent is reset to {}');
select is((select last_notified_at from certification_expiry_tracking where certification_id = 'f0000000-0000-4000-8000-000000000001'),
          null, 'renewal: last_notified_at is reset to null');
select is((select jsonb_array_length(renewal_history) from peer_mentor_certifications where id = 'f0000000-0000-4000-8000-000000000001'),
          1, 'renewal: one renewal_history entry is appended');
select is(
  (select (renewal_history -> 0) - 'renewed_at' from peer_mentor_certifications where id = 'f0000000-0000-4000-8000-000000000001'),
  jsonb_build_object('schema_version', 1, 'previous_expiry_date', current_date + 45, 'new_expiry_date', current_date + 45 + 730),
  'renewal: the entry carries schema_version 1 and the previous and new expiry dates'
);
select ok(
  (select (renewal_history -> 0 ->> 'renewed_at')::timestamptz = now() from peer_mentor_certifications where id = 'f0000000-0000-4000-8000-000000000001'),
  'renewal: the entry records when it was renewed'
);

-- A second renewal appends, oldest first.
update certification_expiry_tracking set notification_thresholds_sent = '{90}' where certification_id = 'f0000000-0000-4000-8000-000000000001';
update peer_mentor_certifications set expiry_date = current_date + 45 + 1095 where id = 'f0000000-0000-4000-8000-000000000001';
select results_eq(
  $$select e ->> 'previous_expiry_date', e ->> 'new_expiry_date', (e ->> 'schema_version')::int
    from peer_mentor_certifications, jsonb_array_elements(renewal_history) with ordinality as h(e, n)
    where id = 'f0000000-0000-4000-8000-000000000001' order by n$$,
  format($$values (%L, %L, 1), (%L, %L, 1)$$,
         current_date + 45, current_date + 45 + 730, current_date + 45 + 730, current_date + 45 + 1095),
  'a second renewal appends a second versioned entry after the first'
);
select is((select notification_thresholds_sent from certification_expiry_tracking where certification_id = 'f0000000-0000-4000-8000-000000000001'),
          '{}'::integer[], 'and resets the sent tiers again');
select throws_ok(
  $$update peer_mentor_certifications set renewal_history = '[{"renewed_at": "2026-01-01"}]' where id = 'f0000000-0000-4000-8000-000000000002'$$,
  '23514', null,
  'renewal_history entries without a schema_version are rejected (23514)'
);

-- Deleting a certificate removes its tracking row.
delete from peer_mentor_certifications where id = 'f0000000-0000-4000-8000-000000000002';
select is((select count(*)::int from certification_expiry_tracking where certification_id = 'f0000000-0000-4000-8000-000000000002'),
          0, 'deleting a certificate deletes its tracking row');

-- (4) RLS: a mentor reads only their own rows ---------------------------------------------------

select pg_temp.act_as(:MA);
select results_eq(
  $$select certification_id from certification_expiry_tracking order by 1$$,
  $$values ('f0000000-0000-4000-8000-000000000001'::uuid)$$,
  'MA (JWT sub = MA) sees exactly their own tracking row'
);
select pg_temp.act_as(:MAC);
select results_eq(
  $$select certification_id from certification_expiry_tracking order by 1$$,
  $$values ('f0000000-0000-4000-8000-000000000005'::uuid), ('f0000000-0000-4000-8000-000000000006'::uuid)$$,
  'MAC sees both of their own rows'
);
select ok(pg_temp.sees_nothing(
  $$select 1 from certification_expiry_tracking where peer_mentor_id = 'c0000000-0000-4000-8000-000000000001'$$),
  'with a JWT for another mentor (MAC), MA''s row is invisible'
);
select pg_temp.act_as(:COA);
select ok(pg_temp.sees_nothing(
  $$select 1 from certification_expiry_tracking$$),
  'a coordinator has no rows of their own here and sees none (the sweep state is the mentor''s only)'
);
select pg_temp.act_as(null);
select ok(pg_temp.sees_nothing($$select 1 from certification_expiry_tracking$$), 'the anonymous role sees nothing');

-- ... and cannot write.
reset role;
create temp table tracking_before as select * from certification_expiry_tracking;
select pg_temp.act_as(:MA);
select throws_ok(
  $$insert into certification_expiry_tracking (certification_id, organization_id, peer_mentor_id, certificate_type, expiry_date)
    values ('f0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'hlf_peer_mentor', current_date)$$,
  '42501', null,
  'a mentor cannot insert tracking rows (42501)'
);
select is(
  pg_temp.affected($$update certification_expiry_tracking set notification_thresholds_sent = '{60,30,7}'$$),
  0, 'a mentor''s UPDATE changes no row, not even their own'
);
select is(
  pg_temp.affected($$delete from certification_expiry_tracking$$),
  0, 'a mentor''s DELETE removes no row, not even their own'
);
reset role;
select set_eq(
  $$select * from certification_expiry_tracking$$,
  $$select * from tracking_before$$,
  'the table is indeed unchanged: nothing updated, nothing deleted'
);

-- service_role (the edge functions / jobs) does the writing.
select pg_temp.act_as_service();
select is(
  pg_temp.affected($$update certification_expiry_tracking set notification_thresholds_sent = notification_thresholds_sent || 7, last_notified_at = now()
                     where certification_id = 'f0000000-0000-4000-8000-000000000003'$$),
  1, 'service_role updates the sweep state'
);
reset role;

select * from finish();
rollback;
