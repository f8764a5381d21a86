-- The mentor directory coordinators and the public list (ticket 000 risk 1,
-- ticket 004 risk 2): the public and signed-in users see only active,
-- currently certified listings. A lapsed mentor vanishes at once, through the
-- policy's direct date predicate, even while suppression_status still says
-- 'active' (before the sweep has run); lapses_at follows certificate renewals
-- and the organisation's timezone.

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

\ir fixtures/world.psql

select plan(33);

-- Fixture listings: 01 MA/A, 02 MB/B (suppressed), 03 MAB/A, 04 MAB/B, 05 MC/C,
-- 06 MAC/A (HLF certificate expired yesterday), 07 MAC/C (NHF certificate valid).

-- Who sees what ------------------------------------------------------------------------------

select pg_temp.act_as(null);
select results_eq(
  $$select id from mentor_directory order by id$$,
  $$values ('70000000-0000-4000-8000-000000000001'::uuid), ('70000000-0000-4000-8000-000000000003'::uuid),
           ('70000000-0000-4000-8000-000000000004'::uuid), ('70000000-0000-4000-8000-000000000005'::uuid),
           ('70000000-0000-4000-8000-000000000007'::uuid)$$,
  'the public (anon) sees exactly the active, currently certified listings'
);
select pg_temp.act_as(:COA);
select results_eq(
  $$select id from mentor_directory order by id$$,
  $$values ('70000000-0000-4000-8000-000000000001'::uuid), ('70000000-0000-4000-8000-000000000003'::uuid),
           ('70000000-0000-4000-8000-000000000004'::uuid), ('70000000-0000-4000-8000-000000000005'::uuid),
           ('70000000-0000-4000-8000-000000000007'::uuid)$$,
  'a signed-in coordinator sees the same listings'
);
select ok(pg_temp.sees_nothing($$select 1 from mentor_directory where peer_mentor_id = 'c0000000-0000-4000-8000-000000000002'$$),
                'a suppressed mentor is hidden');
select ok(pg_temp.sees_nothing($$select 1 from mentor_directory where id = '70000000-0000-4000-8000-000000000006'$$),
                'a mentor whose certificate expired yesterday is hidden');
reset role;
select results_eq(
  $$select suppression_status, certification_expiry_date = current_date - 1, lapses_at <= now()
    from mentor_directory where id = '70000000-0000-4000-8000-000000000006'$$,
  $$values ('active'::text, true, true)$$,
  '... although the sweep has not suppressed it yet: the policy''s own date predicate hides it'
);
select pg_temp.act_as(null);
select ok(exists (select 1 from mentor_directory where id = '70000000-0000-4000-8000-000000000007'),
          'the same mentor stays listed in the other organisation''s chapter, where their certificate is valid');

-- The lapse instant is midnight after the expiry date, in the organisation's timezone ------------------

reset role;
select is(
  (select lapses_at from mentor_directory where id = '70000000-0000-4000-8000-000000000001'),
  ((current_date + 45 + 1)::timestamp at time zone 'Europe/Oslo'),
  'lapses_at is local midnight after the expiry date (Europe/Oslo)'
);

-- A certificate valid through the organisation's today is listed; at local
-- midnight it lapses. (Local "today", not the server's: the two differ for an
-- hour or two around midnight.)
update peer_mentor_certifications set expiry_date = (now() at time zone 'Europe/Oslo')::date
where id = 'f0000000-0000-4000-8000-000000000001';
select pg_temp.act_as(null);
select ok(exists (select 1 from mentor_directory where id = '70000000-0000-4000-8000-000000000001'),
          'a certificate expiring today (organisation''s local date) is still listed');
reset role;
update peer_mentor_certifications set expiry_date = (now() at time zone 'Europe/Oslo')::date - 1
where id = 'f0000000-0000-4000-8000-000000000001';
select pg_temp.act_as(null);
select ok(pg_temp.sees_nothing($$select 1 from mentor_directory where id = '70000000-0000-4000-8000-000000000001'$$),
                'the moment the expiry date is in the past, the listing is hidden - no sweep needed');
reset role;
select is((select suppression_status from mentor_directory where id = '70000000-0000-4000-8000-000000000001'), 'active',
          '(suppression_status is still active)');

-- Renewal brings a lapsed mentor back ---------------------------------------------------------------------

