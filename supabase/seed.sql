-- supabase/seed.sql: demo and integration-test data for mentor-notify.
--
-- Loaded by `supabase db reset` (Supabase CLI) and by `mentor-notify demo`
-- after the migrations. What it models:
--
--   * three organisations modelled on HLF, NHF and Blindeforbundet, with the
--     expiry thresholds each uses (NHF warns at 90/30/7 days to exercise the
--     per-organisation configuration; the others use the default 60/30/7);
--   * ten chapters named after real Norwegian towns, a chapter admin per
--     organisation, coordinators (one of them for two chapters, one who is
--     also a peer mentor elsewhere) and a chapter with no coordinator at all;
--   * 53 peer mentors, five of them in two chapters (one across two
--     organisations, so holding two certificates), each a small persona: a
--     certificate expiry relative to today, an activity history, devices and
--     a directory listing;
--   * the organisation-default follow-up scenario rules (and one chapter
--     override) and a little scenario history so cooldowns and once-only
--     milestones have something to bite on.
--
-- Every date is relative to current_date / now(), so on whatever day the seed
-- is loaded the mentors are spread over every expiry tier: more than 90 days,
-- 90-61, 60-31, 30-8, 7-0, lapsed yesterday and lapsed long ago (boundary days
-- 90, 61, 60, 31, 30, 8, 7 and 0 included). The check query at the end of the
-- file prints that spread.
--
-- Idempotent: every row has a fixed UUID (literal, or md5-derived from a
-- stable name) and every INSERT ends in ON CONFLICT DO NOTHING, so loading the
-- file twice leaves the same rows as loading it once. A second load on a later
-- day does not move any date: the rows are already there.
--
-- Privacy: names, e-mail addresses (@example.org, reserved for examples) and
-- phone numbers are invented and live only in public.users (the profile
-- table) and mentor_directory.display_name (the name a mentor agreed to show).
-- auth.users carries the e-mail because Supabase Auth does; notification and
-- log tables carry UUIDs and codes only.
--
-- Portability: plain SQL, no psql meta-commands, no explicit transaction (the
-- loader decides that), core PostgreSQL 15+ only. It writes the auth.users
-- columns that both real Supabase Auth and supabase/local/bootstrap.sql have.
-- The seeded people have no password: they exist for the database, the jobs
-- and RLS tests, not for signing in through Supabase Auth.
--
-- UUID scheme (readable in query output):
--   10000000-0000-4000-8000-00000000000N   organisations (1 HLF, 2 NHF, 3 Blindeforbundet)
--   20000000-0000-4000-8000-0000000000NN   chapters
--   30000000-0000-4000-8000-000000000NNN   people: 1-99 staff, 101-199 peer mentors
--   40000000-0000-4000-8000-0000000000NN   scenario rules
--   50000000-0000-4000-8000-0000000NNNNO   certificates (person NNNN, organisation O)
--   md5('mentor_notify.seed:<kind>:<key>')::uuid   bulk rows (memberships, activities, ...)

-- ---------------------------------------------------------------------------
-- Working tables. Session-local (pg_temp) and dropped at the end, so nothing
-- of them is left in the database; re-created from scratch on every load.
-- ---------------------------------------------------------------------------
drop table if exists pg_temp.seed_chapters;
drop table if exists pg_temp.seed_staff;
drop table if exists pg_temp.seed_mentors;
drop table if exists pg_temp.seed_people;

-- Chapters: a short code used below, the organisation and the display name.
create temp table seed_chapters (
  no integer primary key,
  code text not null unique,
  org_no integer not null,
  name text not null
);
insert into seed_chapters (no, code, org_no, name) values
  (1,  'hlf_oslo',         1, 'HLF Oslo'),
  (2,  'hlf_bergen',       1, 'HLF Bergen'),
  (3,  'hlf_trondheim',    1, 'HLF Trondheim'),
  (4,  'hlf_tromso',       1, 'HLF Tromsø'),
  (5,  'nhf_oslo',         2, 'NHF Oslo'),
  (6,  'nhf_stavanger',    2, 'NHF Stavanger'),
  (7,  'nhf_kristiansand', 2, 'NHF Kristiansand'),
  (8,  'bf_drammen',       3, 'Blindeforbundet Drammen'),
  (9,  'bf_bodo',          3, 'Blindeforbundet Bodø'),
  -- Ålesund has a chapter admin but no coordinator: every mentor there
  -- exercises the coordinator fallback (notify the chapter admin instead).
  (10, 'bf_alesund',       3, 'Blindeforbundet Ålesund');

