-- The inbox, live and countable (supabase/schemas/07_live_inbox.sql):
--   * the app's badge counts and "mark all as read"/"mark all as seen", run as
--     the very statements PostgREST builds for the documented HTTP requests,
--     as `authenticated`, reach only the caller's own notifications;
--   * on 100,000 notifications those statements use the badge index (and,
--     without it, would read and discard each person's whole history);
--   * the live part (Realtime Broadcast from the database): the broadcast
--     triggers exist exactly where Supabase Realtime does; with Realtime
--     present, a new notice or a changed seen/read/archived mark is sent to
--     the recipient's private topic inbox:<recipient id>, nothing else is,
--     and the policy on realtime.messages lets a person join only their own
--     topic, read only its messages and send on none;
--   * the rollback removes all of it, and applying the definition twice is
--     harmless.
--
-- On plain PostgreSQL there is no `realtime` schema. To exercise the
-- schema's Realtime code path, this test then creates a minimal stand-in of
-- the Realtime objects it uses (fixtures/realtime.psql), inside this
-- transaction (rolled back at the end).
-- On a Supabase database (`supabase test db`) the real objects are used, and
-- the broadcast triggers already fired when the fixture's notices were
-- written: the messages this test expects are those written after it notes
-- which ones were there before (earlier_messages).

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

\ir fixtures/world.psql

select plan(56);

-- Machinery -------------------------------------------------------------------------------

-- The statements PostgREST (src/PostgREST/Query/Statements.hs, QueryBuilder.hs,
-- SqlFragment.hs; checked 2026-11-29) builds for the app's requests, verbatim
-- but for white space. $1 is the PATCH body (PostgREST binds it as json);
-- `limit=1` becomes LIMIT 1 OFFSET 0. The read policy's predicate
-- recipient_id = (select auth.uid()) is added by the database, not by PostgREST.
create temp table inbox_requests (ord integer primary key, name text not null, sql text not null);
insert into inbox_requests values
  (1, 'the unread badge (HEAD ?select=id&read_at=is.null&archived_at=is.null&limit=1, Prefer: count=exact)', $sql$
    WITH pgrst_source AS ( SELECT "public"."notifications"."id" FROM "public"."notifications"
      WHERE  "public"."notifications"."read_at" IS NULL AND  "public"."notifications"."archived_at" IS NULL LIMIT 1 OFFSET 0 ) ,
    pgrst_source_count AS (SELECT 1  FROM "public"."notifications"
      WHERE  "public"."notifications"."read_at" IS NULL AND  "public"."notifications"."archived_at" IS NULL)
    SELECT (SELECT pg_catalog.count(*) FROM pgrst_source_count) AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total,
           coalesce(json_agg(_postgrest_t), '[]') AS body, nullif(current_setting('response.headers', true), '') AS response_headers,
           nullif(current_setting('response.status', true), '') AS response_status, '' AS response_inserted
    FROM ( SELECT * FROM pgrst_source ) _postgrest_t
  $sql$),
  (2, 'the unseen badge (HEAD ?select=id&seen_at=is.null&read_at=is.null&archived_at=is.null&limit=1, Prefer: count=exact)', $sql$
    WITH pgrst_source AS ( SELECT "public"."notifications"."id" FROM "public"."notifications"
      WHERE  "public"."notifications"."seen_at" IS NULL AND  "public"."notifications"."read_at" IS NULL AND  "public"."notifications"."archived_at" IS NULL LIMIT 1 OFFSET 0 ) ,
    pgrst_source_count AS (SELECT 1  FROM "public"."notifications"
      WHERE  "public"."notifications"."seen_at" IS NULL AND  "public"."notifications"."read_at" IS NULL AND  "public"."notifications"."archived_at" IS NULL)
    SELECT (SELECT pg_catalog.count(*) FROM pgrst_source_count) AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total,
           coalesce(json_agg(_postgrest_t), '[]') AS body, nullif(current_setting('response.headers', true), '') AS response_headers,
           nullif(current_setting('response.status', true), '') AS response_status, '' AS response_inserted
    FROM ( SELECT * FROM pgrst_source ) _postgrest_t
  $sql$),
  (3, 'mark all as read (PATCH ?read_at=is.null&archived_at=is.null {"read_at": ...}, Prefer: return=minimal)', $sql$
    WITH pgrst_source AS (UPDATE "public"."notifications" SET "read_at" = "pgrst_body"."read_at"
      FROM (SELECT $1 AS json_data) pgrst_payload,
      LATERAL (SELECT "read_at" FROM json_to_record(pgrst_payload.json_data) AS _("read_at" timestamp with time zone) ) pgrst_body
      WHERE  "public"."notifications"."read_at" IS NULL AND  "public"."notifications"."archived_at" IS NULL RETURNING 1)
    SELECT '' AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, array[]::text[] AS header, ''::text AS body,
           nullif(current_setting('response.headers', true), '') AS response_headers,
           nullif(current_setting('response.status', true), '') AS response_status, '' AS response_inserted
    FROM (SELECT * FROM pgrst_source) _postgrest_t
  $sql$),
  (4, 'mark all as seen (PATCH ?seen_at=is.null&read_at=is.null&archived_at=is.null {"seen_at": ...}, Prefer: return=minimal)', $sql$
    WITH pgrst_source AS (UPDATE "public"."notifications" SET "seen_at" = "pgrst_body"."seen_at"
      FROM (SELECT $1 AS json_data) pgrst_payload,
      LATERAL (SELECT "seen_at" FROM json_to_record(pgrst_payload.json_data) AS _("seen_at" timestamp with time zone) ) pgrst_body
      WHERE  "public"."notifications"."seen_at" IS NULL AND  "public"."notifications"."read_at" IS NULL AND  "public"."notifications"."archived_at" IS NULL RETURNING 1)
    SELECT '' AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, array[]::text[] AS header, ''::text AS body,
           nullif(current_setting('response.headers', true), '') AS response_headers,
           nullif(current_setting('response.status', true), '') AS response_status, '' AS response_inserted
    FROM (SELECT * FROM pgrst_source) _postgrest_t
  $sql$);
-- The statements are the test's, not the app's: readable as the API roles so
-- pg_temp.request can fetch them while impersonating (a temporary table, gone
-- with the session).
grant select on inbox_requests to anon, authenticated;

-- Runs request `ord` as the current role; returns what PostgREST reports: the
-- exact count (Content-Range total) for a read, the rows changed for a PATCH.
create function pg_temp.request(ord integer) returns bigint language plpgsql as $$
declare
  statement text := (select r.sql from inbox_requests r where r.ord = request.ord);
  total text;
  page bigint;
begin
  execute statement into total, page
    using json_build_object(case request.ord when 4 then 'seen_at' else 'read_at' end, now());
  return case when request.ord in (1, 2) then total::bigint else page end;
end
$$;

-- The plan (EXPLAIN (FORMAT JSON)) of request `ord` as `uid`, the way PostgREST
-- runs it, optionally with the badge index dropped. Everything happens in a
-- subtransaction that is always rolled back (role, claims, dropped index).
create function pg_temp.plan_of(ord integer, uid uuid, without_badge_index boolean default false)
returns jsonb language plpgsql as $$
declare
  statement text := (select r.sql from inbox_requests r where r.ord = plan_of.ord);
  plan jsonb;
begin
  begin
    if without_badge_index then
      drop index public.notifications_unread_idx;
    end if;
    perform set_config('role', 'authenticated', true);
    perform set_config('request.jwt.claims', json_build_object('sub', uid, 'role', 'authenticated')::text, true);
    execute 'explain (format json) ' || statement into plan using json_build_object('read_at', now());
    raise exception using errcode = 'TZ999';
  exception when sqlstate 'TZ999' then
    null;
  end;
  return plan;
end
$$;

-- Adds a notification in the inbox of `recipient` with the given marks.
create function pg_temp.notice(id uuid, recipient uuid, subject uuid, seen timestamptz, read timestamptz, archived timestamptz)
returns void language sql as $$
  insert into public.notifications (id, organization_id, recipient_id, subject_mentor_id, category, message_key, idempotency_key,
                                    seen_at, read_at, archived_at)
  values (id, 'a0000000-0000-4000-8000-000000000001', recipient, subject, 'inactivity', 'scenario.inactivity',
          encode(sha256(convert_to('live-inbox|' || id, 'UTF8')), 'hex'), seen, read, archived)
$$;

-- The badge index ------------------------------------------------------------------------

select is(
  (select indexdef from pg_indexes where schemaname = 'public' and indexname = 'notifications_unread_idx'),
  'CREATE INDEX notifications_unread_idx ON public.notifications USING btree (recipient_id, seen_at) WHERE ((read_at IS NULL) AND (archived_at IS NULL))',
  'the badge index holds each recipient''s unread, unarchived notifications, with seen_at for the unseen count'
);
select isnt(obj_description('public.notifications_unread_idx'::regclass, 'pg_class'), null, 'the badge index states its purpose');

-- The badge and "mark all" as the app makes them ------------------------------------------
-- MA's inbox: the fixture's notice 1 (new), 5 (seen, unread), 6 (read), 7 (archived unread), 8 (new).
-- COA's inbox: the fixture's notice 2 (about MA, new) and 9 (about MAB, new).
select pg_temp.notice('20000000-0000-4000-8000-000000000005', :MA, :MA, now() - interval '1 hour', null, null);
select pg_temp.notice('20000000-0000-4000-8000-000000000006', :MA, :MA, now() - interval '2 hours', now() - interval '1 hour', null);
select pg_temp.notice('20000000-0000-4000-8000-000000000007', :MA, :MA, null, null, now() - interval '1 hour');
select pg_temp.notice('20000000-0000-4000-8000-000000000008', :MA, :MA, null, null, null);
select pg_temp.notice('20000000-0000-4000-8000-000000000009', :COA, :MAB, null, null, null);

select pg_temp.act_as(:MA);
select is(pg_temp.request(1), 3::bigint, 'MA''s unread badge counts MA''s three unread, unarchived notices (not the coordinator''s notice about MA)');
select is(pg_temp.request(2), 2::bigint, 'MA''s unseen badge counts the two notices MA has neither seen nor read');
select pg_temp.act_as(:COA);
select is(pg_temp.request(1), 2::bigint, 'the coordinator''s unread badge counts only the coordinator''s own two notices');
select pg_temp.act_as(:OUT);
select is(pg_temp.request(1), 0::bigint, 'a person without notifications gets 0');
select pg_temp.act_as(null);
select throws_ok('select pg_temp.request(1)', '42501', null, 'an anonymous visitor cannot count anyone''s inbox (42501)');

select pg_temp.act_as(:MA);
select is(pg_temp.request(3), 3::bigint, 'MA''s "mark all as read" changes MA''s three unread notices, in one request');
select is(pg_temp.request(1), 0::bigint, 'MA''s unread badge is then 0');
select is(pg_temp.request(2), 0::bigint, 'MA''s unseen badge is then 0 too (read counts as seen)');
select is(pg_temp.request(3), 0::bigint, '"mark all as read" again changes nothing');
reset role;

select results_eq(
  $$select id, read_at is not null from notifications order by id$$,
  $$values ('20000000-0000-4000-8000-000000000001'::uuid, true), ('20000000-0000-4000-8000-000000000002'::uuid, false),
           ('20000000-0000-4000-8000-000000000003'::uuid, false), ('20000000-0000-4000-8000-000000000004'::uuid, false),
           ('20000000-0000-4000-8000-000000000005'::uuid, true), ('20000000-0000-4000-8000-000000000006'::uuid, true),
           ('20000000-0000-4000-8000-000000000007'::uuid, false), ('20000000-0000-4000-8000-000000000008'::uuid, true),
           ('20000000-0000-4000-8000-000000000009'::uuid, false)$$,
  'only MA''s unread, unarchived notices were marked read: not MA''s archived one, not anyone else''s'
);
select is((select read_at from notifications where id = '20000000-0000-4000-8000-000000000006'), now() - interval '1 hour',
          'a notice read earlier keeps its first read time');

select pg_temp.act_as(:COA);
select is(pg_temp.request(4), 2::bigint, 'the coordinator''s "mark all as seen" changes the coordinator''s two new notices');
select is(pg_temp.request(2), 0::bigint, 'the coordinator''s unseen badge is then 0');
select is(pg_temp.request(1), 2::bigint, 'while both stay unread');
reset role;
select is((select count(*)::int from notifications where seen_at = now()), 2, 'exactly two notices were marked seen');

-- The plans on 100,000 notifications ---------------------------------------------------------
-- 1,000 people with 100 notifications each: 95 of them read, one in seven
-- archived, four unread and unarchived (two of those unseen): a long history,
-- a short badge.

insert into auth.users (id) select md5('inbox-bench-' || i)::uuid from generate_series(1, 1000) i;
insert into users (id, display_name) select md5('inbox-bench-' || i)::uuid, 'Inbox bench ' || i from generate_series(1, 1000) i;
-- On a database with Realtime, leave the broadcast trigger out of the bulk load.
do $$
begin
  if exists (select from pg_trigger where tgname = 'notifications_broadcast_insert') then
    alter table public.notifications disable trigger notifications_broadcast_insert;
  end if;
end
$$;
insert into notifications (organization_id, recipient_id, subject_mentor_id, category, message_key, idempotency_key,
                           created_at, seen_at, read_at, archived_at)
select 'a0000000-0000-4000-8000-000000000001', md5('inbox-bench-' || (1 + i % 1000))::uuid, md5('inbox-bench-' || (1 + i % 1000))::uuid,
       'inactivity', 'scenario.inactivity', encode(sha256(convert_to('inbox-bench-n|' || i, 'UTF8')), 'hex'),
       now() - i * interval '1 minute',
       case when (i / 1000) % 40 = 0 then null else now() end,
       case when (i / 1000) % 20 = 0 then null else now() end,
       case when (i / 1000) % 7 = 3 then now() end
from generate_series(0, 99999) i;
do $$
begin
  if exists (select from pg_trigger where tgname = 'notifications_broadcast_insert') then
    alter table public.notifications enable trigger notifications_broadcast_insert;
  end if;
end
$$;
analyze auth.users;
analyze users;
analyze notifications;

select cmp_ok((select reltuples from pg_class where oid = 'public.notifications'::regclass), '>=', 100000::real,
              'notifications holds 100,000 analysed rows');

select ok(
  jsonb_path_exists(pg_temp.plan_of(r.ord, md5('inbox-bench-77')::uuid), '$.** ? (@."Index Name" == "notifications_unread_idx")'),
  format('%s as authenticated uses notifications_unread_idx', r.name))
from inbox_requests r order by r.ord;

select ok(
  not jsonb_path_exists(pg_temp.plan_of(r.ord, md5('inbox-bench-77')::uuid),
                        '$.** ? (@."Node Type" == "Seq Scan" && @."Relation Name" == "notifications")'),
  format('%s reads notifications by no sequential scan', r.name))
from inbox_requests r order by r.ord;

select ok(
  jsonb_path_exists(pg_temp.plan_of(r.ord, md5('inbox-bench-77')::uuid, true),
                    '$.** ? (@."Relation Name" == "notifications" && @."Filter" like_regex "read_at IS NULL")'),
  format('without the badge index, %s would read every notification of the person and discard the read ones', r.name))
from inbox_requests r order by r.ord;

-- Realtime: where it is not, nothing of it; never Postgres Changes -----------------------------

select is(
  (select count(*)::int from pg_trigger where tgrelid = 'public.notifications'::regclass and tgname like 'notifications_broadcast_%'),
  case when to_regprocedure('realtime.broadcast_changes(text, text, text, text, text, record, record, text)') is null then 0 else 2 end,
  'the inbox broadcast triggers exist exactly where Supabase Realtime does'
);
select ok(
  not exists (select from pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'notifications'),
  'notifications is not in the supabase_realtime publication: the inbox is not delivered a second time by Postgres Changes'
);

-- A stand-in for Supabase Realtime where there is none (see the header), then the
-- live inbox's definition applied again: its guarded Realtime part now runs.
select to_regnamespace('realtime') is null as no_realtime \gset
\if :no_realtime
\ir fixtures/realtime.psql
\endif

\ir ../schemas/07_live_inbox.sql

select is(
  array(select tgname::text from pg_trigger where tgrelid = 'public.notifications'::regclass and tgname like 'notifications_broadcast_%' order by 1),
  array['notifications_broadcast_insert', 'notifications_broadcast_marks'],
  'with Realtime present, the live inbox has the insert and the marks triggers'
);
select is(
  (select pg_get_triggerdef(oid) from pg_trigger where tgname = 'notifications_broadcast_marks'),
  'CREATE TRIGGER notifications_broadcast_marks AFTER UPDATE OF seen_at, read_at, archived_at ON public.notifications FOR EACH ROW WHEN (((old.seen_at IS DISTINCT FROM new.seen_at) OR (old.read_at IS DISTINCT FROM new.read_at) OR (old.archived_at IS DISTINCT FROM new.archived_at))) EXECUTE FUNCTION private.notifications_broadcast_to_inbox()',
  'updates are broadcast only when a seen/read/archived mark really changes'
);
select ok(
  (select prosecdef and proconfig = array['search_path=""'] from pg_proc where oid = 'private.notifications_broadcast_to_inbox()'::regprocedure),
  'the broadcast function writes as its owner, with an empty search_path'
);
select ok(
  not has_function_privilege('authenticated', 'private.notifications_broadcast_to_inbox()', 'execute')
  and not has_function_privilege('anon', 'private.notifications_broadcast_to_inbox()', 'execute'),
  'nobody can call the broadcast function; it only fires as a trigger'
);

-- What was broadcast before this point (on Supabase, the fixture's own notices
-- and marks) is not what the checks below are about.
create temp table earlier_messages as select m.id from realtime.messages m;
create function pg_temp.messages(topic text) returns table (event text, id uuid, private boolean, extension text, read boolean)
language sql as $$
  select m.event, (m.payload -> 'record' ->> 'id')::uuid, m.private, m.extension, m.payload -> 'record' ->> 'read_at' is not null
  from realtime.messages m
  where m.topic = messages.topic and m.id not in (select e.id from earlier_messages e)
  order by m.inserted_at, m.event, m.payload -> 'record' ->> 'read_at' is not null
$$;

-- The sweep (service_role) creates a notice for MB: it reaches MB's topic.
select pg_temp.act_as_service();
select pg_temp.notice('20000000-0000-4000-8000-000000000010', :MB, :MB, null, null, null);
reset role;
select results_eq(
  $$select * from pg_temp.messages('inbox:c0000000-0000-4000-8000-000000000002')$$,
  $$values ('INSERT'::text, '20000000-0000-4000-8000-000000000010'::uuid, true, 'broadcast'::text, false)$$,
  'a new notice is broadcast, privately, to its recipient''s topic inbox:<recipient id> as INSERT with the row'
);

-- MA (authenticated, who may write nothing in realtime.messages) marks a notice
-- unread again and then read: both reach MA's topic (the function writes as owner).
select pg_temp.act_as(:MA);
select is(
  pg_temp.affected($$update notifications set read_at = null where id = '20000000-0000-4000-8000-000000000008'$$), 1,
  'MA marks a notice unread again'
);
select is(pg_temp.request(3), 1::bigint, 'and then marks all as read');
reset role;
select results_eq(
  $$select * from pg_temp.messages('inbox:c0000000-0000-4000-8000-000000000001')$$,
  $$values ('UPDATE'::text, '20000000-0000-4000-8000-000000000008'::uuid, true, 'broadcast'::text, false),
           ('UPDATE'::text, '20000000-0000-4000-8000-000000000008'::uuid, true, 'broadcast'::text, true)$$,
  'each change of MA''s marks is broadcast to MA''s topic, as UPDATE with the new row'
);

-- What is not broadcast.
select pg_temp.act_as_service();
select lives_ok($$update notifications set status = 'sent', status_changed_at = now() where recipient_id = 'c0000000-0000-4000-8000-000000000002'$$,
                'the dispatcher moves MB''s notices to sent');
reset role;
select pg_temp.act_as(:MA);
select lives_ok($$update notifications set read_at = read_at, seen_at = seen_at$$, 'MA writes the marks MA already has');
reset role;
select is((select count(*)::int from realtime.messages
           where topic in ('inbox:c0000000-0000-4000-8000-000000000001', 'inbox:c0000000-0000-4000-8000-000000000002')
             and id not in (select e.id from earlier_messages e)), 3,
          'neither a status change nor an unchanged mark is broadcast (still the three messages above)');

-- Who may listen. Realtime checks a join by reading realtime.messages as the
-- joining person with realtime.topic set to the requested topic.
create function pg_temp.may_join(uid uuid, topic text) returns boolean language plpgsql as $$
begin
  perform pg_temp.act_as(uid);
  perform set_config('realtime.topic', topic, true);  -- as Realtime sets it for the join
  return not pg_temp.sees_nothing('select 1 from realtime.messages');
end
$$;
create function pg_temp.join_topic(topic text) returns void language sql as $$
  select set_config('realtime.topic', topic, true) is null
$$;
select ok(pg_temp.may_join(:MA, 'inbox:c0000000-0000-4000-8000-000000000001'), 'MA may join MA''s own inbox topic');
reset role;
select ok(not pg_temp.may_join(:MA, 'inbox:c0000000-0000-4000-8000-000000000002'), 'MA may not join MB''s inbox topic');
reset role;
select ok(not pg_temp.may_join(:COA, 'inbox:c0000000-0000-4000-8000-000000000001'),
          'not even MA''s coordinator may join MA''s inbox topic');
reset role;
select ok(not pg_temp.may_join(null, 'inbox:c0000000-0000-4000-8000-000000000001'), 'an anonymous visitor may join no inbox topic');
reset role;
insert into realtime.messages (topic, extension, payload, event, private)
values ('inbox:c0000000-0000-4000-8000-000000000001', 'presence', '{}', 'presence', true);
select pg_temp.act_as(:MA);
select pg_temp.join_topic('inbox:c0000000-0000-4000-8000-000000000001');
select is((select array_agg(distinct extension) from realtime.messages), array['broadcast'],
          'on their topic a person receives Broadcast messages only');
select is(
  (select count(*)::int from realtime.messages where topic = 'inbox:c0000000-0000-4000-8000-000000000002'),
  0, 'joined to their own inbox, MA still reads none of the messages on MB''s topic (the policy checks each message''s topic too)'
);
select throws_ok(
  $$insert into realtime.messages (topic, extension, payload, event) values ('inbox:c0000000-0000-4000-8000-000000000001', 'broadcast', '{}', 'INSERT')$$,
  '42501', null, 'nobody may send on an inbox topic, not even its owner: no forged notices (42501)'
);
reset role;
select is(
  (select pg_get_expr(p.polqual, p.polrelid) from pg_policy p where p.polname = 'mentor_notify_inbox_receive_own'),
  '((extension = ''broadcast''::text) AND (( SELECT realtime.topic() AS topic) = (''inbox:''::text || (( SELECT auth.uid() AS uid))::text)) AND (topic = (''inbox:''::text || (( SELECT auth.uid() AS uid))::text)))',
  'the channel policy compares the joined topic and the message''s topic with the caller''s own, auth.uid() and the joined topic evaluated once per statement'
);

-- Applying twice is harmless ------------------------------------------------------------------

\ir ../schemas/07_live_inbox.sql
select is(
  (select count(*)::int from pg_trigger where tgrelid = 'public.notifications'::regclass and tgname like 'notifications_broadcast_%')
  + (select count(*)::int from pg_policy where polname = 'mentor_notify_inbox_receive_own')
  + (select count(*)::int from pg_indexes where indexname = 'notifications_unread_idx'),
  4, 'applied once more: still two triggers, one policy, one index'
);

-- The rollback removes all of it -------------------------------------------------------------

-- (the baseline's rollback, which takes the rest of the schema with it; the
-- later migrations' rollbacks first, newest first, as in rollbacks.sql, since
-- their objects refer to the baseline's)
\ir ../rollbacks/20261207200200_budget_days.sql
\ir ../rollbacks/20261207200100_push_write_cost.sql
\ir ../rollbacks/20261207100100_push_db_time.sql
\ir ../rollbacks/20261207000500_sync_apply_set_based.sql
\ir ../rollbacks/20261207000400_listing_refresh_static.sql
\ir ../rollbacks/20261207000300_sweepcost.sql
\ir ../rollbacks/20261207000200_push_payload.sql
\ir ../rollbacks/20261207000100_syncfast.sql
\ir ../rollbacks/20261206000500_operations_and_reregistration.sql
\ir ../rollbacks/20261206000400_certificate_sync_ordering.sql
\ir ../rollbacks/20261206000300_push_stages.sql
\ir ../rollbacks/20261206000200_expiry_notices_in_sql.sql
\ir ../rollbacks/20261206000100_baseline.sql
select hasnt_index('public', 'notifications', 'notifications_unread_idx', 'the rollback removes the badge index');
select is(
  (select count(*)::int from pg_trigger where tgname like 'notifications_broadcast_%'),
  0, 'the rollback removes the broadcast triggers'
);
select is((select count(*)::int from pg_proc where proname = 'notifications_broadcast_to_inbox'), 0,
          'the rollback removes the broadcast function');
select is((select count(*)::int from pg_policy where polname = 'mentor_notify_inbox_receive_own'), 0,
          'the rollback removes the channel policy');

select * from finish();
rollback;
