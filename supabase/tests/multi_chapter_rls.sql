-- Coordinator scoping with multi-chapter membership (ticket 001 risk 2, issue 2
-- RLS section): a coordinator of chapter A reads the certificates, activities
-- and profiles of the mentors in A - including a mentor who is in A and B -
-- and never those of mentors only in chapter B or in another organisation,
-- nor another organisation's certificate of a mentor they share.
--
-- Fixture: MA in A; MB in B; MAB in A and B; MC in C (other organisation);
-- MAC in A and in C (other organisation), holding an HLF and an NHF certificate.
-- COA coordinates A, COC coordinates C, ADB administers B.

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

\ir fixtures/world.psql

select plan(30);

-- Coordinator of A ----------------------------------------------------------------------------

select pg_temp.act_as(:COA);

select set_eq(
  $$select peer_mentor_id from peer_mentor_certifications where organization_id = 'a0000000-0000-4000-8000-000000000001'$$,
  $$values ('c0000000-0000-4000-8000-000000000001'::uuid), ('c0000000-0000-4000-8000-000000000003'::uuid),
           ('c0000000-0000-4000-8000-000000000005'::uuid)$$,
  'COA reads the HLF certificates of the mentors in A: MA, MAB (also in B) and MAC (also in C)'
);
select ok(pg_temp.sees_nothing($$select 1 from peer_mentor_certifications where peer_mentor_id = 'c0000000-0000-4000-8000-000000000002'$$),
                'COA cannot read the certificate of MB, a mentor only in chapter B');
select ok(pg_temp.sees_nothing($$select 1 from peer_mentor_certifications where peer_mentor_id = 'c0000000-0000-4000-8000-000000000004'$$),
                'COA cannot read the certificate of MC, a mentor in another organisation');
select ok(pg_temp.sees_nothing($$select 1 from peer_mentor_certifications where organization_id = 'a0000000-0000-4000-8000-000000000002'$$),
                'COA cannot read another organisation''s certificate, not even that of MAC, a mentor of A');

select set_eq(
  $$select id from activities$$,
  $$values ('50000000-0000-4000-8000-000000000001'::uuid), ('50000000-0000-4000-8000-000000000003'::uuid)$$,
  'COA reads chapter A''s activities: MA''s and MAB''s'
);
select ok(pg_temp.sees_nothing($$select 1 from activities where chapter_id <> 'b0000000-0000-4000-8000-00000000000a'$$),
                'COA reads no activity of another chapter: not MB''s, not MAB''s work for chapter B, not MAC''s for C');

select set_eq(
  $$select id from users$$,
  $$values ('c0000000-0000-4000-8000-000000000011'::uuid), ('c0000000-0000-4000-8000-000000000001'::uuid),
           ('c0000000-0000-4000-8000-000000000003'::uuid), ('c0000000-0000-4000-8000-000000000005'::uuid)$$,
  'COA reads their own profile and those of A''s mentors (MA, MAB, MAC), nobody else''s'
);
select ok(pg_temp.sees_nothing($$select 1 from users where id in ('c0000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-000000000004',
                                                    'c0000000-0000-4000-8000-000000000012', 'c0000000-0000-4000-8000-000000000013',
                                                    'c0000000-0000-4000-8000-000000000021')$$),
                'COA cannot read MB, MC, the other coordinator, the admin of B or the outsider');

select set_eq(
  $$select id from chapter_memberships$$,
  $$values ('d0000000-0000-4000-8000-000000000001'::uuid), ('d0000000-0000-4000-8000-000000000003'::uuid),
           ('d0000000-0000-4000-8000-000000000006'::uuid), ('d0000000-0000-4000-8000-000000000011'::uuid)$$,
  'COA reads chapter A''s memberships only (not MAB''s in B, not MAC''s in C)'
);
select set_eq(
  $$select id from coordinator_assignments$$,
  $$values ('e0000000-0000-4000-8000-000000000001'::uuid), ('e0000000-0000-4000-8000-000000000002'::uuid)$$,
  'COA reads chapter A''s coordinator assignments'
);
select set_eq(
  $$select id from scenario_rules$$,
  $$values ('60000000-0000-4000-8000-000000000001'::uuid), ('60000000-0000-4000-8000-00000000000a'::uuid)$$,
  'COA reads chapter A''s rule and the organisation default, not chapter B''s or the other organisation''s'
);
select set_eq(
  $$select id from chapters$$,
  $$values ('b0000000-0000-4000-8000-00000000000a'::uuid), ('b0000000-0000-4000-8000-00000000000b'::uuid)$$,
  'COA sees the chapters of their own organisation only'
);
select ok(pg_temp.sees_nothing($$select 1 from organizations where id = 'a0000000-0000-4000-8000-000000000002'$$),
                'COA does not see the other organisation');

-- Coordinator of C (the other organisation) -----------------------------------------------------