update peer_mentor_certifications set expiry_date = current_date + 365 where id = 'f0000000-0000-4000-8000-000000000005';
select results_eq(
  $$select certification_expiry_date, lapses_at from mentor_directory where id = '70000000-0000-4000-8000-000000000006'$$,
  $$values (current_date + 365, (current_date + 366)::timestamp at time zone 'Europe/Oslo')$$,
  'renewal: the listing''s expiry date and lapses_at follow the certificate'
);
select results_eq(
  $$select certification_expiry_date from mentor_directory where id = '70000000-0000-4000-8000-000000000007'$$,
  $$values (current_date + 300)$$,
  'renewal of the HLF certificate leaves the NHF listing of the same mentor alone'
);
select pg_temp.act_as(null);
select ok(exists (select 1 from mentor_directory where id = '70000000-0000-4000-8000-000000000006'),
          'the renewed mentor is listed again');
reset role;

-- Deleting the certificate hides the listing.
delete from peer_mentor_certifications where id = 'f0000000-0000-4000-8000-000000000003';
select results_eq(
  $$select certification_expiry_date, lapses_at from mentor_directory where peer_mentor_id = 'c0000000-0000-4000-8000-000000000003' order by id$$,
  $$values (null::date, null::timestamptz), (null::date, null::timestamptz)$$,
  'when the mentor''s certificate is deleted, their listings lose their dates'
);
select pg_temp.act_as(null);
select ok(pg_temp.sees_nothing($$select 1 from mentor_directory where peer_mentor_id = 'c0000000-0000-4000-8000-000000000003'$$),
                'and a mentor without a certificate is not listed');
reset role;

-- A new certificate dates the mentor's listings; one moved to another mentor
-- (an update of peer_mentor_id) refreshes both mentors' listings. Each is one
-- statement of its own, as the certificate sync applies them, so the refresh
-- also runs again with the plan it kept.
insert into peer_mentor_certifications (id, organization_id, peer_mentor_id, certificate_type, issued_on, expiry_date)
values ('f0000000-0000-4000-8000-0000000000b1', :O1, :MAB, 'hlf_peer_mentor', current_date - 10, current_date + 90);
select results_eq(
  $$select certification_expiry_date from mentor_directory where peer_mentor_id = 'c0000000-0000-4000-8000-000000000003' order by id$$,
  $$values (current_date + 90), (current_date + 90)$$,
  'a certificate inserted for a mentor dates their listings at once'
);
delete from peer_mentor_certifications where id = 'f0000000-0000-4000-8000-0000000000b1';
update peer_mentor_certifications set peer_mentor_id = :MAB where id = 'f0000000-0000-4000-8000-000000000001';
select results_eq(
  $$select peer_mentor_id, certification_expiry_date from mentor_directory
    where peer_mentor_id in ('c0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000003')
    order by peer_mentor_id, id$$,
  $$select m.id, case when m.id = 'c0000000-0000-4000-8000-000000000003'::uuid then c.expiry_date end
    from peer_mentor_certifications c,
         (values ('c0000000-0000-4000-8000-000000000001'::uuid), ('c0000000-0000-4000-8000-000000000003'::uuid),
                 ('c0000000-0000-4000-8000-000000000003'::uuid)) m(id)
    where c.id = 'f0000000-0000-4000-8000-000000000001'
    order by m.id$$,
  'a certificate moved to another mentor dates the new holder''s listings and undates the old one''s'
);
update peer_mentor_certifications set peer_mentor_id = :MA where id = 'f0000000-0000-4000-8000-000000000001';

-- A listing written for a mentor gets the dates from their certificates at once.
insert into chapter_memberships (organization_id, chapter_id, user_id, role) values (:O1, :CB, :MA, 'peer_mentor');
insert into mentor_directory (id, organization_id, chapter_id, peer_mentor_id, display_name)
values ('70000000-0000-4000-8000-0000000000a1', :O1, :CB, :MA, 'Mentor A');
select results_eq(
  $$select certification_expiry_date, lapses_at from mentor_directory where id = '70000000-0000-4000-8000-0000000000a1'$$,
  $$select expiry_date, (expiry_date + 1)::timestamp at time zone 'Europe/Oslo' from peer_mentor_certifications
    where id = 'f0000000-0000-4000-8000-000000000001'$$,
  'a new listing takes its dates from the mentor''s certificate'
);