-- Staff: chapter admins and coordinators, with the chapters they lead.
-- Person 106 appears here and among the mentors: a peer mentor in HLF Oslo
-- who also coordinates HLF Bergen (RLS must let them see their own rows and
-- Bergen's mentors, nothing of Oslo's other mentors).
create temp table seed_staff (
  n integer not null,
  first_name text not null,
  last_name text not null,
  locale text not null,
  role text not null,
  chapters text[] not null,
  device text not null
);
insert into seed_staff (n, first_name, last_name, locale, role, chapters, device) values
  (1,   'Ingrid',   'Haugen',      'nb', 'chapter_admin', '{hlf_oslo,hlf_bergen,hlf_trondheim,hlf_tromso}', 'ios'),
  (2,   'Tor Egil', 'Lunde',       'nb', 'chapter_admin', '{nhf_oslo,nhf_stavanger,nhf_kristiansand}',      'android'),
  (3,   'Randi',    'Solberg',     'nb', 'chapter_admin', '{bf_drammen,bf_bodo,bf_alesund}',                'android'),
  (11,  'Kari',     'Johansen',    'nb', 'coordinator',   '{hlf_oslo}',                                     'ios'),
  (12,  'Anders',   'Moen',        'nb', 'coordinator',   '{hlf_oslo}',                                     'android'),
  (13,  'Lars',     'Berg',        'nb', 'coordinator',   '{hlf_bergen}',                                   'android'),
  -- One coordinator for two chapters (multi-chapter RLS).
  (14,  'Marit',    'Dahl',        'nb', 'coordinator',   '{hlf_trondheim,hlf_tromso}',                     'ios_fcm'),
  (15,  'Silje',    'Strand',      'nb', 'coordinator',   '{nhf_oslo}',                                     'ios'),
  (16,  'Espen',    'Nilsen',      'en', 'coordinator',   '{nhf_stavanger}',                                'android'),
  (17,  'Hanne',    'Lie',         'nb', 'coordinator',   '{nhf_kristiansand}',                             'android_stale'),
  (18,  'Jon',      'Bakke',       'nb', 'coordinator',   '{bf_drammen}',                                   'ios'),
  (19,  'Nina',     'Pedersen',    'nb', 'coordinator',   '{bf_bodo}',                                      'android'),
  (106, 'Frode',    'Kristiansen', 'nb', 'coordinator',   '{hlf_bergen}',                                   'ios');

-- Peer mentors, one persona per row.
--   chapter / extra_chapter  where they mentor (extra: a second chapter)
--   expires_in               certificate expiry_date = current_date + expires_in
--                            (null: not certified yet); extra_expires_in is
--                            the second organisation's certificate, if any
--   renewals                 entries in renewal_history (two-year periods)
--   activities, last_active, gap
--                            activity count over the past year; the newest
--                            is last_active days ago; with gap > 0 the one
--                            before it is exactly gap days older (a mentor
--                            who came back after a long break: welcome_back)
--   assigned                 false: deliberately no coordinator assignment
--                            (coordinator fallback to the chapter admin)
--   devices                  android / ios (APNs) / ios_fcm (iOS through
--                            Firebase), '+' for several, _stale = not
--                            refreshed for 45 days, none = no device
--   listing                  listed, unlisted (opted out of the directory) or
--                            manual (hidden by an administrator); mentors
--                            lapsed long ago are listed as suppressed by the
--                            sweep, those lapsed yesterday are still active
--                            (the sweep has not run yet; RLS hides them by date)
create temp table seed_mentors (
  n integer primary key,
  first_name text not null,
  last_name text not null,
  locale text not null,
  chapter text not null,
  extra_chapter text,
  expires_in integer,
  extra_expires_in integer,
  renewals integer not null,
  activities integer not null,
  last_active integer not null,
  gap integer not null,
  assigned boolean not null,
  devices text not null,
  listing text not null
);
insert into seed_mentors
  (n, first_name, last_name, locale, chapter, extra_chapter, expires_in, extra_expires_in,
   renewals, activities, last_active, gap, assigned, devices, listing)
