-- Ticket 002: follow_up_notification_log, the delivery record of scenario pushes.
-- Testing requirements: (1) all columns exist with the right types
-- (information_schema.columns); (2) duplicate idempotency_key raises
-- unique_violation; (3) null idempotency_key raises not_null_violation;
-- (4) every valid CHECK value is accepted; (5) delivery_channel 'sms' is
-- rejected; (6) the rollback drops the table (rollbacks.sql). Plus the cascade
-- from scenario_rules and the read access of coordinators (their chapters
-- only) from issue 2's RLS section.

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

\ir fixtures/world.psql

select plan(32);

-- (1) columns per information_schema ---------------------------------------------------------

select results_eq(
  $$select column_name::text collate "default", data_type::text collate "default", is_nullable::text collate "default", column_default::text collate "default"
    from information_schema.columns
    where table_schema = 'public' and table_name = 'follow_up_notification_log'
      and column_name in ('log_id', 'peer_mentor_id', 'chapter_id', 'scenario_rule_id', 'delivered_at',
                          'delivery_channel', 'idempotency_key', 'status', 'created_at')
    order by ordinal_position$$,
  $$values ('log_id', 'uuid', 'NO', 'gen_random_uuid()'),
           ('peer_mentor_id', 'uuid', 'NO', null),
           ('chapter_id', 'uuid', 'NO', null),
           ('scenario_rule_id', 'uuid', 'NO', null),
           ('delivered_at', 'timestamp with time zone', 'NO', null),
           ('delivery_channel', 'text', 'NO', null),
           ('idempotency_key', 'text', 'NO', null),
           ('status', 'text', 'NO', null),
           ('created_at', 'timestamp with time zone', 'NO', 'now()')$$,
  'the ticket''s columns exist with their types, nullability and defaults (information_schema)'
);
select results_eq(
  $$select tc.constraint_type::text collate "default", kcu.column_name::text collate "default"
    from information_schema.table_constraints tc
    join information_schema.key_column_usage kcu
      on kcu.constraint_schema = tc.constraint_schema and kcu.constraint_name = tc.constraint_name
    where tc.table_schema = 'public' and tc.table_name = 'follow_up_notification_log'
      and tc.constraint_type in ('PRIMARY KEY', 'UNIQUE')
    order by 1, 2$$,
  $$values ('PRIMARY KEY', 'log_id'), ('UNIQUE', 'idempotency_key')$$,
  'log_id is the primary key and idempotency_key is UNIQUE (information_schema)'
);
select results_eq(
  $$select kcu.column_name::text collate "default", ccu.table_name::text collate "default", rc.delete_rule::text collate "default"
    from information_schema.referential_constraints rc
    join information_schema.key_column_usage kcu
      on kcu.constraint_schema = rc.constraint_schema and kcu.constraint_name = rc.constraint_name
    join information_schema.constraint_table_usage ccu
      on ccu.constraint_schema = rc.constraint_schema and ccu.constraint_name = rc.constraint_name
    where kcu.table_schema = 'public' and kcu.table_name = 'follow_up_notification_log'
      and kcu.column_name in ('peer_mentor_id', 'chapter_id', 'scenario_rule_id')
    order by 1$$,
  $$values ('chapter_id', 'chapters', 'CASCADE'),
           ('peer_mentor_id', 'users', 'CASCADE'),
           ('scenario_rule_id', 'scenario_rules', 'CASCADE')$$,
  'peer_mentor_id, chapter_id and scenario_rule_id reference users, chapters and scenario_rules (ON DELETE CASCADE)'
);

create function pg_temp.log_row(key text, channel text default 'fcm', status text default 'delivered',
                                mentor uuid default 'c0000000-0000-4000-8000-000000000001',
                                chapter uuid default 'b0000000-0000-4000-8000-00000000000a',
                                org uuid default 'a0000000-0000-4000-8000-000000000001',
                                rule uuid default '60000000-0000-4000-8000-00000000000a',
                                delivered timestamptz default now())
returns void language sql as $$
  insert into public.follow_up_notification_log
    (organization_id, peer_mentor_id, chapter_id, scenario_rule_id, delivered_at, delivery_channel, idempotency_key, status)
  values (org, mentor, chapter, rule, delivered, channel, key, status)
$$;

-- (2) duplicate idempotency_key ------------------------------------------------------------------

select lives_ok($$select pg_temp.log_row(encode(sha256('dup'::bytea), 'hex'))$$, 'a valid delivery record is accepted');
select is((select created_at from follow_up_notification_log where idempotency_key = encode(sha256('dup'::bytea), 'hex')),
          now(), 'created_at defaults to now()');
select throws_ok($$select pg_temp.log_row(encode(sha256('dup'::bytea), 'hex'))$$, '23505', null,
                 'a second record with the same idempotency_key raises unique_violation (23505)');
select throws_ok($$select pg_temp.log_row(encode(sha256('dup'::bytea), 'hex'), 'apns', 'failed',
                                          'c0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-00000000000b',
                                          'a0000000-0000-4000-8000-000000000001', '60000000-0000-4000-8000-00000000000b')$$,
                 '23505', null, 'the key is unique across mentors, chapters and rules too (23505)');

-- (3) NOT NULL -------------------------------------------------------------------------------------

select throws_ok($$select pg_temp.log_row(null)$$, '23502', null, 'a null idempotency_key raises not_null_violation (23502)');
select throws_ok($$select pg_temp.log_row(encode(sha256('nn-delivered'::bytea), 'hex'), delivered => null)$$, '23502', null,
                 'delivered_at is NOT NULL (23502)');