-- Timezone changes move the lapse instant ---------------------------------------------------------------------

update organizations set timezone = 'America/New_York' where id = :O1;
select is(
  (select lapses_at from mentor_directory where id = '70000000-0000-4000-8000-000000000006'),
  ((current_date + 366)::timestamp at time zone 'America/New_York'),
  'after the organisation moves to America/New_York, lapses_at is New York midnight'
);
select is(
  (select count(*)::int from mentor_directory
   where organization_id = :O1 and certification_expiry_date is not null
     and lapses_at <> ((certification_expiry_date + 1)::timestamp at time zone 'America/New_York')),
  0, 'every listing of the organisation was moved'
);
select is(
  (select lapses_at from mentor_directory where id = '70000000-0000-4000-8000-000000000007'),
  ((current_date + 301)::timestamp at time zone 'Europe/Oslo'),
  'listings of other organisations keep their own timezone'
);

-- Suppression -------------------------------------------------------------------------------------------

update mentor_directory set suppression_status = 'suppressed', suppression_reason = 'certification_lapsed', suppressed_at = now()
where id = '70000000-0000-4000-8000-000000000005';
select pg_temp.act_as(null);
select ok(pg_temp.sees_nothing($$select 1 from mentor_directory where id = '70000000-0000-4000-8000-000000000005'$$),
                'a mentor suppressed by the sweep disappears although the certificate is still valid');
reset role;
select throws_ok(
  $$update mentor_directory set suppression_status = 'suppressed' where id = '70000000-0000-4000-8000-000000000001'$$,
  '23514', null, 'a suppression needs a reason and a time (23514)'
);
select throws_ok(
  $$update mentor_directory set suppression_status = 'hidden', suppression_reason = 'manual', suppressed_at = now() where id = '70000000-0000-4000-8000-000000000001'$$,
  '23514', null, 'suppression_status is active or suppressed (23514)'
);
select throws_ok(
  $$update mentor_directory set suppression_reason = 'manual' where id = '70000000-0000-4000-8000-000000000001'$$,
  '23514', null, 'an active listing has no suppression reason (23514)'
);
update mentor_directory set suppression_reason = null where id = '70000000-0000-4000-8000-000000000001';  -- in case it got in

-- Only peer mentors of the chapter can be listed.
select throws_ok(
  $$insert into mentor_directory (organization_id, chapter_id, peer_mentor_id, display_name)
    values ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 'c0000000-0000-4000-8000-000000000011', 'Coordinator A')$$,
  '23503', null, 'a coordinator (not a peer mentor of the chapter) cannot be listed (23503)'
);
select throws_ok(
  $$insert into mentor_directory (organization_id, chapter_id, peer_mentor_id, display_name)
    values ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000b', 'c0000000-0000-4000-8000-000000000004', 'Mentor C')$$,
  '23503', null, 'a mentor of another chapter cannot be listed under this one (23503)'
);
select throws_ok(
  $$insert into mentor_directory (organization_id, chapter_id, peer_mentor_id, display_name)
    values ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 'c0000000-0000-4000-8000-000000000001', 'Mentor A again')$$,
  '23505', null, 'a mentor is listed once per chapter (23505)'
);

-- Nobody but the back end writes the directory ------------------------------------------------------------

select pg_temp.act_as(null);
select throws_ok(
  $$insert into mentor_directory (organization_id, chapter_id, peer_mentor_id, display_name)
    values ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000a', 'c0000000-0000-4000-8000-000000000005', 'Anon planted')$$,
  '42501', null, 'the public cannot add listings (42501)'
);
select is(pg_temp.affected($$update mentor_directory set suppression_status = 'active', suppression_reason = null, suppressed_at = null$$), 0,
          'the public cannot un-suppress anyone');
select pg_temp.act_as(:MB);
select is(pg_temp.affected($$update mentor_directory set suppression_status = 'active', suppression_reason = null, suppressed_at = null
                             where peer_mentor_id = 'c0000000-0000-4000-8000-000000000002'$$), 0,
          'a suppressed mentor cannot un-suppress themselves');
select is(pg_temp.affected($$delete from mentor_directory$$), 0, 'signed-in users delete nothing');
reset role;
select is((select suppression_status from mentor_directory where id = '70000000-0000-4000-8000-000000000002'), 'suppressed',
          'MB is still suppressed');

select * from finish();
rollback;