select pg_temp.act_as(:COC);
select set_eq(
  $$select id from peer_mentor_certifications$$,
  $$values ('f0000000-0000-4000-8000-000000000004'::uuid), ('f0000000-0000-4000-8000-000000000006'::uuid)$$,
  'COC reads the NHF certificates of MC and MAC - and not MAC''s HLF certificate'
);
select set_eq(
  $$select id from activities$$,
  $$values ('50000000-0000-4000-8000-000000000005'::uuid), ('50000000-0000-4000-8000-000000000006'::uuid)$$,
  'COC reads chapter C''s activities'
);
select set_eq(
  $$select id from users$$,
  $$values ('c0000000-0000-4000-8000-000000000012'::uuid), ('c0000000-0000-4000-8000-000000000004'::uuid),
           ('c0000000-0000-4000-8000-000000000005'::uuid)$$,
  'COC reads their own profile and those of MC and MAC'
);

-- Chapter admin of B --------------------------------------------------------------------------------

select pg_temp.act_as(:ADB);
select set_eq(
  $$select peer_mentor_id from peer_mentor_certifications$$,
  $$values ('c0000000-0000-4000-8000-000000000002'::uuid), ('c0000000-0000-4000-8000-000000000003'::uuid)$$,
  'the admin of B reads the certificates of MB and MAB (who is in A and B)'
);
select set_eq(
  $$select id from activities$$,
  $$values ('50000000-0000-4000-8000-000000000002'::uuid), ('50000000-0000-4000-8000-000000000004'::uuid)$$,
  'the admin of B reads chapter B''s activities, including MAB''s work for B but not MAB''s for A'
);

-- Mentors -------------------------------------------------------------------------------------------

select pg_temp.act_as(:MAB);
select set_eq($$select id from peer_mentor_certifications$$, $$values ('f0000000-0000-4000-8000-000000000003'::uuid)$$,
              'MAB (in A and B) reads their own certificate and no fellow mentor''s');
select set_eq($$select id from activities$$,
              $$values ('50000000-0000-4000-8000-000000000003'::uuid), ('50000000-0000-4000-8000-000000000004'::uuid)$$,
              'MAB reads their own activities in both chapters');
select set_eq($$select id from users$$, $$values ('c0000000-0000-4000-8000-000000000003'::uuid)$$,
              'MAB reads their own profile only');
select set_eq($$select id from chapter_memberships$$,
              $$values ('d0000000-0000-4000-8000-000000000003'::uuid), ('d0000000-0000-4000-8000-000000000004'::uuid)$$,
              'MAB reads their own memberships, not the rest of the chapter');
select ok(pg_temp.sees_nothing($$select 1 from scenario_rules$$), 'a mentor does not read the chapter''s rules');
select set_eq($$select id from coordinator_assignments$$, $$values ('e0000000-0000-4000-8000-000000000002'::uuid)$$,
              'MAB reads the assignment naming their coordinator');

-- A mentor registers activities for their own chapters only.
select lives_ok(
  $$insert into activities (organization_id, chapter_id, peer_mentor_id, activity_type, occurred_at)
    values ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000b', 'c0000000-0000-4000-8000-000000000003', 'conversation', now())$$,
  'MAB registers an activity for chapter B, where they belong'
);
select pg_temp.act_as(:MA);
select throws_ok(
  $$insert into activities (organization_id, chapter_id, peer_mentor_id, activity_type, occurred_at)
    values ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000b', 'c0000000-0000-4000-8000-000000000001', 'conversation', now())$$,
  '42501', null, 'MA cannot register an activity for chapter B, where they do not belong (42501)'
);
select throws_ok(
  $$insert into activities (organization_id, chapter_id, peer_mentor_id, activity_type, occurred_at)
    values ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 'c0000000-0000-4000-8000-000000000003', 'conversation', now())$$,
  '42501', null, 'MA cannot register an activity in someone else''s name (42501)'
);

-- Membership changes take effect at once ------------------------------------------------------------

reset role;
delete from chapter_memberships where user_id = :MAB and chapter_id = :CA;
select pg_temp.act_as(:COA);
select ok(pg_temp.sees_nothing($$select 1 from peer_mentor_certifications where peer_mentor_id = 'c0000000-0000-4000-8000-000000000003'$$),
                'when MAB leaves chapter A, COA no longer reads their certificate');
select ok(pg_temp.sees_nothing($$select 1 from users where id = 'c0000000-0000-4000-8000-000000000003'$$),
                '... nor their profile');
reset role;
insert into chapter_memberships (organization_id, chapter_id, user_id, role) values (:O1, :CB, :COA, 'coordinator');
select pg_temp.act_as(:COA);
select set_eq(
  $$select peer_mentor_id from peer_mentor_certifications$$,
  $$values ('c0000000-0000-4000-8000-000000000001'::uuid), ('c0000000-0000-4000-8000-000000000005'::uuid),
           ('c0000000-0000-4000-8000-000000000002'::uuid), ('c0000000-0000-4000-8000-000000000003'::uuid)$$,
  'a coordinator of two chapters (A and B) reads the certificates of both chapters'' mentors, still only their organisation''s'
);
reset role;

select * from finish();
rollback;
