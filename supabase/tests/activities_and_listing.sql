-- The app's writes and reads the migrations' grants allow, impersonated
-- the way PostgREST runs them: who may register an activity and with which
-- dates, what the public listing shows, and the reads the tickets' screens
-- need (a mentor's own notifications and certificate state, a coordinator's
-- mentors, the listing).

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

\ir fixtures/world.psql

select plan(16);

-- Activities ------------------------------------------------------------------

-- MA is a peer mentor of chapter A; COA coordinates chapter A; ADB administers B.
select pg_temp.act_as(:MA);
select lives_ok(
  $$insert into activities (organization_id, chapter_id, peer_mentor_id, activity_type, occurred_at)
    values ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 'c0000000-0000-4000-8000-000000000001', 'conversation', now() - interval '1 hour')$$,
  'a peer mentor registers their own activity in their chapter'
);
reset role;
select ok(
  (select created_at = now() from activities
   where peer_mentor_id = :MA and occurred_at = now() - interval '1 hour'),
  'and when it was registered is the database''s clock'
);

select pg_temp.act_as(:MA);
select throws_ok(
  $$insert into activities (organization_id, chapter_id, peer_mentor_id, activity_type, occurred_at)
    values ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 'c0000000-0000-4000-8000-000000000001', 'conversation', now() + interval '1 hour')$$,
  '42501', null, 'an activity dated after now is refused (42501)'
);
select throws_ok(
  $$insert into activities (organization_id, chapter_id, peer_mentor_id, activity_type, occurred_at, created_at)
    values ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 'c0000000-0000-4000-8000-000000000001', 'conversation', now() + interval '5 years', now() + interval '5 years')$$,
  '42501', null, 'a client may not set created_at to step round the occurred-at check (42501)'
);
select throws_ok(
  $$insert into activities (organization_id, chapter_id, peer_mentor_id, activity_type, occurred_at)
    values ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 'c0000000-0000-4000-8000-000000000003', 'conversation', now() - interval '1 hour')$$,
  '42501', null, 'nobody registers an activity for another mentor (42501)'
);
select pg_temp.act_as(:COA);
select throws_ok(
  $$insert into activities (organization_id, chapter_id, peer_mentor_id, activity_type, occurred_at)
    values ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 'c0000000-0000-4000-8000-000000000011', 'conversation', now() - interval '1 hour')$$,
  '42501', null, 'a coordinator registers no mentoring activity in the chapter they coordinate (42501)'
);
select pg_temp.act_as(:ADB);
select throws_ok(
  $$insert into activities (organization_id, chapter_id, peer_mentor_id, activity_type, occurred_at)
    values ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000b', 'c0000000-0000-4000-8000-000000000013', 'conversation', now() - interval '1 hour')$$,
  '42501', null, 'nor does a chapter admin in the chapter they administer (42501)'
);
reset role;

-- The public listing ------------------------------------------------------------

select pg_temp.act_as(null);
select ok(
  (select count(*) > 0 from (select id, display_name, chapter_id from mentor_directory) listing),
  'a visitor reads the listing: who, where'
);
select throws_ok(
  $$select certification_expiry_date from mentor_directory$$,
  '42501', null, 'a visitor cannot read when a listed mentor''s certificate expires (42501)'
);
select throws_ok(
  $$select lapses_at from mentor_directory$$,
  '42501', null, 'nor when it lapses (42501)'
);
select pg_temp.act_as(:MB);
select throws_ok(
  $$select certification_expiry_date from mentor_directory$$,
  '42501', null, 'nor can a signed-in member browsing the listing (42501)'
);
reset role;

-- The tickets' reads, as the app makes them -------------------------------------

select pg_temp.act_as(:MA);
select results_eq(
  $$select recipient_id from notifications group by recipient_id$$,
  $$values ('c0000000-0000-4000-8000-000000000001'::uuid)$$,
  'a mentor reads their own notifications'
);
select results_eq(
  $$select certification_id from certification_expiry_tracking$$,
  $$values ('f0000000-0000-4000-8000-000000000001'::uuid)$$,
  'a mentor reads their own certificate''s expiry state'
);
select lives_ok(
  $$update notifications set read_at = now() where recipient_id = 'c0000000-0000-4000-8000-000000000001'$$,
  'a mentor marks their notifications read'
);
select pg_temp.act_as(:COA);
select bag_eq(
  $$select peer_mentor_id, expiry_date from peer_mentor_certifications$$,
  $$values ('c0000000-0000-4000-8000-000000000001'::uuid, current_date + 45),
           ('c0000000-0000-4000-8000-000000000003'::uuid, current_date + 25),
           ('c0000000-0000-4000-8000-000000000005'::uuid, current_date - 1)$$,
  'a coordinator reads the certificates (and expiry dates) of the mentors of their chapter, in their organisation'
);
select results_eq(
  $$select display_name from users where id = 'c0000000-0000-4000-8000-000000000001'$$,
  $$values ('Mentor A'::text)$$,
  'and their names'
);
reset role;

select * from finish();
rollback;