select throws_ok($$select pg_temp.log_row(encode(sha256('nn-channel'::bytea), 'hex'), channel => null)$$, '23502', null,
                 'delivery_channel is NOT NULL (23502)');
select throws_ok($$select pg_temp.log_row(encode(sha256('nn-status'::bytea), 'hex'), status => null)$$, '23502', null,
                 'status is NOT NULL (23502)');
select throws_ok($$select pg_temp.log_row(encode(sha256('nn-rule'::bytea), 'hex'), rule => null)$$, '23502', null,
                 'scenario_rule_id is NOT NULL (23502)');

-- (4) every valid enum value, (5) invalid ones ---------------------------------------------------------

select lives_ok(
  $$select pg_temp.log_row(encode(sha256(convert_to(c || '/' || s, 'UTF8')), 'hex'), c, s)
    from unnest(array['fcm', 'apns']) c cross join unnest(array['delivered', 'failed', 'skipped']) s$$,
  'every delivery_channel (fcm, apns) with every status (delivered, failed, skipped) is accepted'
);
select is(
  (select count(*)::int from follow_up_notification_log
   where idempotency_key in (select encode(sha256(convert_to(c || '/' || s, 'UTF8')), 'hex')
                             from unnest(array['fcm', 'apns']) c cross join unnest(array['delivered', 'failed', 'skipped']) s)),
  6, 'all six combinations were stored');
select throws_ok($$select pg_temp.log_row(encode(sha256('sms'::bytea), 'hex'), 'sms')$$, '23514', null,
                 'delivery_channel ''sms'' is rejected (23514)');
select throws_ok($$select pg_temp.log_row(encode(sha256('FCM'::bytea), 'hex'), 'FCM')$$, '23514', null,
                 'delivery_channel is a lowercase code (23514)');
select throws_ok($$select pg_temp.log_row(encode(sha256('sent'::bytea), 'hex'), 'fcm', 'sent')$$, '23514', null,
                 'status ''sent'' is not one of delivered/failed/skipped (23514)');
select throws_ok($$select pg_temp.log_row('not-a-hash', 'fcm', 'delivered')$$, '23514', null,
                 'the idempotency key must be a SHA-256 hex digest (23514)');
select throws_ok($$select pg_temp.log_row(encode(sha256('cross-org'::bytea), 'hex'), org => 'a0000000-0000-4000-8000-000000000002')$$,
                 '23503', null, 'a record cannot name a chapter of another organisation (23503)');

-- Coordinator reads: the coordinators (and chapter admins) of the chapter only --------------------

select pg_temp.act_as(:COA);
select results_eq(
  $$select distinct chapter_id from follow_up_notification_log$$,
  $$values ('b0000000-0000-4000-8000-00000000000a'::uuid)$$,
  'the coordinator of chapter A reads chapter A''s records and no other chapter''s'
);
select ok(
  (select count(*) from follow_up_notification_log where log_id = '90000000-0000-4000-8000-000000000001') = 1,
  'including the fixture record of mentor MA in A'
);
select ok(pg_temp.sees_nothing(
  $$select 1 from follow_up_notification_log where chapter_id = 'b0000000-0000-4000-8000-00000000000b'$$),
  'the coordinator of chapter A cannot read chapter B''s records (same organisation, other chapter), not even MAB''s who is also in A'
);
select pg_temp.act_as(:COC);
select results_eq(
  $$select log_id from follow_up_notification_log order by 1$$,
  $$values ('90000000-0000-4000-8000-000000000004'::uuid)$$,
  'the coordinator of chapter C (other organisation) reads only chapter C''s record'
);
select pg_temp.act_as(:ADB);
select results_eq(
  $$select log_id from follow_up_notification_log order by 1$$,
  $$values ('90000000-0000-4000-8000-000000000002'::uuid), ('90000000-0000-4000-8000-000000000003'::uuid)$$,
  'the chapter admin of B reads chapter B''s records'
);
select pg_temp.act_as(:MA);
select ok(pg_temp.sees_nothing($$select 1 from follow_up_notification_log$$), 'a mentor cannot read the log, not even records about themselves');
select pg_temp.act_as(:OUT);
select ok(pg_temp.sees_nothing($$select 1 from follow_up_notification_log$$), 'a signed-in user in no chapter reads nothing');
select pg_temp.act_as(null);
select ok(pg_temp.sees_nothing($$select 1 from follow_up_notification_log$$), 'the anonymous role reads nothing');
select pg_temp.act_as(:COA);
select throws_ok($$select pg_temp.log_row(encode(sha256('client'::bytea), 'hex'))$$, '42501', null,
                 'a coordinator cannot write delivery records (42501)');
select is(pg_temp.affected($$delete from follow_up_notification_log$$), 0, 'nor delete the records they can read');
reset role;

-- Cascade from scenario_rules ------------------------------------------------------------------------------

select is((select count(*)::int from follow_up_notification_log where scenario_rule_id = '60000000-0000-4000-8000-00000000000b'),
          2, 'rule B has two delivery records');
delete from scenario_rules where id = '60000000-0000-4000-8000-00000000000b';
select is((select count(*)::int from follow_up_notification_log where scenario_rule_id = '60000000-0000-4000-8000-00000000000b'),
          0, 'deleting the rule deletes its delivery history (ON DELETE CASCADE)');
select isnt((select count(*)::int from follow_up_notification_log where scenario_rule_id = '60000000-0000-4000-8000-00000000000a'),
          0, 'other rules'' records remain');

select * from finish();
rollback;