values
  -- HLF (thresholds 60/30/7) ------------------------------------------------
  (101, 'Astrid',    'Hansen',      'nb', 'hlf_oslo',         null,          365,  null, 2,  51,   3,  0, true,  'android+ios',       'listed'),
  (102, 'Bjørn',     'Olsen',       'nb', 'hlf_oslo',         'hlf_bergen',  200,  null, 1,  26,   5,  0, true,  'android',           'listed'),
  -- exactly 10 activities, the tenth yesterday: milestone 10 is due
  (103, 'Camilla',   'Larsen',      'nb', 'hlf_oslo',         null,          120,  null, 0,  10,   1,  0, true,  'ios',               'listed'),
  (104, 'Dag',       'Andersen',    'nb', 'hlf_oslo',         null,           91,  null, 0,  24,   7,  0, true,  'ios_fcm',           'listed'),
  (105, 'Eva',       'Pedersen',    'nb', 'hlf_oslo',         null,           90,  null, 1,   9,   2,  0, true,  'android_stale',     'listed'),
  (106, 'Frode',     'Kristiansen', 'nb', 'hlf_oslo',         null,           75,  null, 0,  33,  12,  0, true,  'ios',               'listed'),
  -- certified but has never registered an activity; no coordinator assigned
  (107, 'Gunn',      'Jensen',      'nb', 'hlf_oslo',         null,           61,  null, 0,   0,   0,  0, false, 'android',           'listed'),
  (108, 'Håkon',     'Karlsen',     'nb', 'hlf_bergen',       null,           60,  null, 0,  25,   1,  0, true,  'android+ios',       'listed'),
  -- inactive 70 days, nudged 10 days ago (inside Bergen's inactivity cooldown)
  (109, 'Ida',       'Johnsen',     'nb', 'hlf_bergen',       null,           45,  null, 0,  14,  70,  0, true,  'android',           'listed'),
  (110, 'Jørgen',    'Eriksen',     'nb', 'hlf_bergen',       null,           31,  null, 0,   5,  95,  0, true,  'ios_stale',         'listed'),
  (111, 'Kristin',   'Berg',        'en', 'hlf_bergen',       null,           30,  null, 1,  49,   4,  0, false, 'android',           'listed'),
  (112, 'Leif',      'Haugen',      'nb', 'hlf_trondheim',    'hlf_tromso',   20,  null, 0,  50,   1,  0, true,  'ios',               'listed'),
  (113, 'Mari',      'Hagen',       'nb', 'hlf_trondheim',    null,            8,  null, 0,  11,  20,  0, true,  'android',           'manual'),
  (114, 'Nils',      'Johansen',    'nb', 'hlf_trondheim',    null,            7,  null, 0,   3, 150,  0, true,  'none',              'listed'),
  -- back yesterday after 75 days away: welcome_back is due
  (115, 'Oda',       'Lund',        'nb', 'hlf_trondheim',    null,            3,  null, 0,  18,   1, 75, true,  'android',           'listed'),
  -- expires today: last valid day, 7-day tier
  (116, 'Per',       'Strand',      'nb', 'hlf_tromso',       null,            0,  null, 2,  27,   9,  0, true,  'ios',               'listed'),
  (117, 'Ragnhild',  'Solberg',     'nb', 'hlf_tromso',       null,           -1,  null, 0,  12,  30,  0, true,  'android',           'listed'),
  (118, 'Sindre',    'Bakken',      'nb', 'hlf_tromso',       null,           -1,  null, 1,   7,  61,  0, true,  'ios_fcm',           'listed'),
  (119, 'Tone',      'Moe',         'nb', 'hlf_oslo',         null,          -45,  null, 0,   2, 200,  0, true,  'android_stale',     'listed'),
  (120, 'Ulf',       'Nygård',      'nb', 'hlf_bergen',       null,         -400,  null, 0,   0,   0,  0, false, 'none',              'listed'),
  -- NHF (thresholds 90/30/7) ------------------------------------------------
  (121, 'Vigdis',    'Ruud',        'nb', 'nhf_oslo',         null,          300,  null, 2,  99,   2,  0, true,  'android+ios',       'listed'),
  (122, 'Trond',     'Aas',         'nb', 'nhf_oslo',         null,          150,  null, 0,  60,   6,  0, true,  'android',           'listed'),
  (123, 'Sigrid',    'Myhre',       'nb', 'nhf_oslo',         null,           95,  null, 0,  24,   3,  0, true,  'ios',               'unlisted'),
  (124, 'Rune',      'Halvorsen',   'nb', 'nhf_oslo',         'nhf_stavanger', 90, null, 1,  40,  10,  0, true,  'android',           'listed'),
  (125, 'Oddny',     'Fredriksen',  'nb', 'nhf_oslo',         null,           80,  null, 0,  10,  65,  0, true,  'ios_stale',         'listed'),
  (126, 'Morten',    'Sæther',      'nb', 'nhf_stavanger',    null,           61,  null, 0,   8,  15,  0, true,  'android',           'listed'),
  (127, 'Liv',       'Amundsen',    'nb', 'nhf_stavanger',    null,           60,  null, 0,  25,  40,  0, true,  'ios',               'listed'),
  -- back yesterday after 90 days away; no coordinator assigned
  (128, 'Knut',      'Iversen',     'nb', 'nhf_stavanger',    null,           40,  null, 0,  13,   1, 90, false, 'android',           'listed'),
  (129, 'Janne',     'Vik',         'nb', 'nhf_stavanger',    null,           30,  null, 0,   9,   5,  0, true,  'android+ios_stale', 'listed'),
  (130, 'Harald',    'Birkeland',   'en', 'nhf_kristiansand', null,           14,  null, 0,  30,   8,  0, true,  'ios',               'listed'),
  -- inactive 110 days, last nudged 45 days ago (cooldown over: nudge again)
  (131, 'Gro',       'Tangen',      'nb', 'nhf_kristiansand', null,            8,  null, 0,   6, 110,  0, true,  'android',           'listed'),
  -- exactly 100 activities, the hundredth yesterday: milestone 100 is due
  (132, 'Finn',      'Ødegård',     'nb', 'nhf_kristiansand', null,            7,  null, 1, 100,   1,  0, true,  'android',           'listed'),
  (133, 'Elin',      'Bjerke',      'nb', 'nhf_kristiansand', null,            1,  null, 0,  20,   3,  0, true,  'ios_fcm',           'listed'),
  (134, 'Dagfinn',   'Sandvik',     'nb', 'nhf_oslo',         null,            0,  null, 0,   4,  80,  0, true,  'none',              'listed'),
  (135, 'Cecilie',   'Holm',        'nb', 'nhf_stavanger',    null,           -1,  null, 0,  15,  25,  0, true,  'android',           'listed'),
  (136, 'Arne',      'Rønning',     'nb', 'nhf_kristiansand', null,         -200,  null, 0,   1, 300,  0, true,  'android_stale',     'listed'),
  -- Blindeforbundet (thresholds 60/30/7) ------------------------------------
  (137, 'Berit',     'Knutsen',     'nb', 'bf_drammen',       null,          400,  null, 1,  45,   2,  0, true,  'android',           'listed'),
  (138, 'Geir',      'Mathisen',    'nb', 'bf_drammen',       'bf_bodo',     180,  null, 0,  26,   4,  0, true,  'ios',               'listed'),
  (139, 'Hilde',     'Eide',        'nb', 'bf_drammen',       null,          100,  null, 0,  10,   3,  0, true,  'android+ios',       'listed'),
  (140, 'Linh',      'Nguyen',      'en', 'bf_drammen',       null,           89,  null, 0,  24,  11,  0, true,  'android',           'listed'),
  (141, 'Kjersti',   'Aasen',       'nb', 'bf_drammen',       null,           70,  null, 0,   7,  90,  0, true,  'ios',               'listed'),
  -- back yesterday after 65 days away: welcome_back is due
  (142, 'Magnus',    'Tveit',       'nb', 'bf_bodo',          null,           59,  null, 0,  12,   1, 65, true,  'android',           'listed'),
  (143, 'Nora',      'Sletten',     'nb', 'bf_bodo',          null,           35,  null, 0,  49,   6,  0, false, 'android',           'listed'),
  (144, 'Ole Martin', 'Brekke',     'nb', 'bf_bodo',          null,           29,  null, 0,   2,  62,  0, true,  'ios_stale',         'listed'),
  (145, 'Pia',       'Foss',        'nb', 'bf_bodo',          null,           10,  null, 0,  35,  13,  0, true,  'android',           'listed'),
  (146, 'Roar',      'Løken',       'nb', 'bf_bodo',          null,            7,  null, 0,  25,   1,  0, true,  'ios',               'listed'),
  (147, 'Solveig',   'Aune',        'nb', 'bf_alesund',       null,            5,  null, 0,  16,  17,  0, true,  'android',           'listed'),
  (148, 'Thomas',    'Ali',         'en', 'bf_alesund',       null,            2,  null, 0,   0,   0,  0, true,  'none',              'listed'),
  (149, 'Unni',      'Vold',        'nb', 'bf_alesund',       null,           -1,  null, 0,   9,  33,  0, true,  'android',           'listed'),
  (150, 'Vegard',    'Grønli',      'nb', 'bf_alesund',       null,          -30,  null, 0,   3, 100,  0, true,  'android_stale',     'listed'),
  (151, 'Wenche',    'Holmen',      'nb', 'bf_drammen',       null,         -365,  null, 0,   0,   0,  0, true,  'none',              'listed'),
  -- in training, not certified yet: listed, but never shown (no expiry date)
  (152, 'Yngve',     'Sørensen',    'nb', 'bf_bodo',          null,          null, null, 0,   1,  10,  0, true,  'android',           'listed'),
  -- Member of both HLF and NHF: two certificates, two expiry cycles ---------
  (153, 'Åse',       'Bråten',      'nb', 'hlf_trondheim',    'nhf_oslo',     45,  100, 0,  22,   5,  0, true,  'android+ios',       'listed');

-- Everyone once, with a derived id, e-mail and phone number.
create temp table seed_people as
select distinct on (n)
  n,
  ('30000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid as id,
  first_name || ' ' || last_name as display_name,
  -- e-mail local part: lowercase ASCII (æ→ae, ø→o, å→a), spaces become dots
  translate(replace(lower(first_name || '.' || last_name), 'æ', 'ae'), 'øå ', 'oa.') || '@example.org' as email,
  -- Norwegian mobile numbers: 8 digits starting with 4 or 9, in E.164 form
  '+47' || (case when n % 2 = 0 then '4' else '9' end) || lpad(((n * 7919 + 1234567) % 10000000)::text, 7, '0') as phone,
  locale
from (
  select n, first_name, last_name, locale from seed_mentors
  union all
  select n, first_name, last_name, locale from seed_staff
) everyone
order by n;

-- ---------------------------------------------------------------------------
-- Organisations: the tenants. Thresholds are chosen per organisation from
-- {90, 60, 30, 7}; NHF warns 90 days ahead, the others use the default.
-- ---------------------------------------------------------------------------
insert into public.organizations (id, slug, name, timezone, expiry_thresholds, certificate_type) values
  ('10000000-0000-4000-8000-000000000001', 'hlf', 'Hørselshemmedes Landsforbund', 'Europe/Oslo', '{60,30,7}', 'hlf_peer_mentor'),
  ('10000000-0000-4000-8000-000000000002', 'nhf', 'Norges Handikapforbund',        'Europe/Oslo', '{90,30,7}', 'nhf_peer_mentor'),
  ('10000000-0000-4000-8000-000000000003', 'blindeforbundet', 'Norges Blindeforbund', 'Europe/Oslo', '{60,30,7}', 'blindeforbundet_peer_mentor')
on conflict do nothing;

insert into public.chapters (id, organization_id, name)
select ('20000000-0000-4000-8000-' || lpad(c.no::text, 12, '0'))::uuid,
       ('10000000-0000-4000-8000-' || lpad(c.org_no::text, 12, '0'))::uuid,
       c.name
from seed_chapters c
on conflict do nothing;

-- Chapter ids by code, for the statements below.
alter table seed_chapters add column id uuid;
alter table seed_chapters add column organization_id uuid;
update seed_chapters
set id = ('20000000-0000-4000-8000-' || lpad(no::text, 12, '0'))::uuid,
    organization_id = ('10000000-0000-4000-8000-' || lpad(org_no::text, 12, '0'))::uuid;

-- ---------------------------------------------------------------------------
-- People: the Supabase Auth identity, then the profile (the only table with
-- names and contact details).
-- ---------------------------------------------------------------------------
insert into auth.users
  (instance_id, id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000', p.id, 'authenticated', 'authenticated', p.email,
       '{"provider": "email", "providers": ["email"]}', '{}',
       now() - interval '2 years', now() - interval '2 years'
from seed_people p
on conflict do nothing;

insert into public.users (id, display_name, email, phone, locale, created_at)
select p.id, p.display_name, p.email, p.phone, p.locale, now() - interval '2 years'
from seed_people p
on conflict do nothing;

-- ---------------------------------------------------------------------------
-- Memberships: staff in the chapters they lead, mentors in one or two
-- chapters.
-- ---------------------------------------------------------------------------
insert into public.chapter_memberships (id, organization_id, chapter_id, user_id, role, created_at)
select md5('mentor_notify.seed:membership:' || c.code || ':' || m.n || ':' || m.role)::uuid,
       c.organization_id, c.id, p.id, m.role, now() - interval '18 months'
from (
  select s.n, unnest(s.chapters) as code, s.role from seed_staff s
  union all
  select n, chapter, 'peer_mentor' from seed_mentors
  union all
  select n, extra_chapter, 'peer_mentor' from seed_mentors where extra_chapter is not null
) m
join seed_chapters c on c.code = m.code
join seed_people p on p.n = m.n
on conflict do nothing;

-- Coordinator assignments: each mentor membership goes to one of the
-- chapter's coordinators (alternating where a chapter has two), except the
-- mentors marked assigned = false and every mentor of Blindeforbundet
-- Ålesund, which has no coordinator. Those exercise the fallback to the
-- chapter admin.
insert into public.coordinator_assignments (id, organization_id, chapter_id, coordinator_id, peer_mentor_id, created_at)
select md5('mentor_notify.seed:assignment:' || mentor.chapter_id || ':' || mentor.user_id)::uuid,
       mentor.organization_id, mentor.chapter_id, coordinator.user_id, mentor.user_id,
       now() - interval '1 year'
from public.chapter_memberships mentor
join seed_people p on p.id = mentor.user_id
join seed_mentors sm on sm.n = p.n and sm.assigned
cross join lateral (
  select ranked.user_id
  from (
    select c.user_id,
           row_number() over (order by c.user_id) as rank,
           count(*) over () as coordinators
    from public.chapter_memberships c
    where c.chapter_id = mentor.chapter_id and c.role = 'coordinator' and c.user_id <> mentor.user_id
  ) ranked
  where ranked.rank = sm.n % ranked.coordinators + 1
) coordinator
where mentor.role = 'peer_mentor'
  and mentor.user_id in (select id from seed_people)
on conflict do nothing;

-- ---------------------------------------------------------------------------
-- Certificates: one per mentor and organisation, of the organisation's type,
-- two years long, expiring current_date + expires_in. Inserting them makes the
-- database create the certification_expiry_tracking rows (trigger) and fill in
-- the directory dates. renewal_history holds schema_version 1 entries, as the
-- renewal trigger would have written them: each renewal a month before the
-- previous expiry, extending it by two years.
-- ---------------------------------------------------------------------------
insert into public.peer_mentor_certifications
  (id, organization_id, peer_mentor_id, certificate_type, issued_on, expiry_date, renewal_history, created_at)
select ('50000000-0000-4000-8000-' || lpad(cert.n::text, 11, '0') || cert.org_no)::uuid,
       o.id, p.id, o.certificate_type,
       current_date + cert.expires_in - 730,
       current_date + cert.expires_in,
       coalesce((
         select jsonb_agg(
                  jsonb_build_object(
                    'schema_version', 1,
                    'renewed_at', ((current_date + cert.expires_in - 730 * (cert.renewals - r + 1) - 30)::timestamp
                                   + time '10:15') at time zone 'Europe/Oslo',
                    'previous_expiry_date', current_date + cert.expires_in - 730 * (cert.renewals - r + 1),
                    'new_expiry_date', current_date + cert.expires_in - 730 * (cert.renewals - r))
                  order by r)
         from generate_series(1, cert.renewals) as r
       ), '[]'::jsonb),
       ((current_date + cert.expires_in - 730 * (cert.renewals + 1))::timestamp at time zone 'Europe/Oslo')
from (
  -- first organisation: the one of the mentor's main chapter
  select m.n, c.org_no, m.expires_in, m.renewals
  from seed_mentors m join seed_chapters c on c.code = m.chapter
  where m.expires_in is not null
  union all
  -- a second organisation, when the extra chapter belongs to another one
  select m.n, c.org_no, m.extra_expires_in, 0
  from seed_mentors m
  join seed_chapters main on main.code = m.chapter
  join seed_chapters c on c.code = m.extra_chapter
  where c.org_no <> main.org_no and m.extra_expires_in is not null
) cert
join seed_people p on p.n = cert.n
join public.organizations o on o.id = ('10000000-0000-4000-8000-' || lpad(cert.org_no::text, 12, '0'))::uuid
on conflict do nothing;

-- ---------------------------------------------------------------------------
-- Mentor directory: a listing per mentor membership (unless the mentor opted
-- out). Its certification_expiry_date and lapses_at are filled in by trigger.
-- Mentors lapsed more than a day ago were already hidden by a past sweep;
-- those lapsed yesterday are still 'active' because today's sweep has not run
-- (the read policy hides them by date anyway; the sweep should suppress them).
-- One mentor is hidden by hand (manual).
-- ---------------------------------------------------------------------------
insert into public.mentor_directory
  (id, organization_id, chapter_id, peer_mentor_id, display_name,
   suppression_status, suppression_reason, suppressed_at, created_at)
select md5('mentor_notify.seed:listing:' || c.code || ':' || m.n)::uuid,
       c.organization_id, c.id, p.id, p.display_name,
       case when m.listing = 'manual' or m.expires_in < -1 then 'suppressed' else 'active' end,
       case when m.listing = 'manual' then 'manual'
            when m.expires_in < -1 then 'certification_lapsed' end,
       case when m.listing = 'manual' then now() - interval '3 days'
            when m.expires_in < -1
              then ((current_date + m.expires_in + 1)::timestamp + time '00:05') at time zone 'Europe/Oslo' end,
       now() - interval '18 months'
from (
  select n, chapter as code, expires_in, listing from seed_mentors
  union all
  select n, extra_chapter, coalesce(extra_expires_in, expires_in), listing
  from seed_mentors where extra_chapter is not null
) m
join seed_chapters c on c.code = m.code
join seed_people p on p.n = m.n
where m.listing <> 'unlisted'
on conflict do nothing;

-- ---------------------------------------------------------------------------
-- Activities over the past year. The newest is last_active days ago; the
-- rest are spread evenly back to a year ago (starting `gap` days before the
-- newest for the mentors who came back). Counts sit on and around the milestones 10, 25,
-- 50 and 100; mentors whose newest activity is more than 60 days old are
-- inactive. Two-chapter mentors alternate between their chapters; times fall
-- between 09:00 and 18:00 Oslo time.
-- ---------------------------------------------------------------------------
insert into public.activities (id, organization_id, chapter_id, peer_mentor_id, activity_type, occurred_at, created_at)
select md5('mentor_notify.seed:activity:' || m.n || ':' || k)::uuid,
       c.organization_id, c.id, p.id,
       (array['conversation', 'group_session', 'phone_call', 'event', 'training', 'other'])[1 + (m.n + k * 5) % 6],
       t.occurred_at,
       t.occurred_at + interval '2 hours'
from seed_mentors m
cross join generate_series(0, m.activities - 1) as k
join seed_people p on p.n = m.n
join seed_chapters c
  on c.code = case when k % 2 = 1 and m.extra_chapter is not null then m.extra_chapter else m.chapter end
cross join lateral (
  select (
    (current_date
      - (m.last_active
         + case when k = 0 then 0
                -- a returning mentor: the one before the newest is exactly `gap` days older
                when m.gap > 0
                  then m.gap + (greatest(364 - m.last_active - m.gap, 1) * (k - 1)) / greatest(m.activities - 1, 1)
                else (greatest(365 - m.last_active, 1) * k) / m.activities end)
    )::timestamp
    + make_interval(hours => 9 + (m.n * 7 + k * 13) % 9, mins => (k * 17) % 60)
  ) at time zone 'Europe/Oslo' as occurred_at
) t
where m.activities > 0
on conflict do nothing;

-- ---------------------------------------------------------------------------
-- Devices. Staff and mentors register one or two devices; _stale tokens were
-- last refreshed 45 days ago (beyond the 30-day staleness limit, so the
-- token health check should ask those devices to re-register). Tokens are
-- fake but shaped like the real thing: FCM registration tokens
-- ("<instance id>:APA91b..."), APNs device tokens (64 hex digits).
-- ---------------------------------------------------------------------------
insert into public.device_tokens (id, user_id, platform, provider, token, last_refreshed_at, created_at)
select md5('mentor_notify.seed:device:' || d.n || ':' || d.kind)::uuid,
       p.id,
       case when d.kind like 'android%' then 'android' else 'ios' end,
       case when d.kind in ('ios', 'ios_stale') then 'apns' else 'fcm' end,
       case when d.kind in ('ios', 'ios_stale')
            then md5('mentor_notify.seed:apns:' || d.n) || md5('mentor_notify.seed:apns2:' || d.n)
            else substr(md5('mentor_notify.seed:fcm-id:' || d.n || d.kind), 1, 22) || ':APA91b'
                 || md5('mentor_notify.seed:fcm:' || d.n || d.kind)
                 || md5('mentor_notify.seed:fcm2:' || d.n || d.kind) end,
       case when d.kind like '%\_stale' then now() - interval '45 days'
            else now() - make_interval(days => d.n % 5) end,
       now() - interval '1 year'
from (
  select n, unnest(string_to_array(devices, '+')) as kind from seed_mentors
  union all
  select n, device from seed_staff
) d
join seed_people p on p.n = d.n
where d.kind <> 'none'
on conflict do nothing;

-- ---------------------------------------------------------------------------
-- Follow-up scenario rules: an organisation-wide default (chapter_id null)
-- for each of the four scenario types in each organisation, plus one chapter
-- override (HLF Bergen nudges after 45 days instead of 60). messages maps
-- each language to the translation key the app renders; the key is the same
-- in both languages unless an organisation customises one.
-- ---------------------------------------------------------------------------
insert into public.scenario_rules
  (id, organization_id, chapter_id, scenario_type, parameters, cooldown, enabled, messages)
select ('40000000-0000-4000-8000-' || lpad((o.org_no * 10 + r.no)::text, 12, '0'))::uuid,
       ('10000000-0000-4000-8000-' || lpad(o.org_no::text, 12, '0'))::uuid,
       null, r.scenario_type, r.parameters, r.cooldown, true,
       jsonb_build_object('nb', r.message_key, 'en', r.message_key)
from (values (1), (2), (3)) as o (org_no)
cross join (values
  -- nudge a mentor with no activity for 60 days, at most every 30 days
  (1, 'inactivity',           '{"inactivity_days": 60}'::jsonb,                interval '30 days', 'scenario.inactivity.nudge'),
  -- congratulate on the 10th, 25th, 50th and 100th activity (each only once)
  (2, 'milestone',            '{"milestones": [10, 25, 50, 100]}'::jsonb,      interval '1 day',   'scenario.milestone.reached'),
  -- remind about the coming expiry when the 30-day tier is reached
  (3, 'certification_expiry', '{"tier": "expiry_warning_30d"}'::jsonb,         interval '7 days',  'scenario.certification_expiry.reminder'),
  -- welcome back a mentor whose previous activity was over 60 days earlier
  (4, 'welcome_back',         '{"inactive_days_before_return": 60}'::jsonb,    interval '30 days', 'scenario.welcome_back.greeting')
) as r (no, scenario_type, parameters, cooldown, message_key)
on conflict do nothing;

insert into public.scenario_rules
  (id, organization_id, chapter_id, scenario_type, parameters, cooldown, enabled, messages)
values
  ('40000000-0000-4000-8000-000000000101', '10000000-0000-4000-8000-000000000001',
   '20000000-0000-4000-8000-000000000002', 'inactivity', '{"inactivity_days": 45}', interval '21 days', true,
   '{"nb": "scenario.inactivity.nudge", "en": "scenario.inactivity.nudge"}')
on conflict do nothing;

-- ---------------------------------------------------------------------------
-- Scenario history, so the engine has something to respect:
--   * every milestone a mentor passed before their latest activity was
--     congratulated then (mentors sitting exactly on a milestone, whose
--     crossing activity was yesterday, have not been: those are due);
--   * Ida Johnsen (109, HLF Bergen) was nudged for inactivity 10 days ago
--     (inside Bergen's 21-day cooldown: do not nudge again); Gro Tangen (131)
--     45 days ago (NHF's 30-day cooldown is over: nudge again).
-- metadata holds the rule id and numbers only.
-- ---------------------------------------------------------------------------
insert into public.scenario_notifications
  (id, user_id, organization_id, scenario_type, triggered_at, delivery_status, milestone_value, metadata)
select md5('mentor_notify.seed:milestone:' || a.peer_mentor_id || ':' || a.organization_id || ':' || a.rn)::uuid,
       a.peer_mentor_id, a.organization_id, 'milestone', a.occurred_at + interval '1 hour', 'sent', a.rn,
       jsonb_build_object('rule_id', rule.id, 'activity_count', a.rn)
from (
  select act.peer_mentor_id, act.organization_id, act.occurred_at,
         row_number() over w as rn,
         count(*) over (partition by act.peer_mentor_id, act.organization_id) as total
  from public.activities act
  where act.peer_mentor_id in (select id from seed_people)
  window w as (partition by act.peer_mentor_id, act.organization_id order by act.occurred_at, act.id)
) a
join public.scenario_rules rule
  on rule.organization_id = a.organization_id and rule.chapter_id is null and rule.scenario_type = 'milestone'
where a.rn in (10, 25, 50, 100) and a.total > a.rn
on conflict do nothing;

insert into public.scenario_notifications
  (id, user_id, organization_id, scenario_type, triggered_at, delivery_status, milestone_value, metadata)
select md5('mentor_notify.seed:inactivity:' || p.n || ':' || v.days_ago)::uuid,
       p.id, c.organization_id, 'inactivity',
       ((current_date - v.days_ago)::timestamp + time '07:00') at time zone 'Europe/Oslo', 'sent', null,
       jsonb_build_object('rule_id', rule.id, 'inactive_days', v.inactive_days)
from (values (109, 10, 60), (131, 45, 65)) as v (n, days_ago, inactive_days)
join seed_mentors m on m.n = v.n
join seed_people p on p.n = v.n
join seed_chapters c on c.code = m.chapter
-- the rule in force: the chapter's own, else the organisation default
cross join lateral (
  select r.id
  from public.scenario_rules r
  where r.organization_id = c.organization_id and r.scenario_type = 'inactivity'
    and (r.chapter_id = c.id or r.chapter_id is null)
  order by r.chapter_id nulls last
  limit 1
) rule
on conflict do nothing;

drop table if exists pg_temp.seed_chapters;
drop table if exists pg_temp.seed_staff;
drop table if exists pg_temp.seed_mentors;
drop table if exists pg_temp.seed_people;

-- Check the spread (run by hand; days as the organisation's calendar sees them):
--
--   select o.slug,
--          case when t.expiry_date - current_date > 90 then '1: more than 90 days'
--               when t.expiry_date - current_date > 60 then '2: 90-61 days'
--               when t.expiry_date - current_date > 30 then '3: 60-31 days'
--               when t.expiry_date - current_date > 7  then '4: 30-8 days'
--               when t.expiry_date - current_date >= 0 then '5: 7-0 days'
--               when t.expiry_date - current_date = -1 then '6: lapsed yesterday'
--               else '7: lapsed earlier' end as tier,
--          count(*)
--   from certification_expiry_tracking t join organizations o on o.id = t.organization_id
--   group by 1, 2 order by 1, 2;
