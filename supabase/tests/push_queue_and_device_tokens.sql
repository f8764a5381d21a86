-- Device tokens and the push queue (push_notices, push_deliveries,
-- push_budget_days) the dispatcher drains: the risk
-- mitigations of tickets 000/002 (token refresh with last_refreshed_at,
-- cleanup of dead tokens) and ticket 004's FCM queue, as the database enforces
-- them.

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

\ir fixtures/world.psql

select plan(52);

-- device_tokens ------------------------------------------------------------------------------

select results_eq(
  $$select last_refreshed_at = now(), created_at = now() from device_tokens where id = '30000000-0000-4000-8000-000000000001'$$,
  $$values (true, true)$$,
  'last_refreshed_at and created_at default to now()'
);
select throws_ok(
  $$insert into device_tokens (user_id, platform, provider, token) values ('c0000000-0000-4000-8000-000000000001', 'web', 'fcm', 'web-token-123')$$,
  '23514', null, 'platform is android or ios (23514)'
);
select throws_ok(
  $$insert into device_tokens (user_id, platform, provider, token) values ('c0000000-0000-4000-8000-000000000001', 'android', 'apns', 'apns-on-android')$$,
  '23514', null, 'APNs tokens exist only on iOS (23514)'
);
select throws_ok(
  $$insert into device_tokens (user_id, platform, provider, token) values ('c0000000-0000-4000-8000-000000000001', 'android', 'hms', 'huawei-token')$$,
  '23514', null, 'provider is fcm or apns (23514)'
);
select throws_ok(
  $$insert into device_tokens (user_id, platform, provider, token) values ('c0000000-0000-4000-8000-000000000002', 'android', 'fcm', 'fcm-token-of-mentor-a')$$,
  '23505', null, 'a token is registered once (23505)'
);
select throws_ok(
  $$insert into device_tokens (user_id, platform, provider, token) values ('c0000000-0000-4000-8000-000000000001', 'android', 'fcm', 'has white space')$$,
  '23514', null, 'a token has no white space (23514)'
);
select lives_ok(
  $$insert into device_tokens (user_id, platform, provider, token) values ('c0000000-0000-4000-8000-000000000001', 'ios', 'fcm', 'fcm-token-of-mentor-a-on-ios')$$,
  'one person may have several devices (an iOS device through FCM)'
);

-- The app re-registers its token on every launch (MA's own session).
select pg_temp.act_as(:MA);
select is(
  pg_temp.affected($$insert into device_tokens (user_id, platform, provider, token)
                     values ('c0000000-0000-4000-8000-000000000001', 'android', 'fcm', 'fcm-token-of-mentor-a')
                     on conflict (token) do update set last_refreshed_at = now() + interval '1 second'$$),
  1, 'a mentor re-registers (upserts) their own token, refreshing last_refreshed_at'
);
select throws_ok(
  $$insert into device_tokens (user_id, platform, provider, token) values ('c0000000-0000-4000-8000-000000000002', 'android', 'fcm', 'planted-token-for-mb')$$,
  '42501', null, 'a mentor cannot register a token for someone else (42501)'
);
select set_eq(
  $$select token from device_tokens$$,
  $$values ('fcm-token-of-mentor-a'), ('fcm-token-of-mentor-a-on-ios')$$,
  'a mentor sees only their own devices'
);
select is(pg_temp.affected($$update device_tokens set last_refreshed_at = now() where token = 'apns-token-of-mentor-b'$$), 0,
          'a mentor cannot refresh another person''s token');
select is(pg_temp.affected($$delete from device_tokens where token = 'apns-token-of-mentor-b'$$), 0,
          'nor delete it');
select is(pg_temp.affected($$delete from device_tokens where token = 'fcm-token-of-mentor-a-on-ios'$$), 1,
          'a mentor removes their own device (signing out)');
reset role;
select is((select last_refreshed_at from device_tokens where token = 'fcm-token-of-mentor-a'), now() + interval '1 second',
          'the upsert refreshed the token');
select ok(exists (select 1 from device_tokens where token = 'apns-token-of-mentor-b'), 'MB''s token is still there');

-- Stale tokens (not refreshed for 30 days) are found through their index.
update device_tokens set last_refreshed_at = now() - interval '45 days' where token = 'apns-token-of-mentor-b';
select results_eq(
  $$select token from device_tokens where last_refreshed_at < now() - interval '30 days'$$,
  $$values ('apns-token-of-mentor-b')$$,
  'stale tokens are those not refreshed for 30 days'
);

-- push_notices, push_deliveries, push_budget_days ------------------------------------------

-- A notice of MA's, each on a notification of its own.
create function pg_temp.queue(key text, status text default 'pending', leased_until timestamptz default null,
                              payload jsonb default '{"data": {"tier": "expired"}}', attempts int default 0,
                              collapse_key text default null, sent_payload jsonb default null,
                              carried_by uuid default null)
returns uuid language sql as $$
  with n as (
    insert into public.notifications (organization_id, recipient_id, subject_mentor_id, category, message_key,
                                      idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001',
            'c0000000-0000-4000-8000-000000000001', 'inactivity', 'scenario.inactivity',
            encode(sha256(convert_to(key, 'UTF8')), 'hex'))
    returning id
  )
  insert into public.push_notices (organization_id, notification_id, recipient_id, payload, status, leased_until,
                                   attempts, collapse_key, sent_payload, carried_by)
  select 'a0000000-0000-4000-8000-000000000001', n.id, 'c0000000-0000-4000-8000-000000000001', payload, status,
         leased_until, attempts, collapse_key, sent_payload, carried_by
  from n
  returning id
$$;

select lives_ok($$select pg_temp.queue('q1')$$, 'a push notice is queued');
select results_eq(
  $$select p.status, p.attempts, p.available_at = now(), p.leased_until is null, p.settled_at is null,
           p.sent_payload is null
    from push_notices p join notifications n on n.id = p.notification_id
    where n.idempotency_key = encode(sha256('q1'::bytea), 'hex')$$,
  $$values ('pending'::text, 0, true, true, true, true)$$,
  'a queued notice is pending, never attempted, available now, unleased, unsettled, not yet sent'
);
-- The one way in: a notification is queued once, however often it is handed over.
select is(
  private.enqueue_push(jsonb_build_array(jsonb_build_object(
    'notification_id', (select notification_id from push_notices limit 1),
    'organization_id', 'a0000000-0000-4000-8000-000000000001',
    'recipient_id', 'c0000000-0000-4000-8000-000000000001',
    'payload', '{"data": {}}'::jsonb)), now()),
  0, 'enqueue_push leaves a notification already queued alone');
select is(
  private.enqueue_push(array[row(
    (select notification_id from push_notices limit 1),
    'a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001',
    '{"data": {}}'::jsonb, null)::private.push_notice_in], now()),
  0, 'enqueue_push given typed rows (the expiry sweep''s form) leaves a notification already queued alone');
create temp table enqueued on commit drop as
with n as (
  insert into public.notifications (organization_id, recipient_id, subject_mentor_id, category,
                                    message_key, idempotency_key)
  values ('a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001',
          'c0000000-0000-4000-8000-000000000001', 'inactivity', 'scenario.inactivity',
          encode(sha256('enqueued'::bytea), 'hex'))
  returning id, organization_id, recipient_id)
select private.enqueue_push(jsonb_agg(jsonb_build_object(
         'notification_id', n.id, 'organization_id', n.organization_id,
         'recipient_id', n.recipient_id, 'payload', '{"data": {}}'::jsonb,
         'collapse_key', 'k')), now()) as queued
from n;
select is((select queued from enqueued), 1,
          'enqueue_push queues a notification handed over in the same statement');
select results_eq(
  $$select p.status, p.available_at = now(), p.collapse_key
    from push_notices p join notifications n on n.id = p.notification_id
    where n.idempotency_key = encode(sha256('enqueued'::bytea), 'hex')$$,
  $$values ('pending'::text, true, 'k'::text)$$,
  'an enqueued notice is pending, due at the time given, with its collapse key'
);
select throws_ok($$insert into push_notices (organization_id, notification_id, recipient_id, payload)
                   select organization_id, notification_id, recipient_id, payload from push_notices
                   where id = '40000000-0000-4000-8000-000000000001'$$,
                 '23505', null, 'a notification is queued for push once (23505)');
select throws_ok($$select pg_temp.queue('q2', 'in_flight')$$, '23514', null, 'an in-flight notice must carry a lease (23514)');
select throws_ok($$select pg_temp.queue('q3', 'pending', now() + interval '1 minute')$$, '23514', null,
                 'only an in-flight notice carries a lease (23514)');
select lives_ok($$select pg_temp.queue('q4', 'in_flight', now() + interval '1 minute')$$, 'an in-flight notice with a lease is accepted');
select throws_ok($$select pg_temp.queue('q5', 'queued')$$, '23514', null,
                 'status is pending/in_flight/sent/failed/dead/skipped/folded (23514)');
select throws_ok($$select pg_temp.queue('q6', payload => jsonb_build_object('data', jsonb_build_object('pad', repeat('x', 4100))))$$,
                 '23514', null, 'a payload over 4 KiB (the FCM limit) is rejected (23514)');
select throws_ok($$select pg_temp.queue('q7', payload => '"just a string"')$$, '23514', null, 'the payload is a JSON object (23514)');
select throws_ok($$select pg_temp.queue('q8', attempts => -1)$$, '23514', null, 'attempts cannot be negative (23514)');
select throws_ok($$select pg_temp.queue('q9', collapse_key => repeat('c', 65))$$, '23514', null,
                 'a collapse key is at most 64 characters (APNs apns-collapse-id) (23514)');
select throws_ok($$select pg_temp.queue('q10', sent_payload => '{"data": {"email": "kari@example.no"}}')$$, '23514', null,
                 'what was sent holds no personal data (23514)');
select throws_ok($$select pg_temp.queue('q11', carried_by => '40000000-0000-4000-8000-000000000001')$$, '23514', null,
                 'only a folded notice names its carrier (23514)');
select lives_ok($$select pg_temp.queue('q12', 'folded', carried_by => '40000000-0000-4000-8000-000000000001')$$,
                'a folded notice names the notice whose push carried it');
-- The bodies are a domain (private.push_body), checked where they are written
-- and not again on each lease and settle (migration 20261207200100).
select throws_ok($$select pg_temp.queue('q13', payload => '{"data": {"phone": "+47 912 34 567"}}')$$, '23514', null,
                 'a notice''s own body holds no personal data either (23514)');
-- A settle's update of a delivery finds room on its page, so it is heap-only
-- (no index entries).
select is((select reloptions from pg_class where oid = 'public.push_deliveries'::regclass), '{fillfactor=50}'::text[],
          'push_deliveries leave half of each page for the settle''s update');
select throws_ok($$update organizations set push_daily_budget = 0 where id = 'a0000000-0000-4000-8000-000000000001'$$,
                 '23514', null, 'a daily push budget is at least 1 (23514)');
select throws_ok($$update organizations set push_daily_budget = 51 where id = 'a0000000-0000-4000-8000-000000000001'$$,
                 '23514', null, 'and at most 50 (23514)');
select is((select push_daily_budget::int from organizations where id = 'a0000000-0000-4000-8000-000000000001'), 1,
          'an organisation''s default budget is one push per person per day');

-- Deliveries: one per push and device.
insert into push_deliveries (id, organization_id, notice_id, device_token_id, provider)
values ('45000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001',
        '40000000-0000-4000-8000-000000000001', '30000000-0000-4000-8000-000000000001', 'fcm');
select throws_ok($$insert into push_deliveries (organization_id, notice_id, device_token_id, provider)
                   values ('a0000000-0000-4000-8000-000000000001', '40000000-0000-4000-8000-000000000001',
                           '30000000-0000-4000-8000-000000000001', 'fcm')$$,
                 '23505', null, 'a push is delivered to a device once (23505)');
select throws_ok($$update push_deliveries set status = 'sent' where id = '45000000-0000-4000-8000-000000000001'$$,
                 '23514', null, 'a sent delivery has its sent time (23514)');
select throws_ok($$update push_deliveries set provider = 'sms' where id = '45000000-0000-4000-8000-000000000001'$$,
                 '23514', null, 'the provider is fcm or apns (23514)');
insert into push_budget_days (recipient_id, organization_id, local_day, used)
values ('c0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', current_date, 1);
select throws_ok($$insert into push_budget_days (recipient_id, organization_id, local_day)
                   values ('c0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', current_date)$$,
                 '23505', null, 'a person has one budget row per organisation and day (23505)');
-- The retention job prunes the ledger oldest day first, along its key.
select col_is_pk('public', 'push_budget_days', array['local_day', 'recipient_id', 'organization_id'],
                 'the budget ledger''s key leads with the day, for the retention job''s batches');

-- A dead token is deleted; the deliveries keep their record without a device.
delete from device_tokens where id = '30000000-0000-4000-8000-000000000001';
select results_eq(
  $$select count(*)::int, count(device_token_id)::int from push_deliveries
    where notice_id = '40000000-0000-4000-8000-000000000001'$$,
  $$values (1, 0)$$,
  'deleting a dead token keeps its deliveries and clears their device (ON DELETE SET NULL)'
);

-- Nobody but the back end sees or touches the queue, its deliveries and the ledger.
select pg_temp.act_as(:MA);
select ok(pg_temp.sees_nothing($$select 1 from push_notices$$), 'a mentor does not see the pushes queued for them');
select is(pg_temp.affected($$delete from push_notices$$), 0, 'nor delete them');
select ok(pg_temp.sees_nothing($$select 1 from push_deliveries$$), 'nor the deliveries to their devices');
select ok(pg_temp.sees_nothing($$select 1 from push_budget_days$$), 'nor their push budget');
reset role;

-- A person deleted takes their queue along: their notifications go (that key
-- cascades), and each notice with its notification and each delivery with its
-- notice; notices and deliveries have no keys of their own to people or
-- organisations (migration 20261207200100). The budget ledger has none either
-- (20261207200200): a deleted person's days stay until the retention job
-- prunes them with the settled pushes.
delete from public.users where id = 'c0000000-0000-4000-8000-000000000001';
select is((select count(*)::int from push_notices where recipient_id = 'c0000000-0000-4000-8000-000000000001'), 0,
          'a deleted person''s pushes go with their notifications');
select is((select count(*)::int from push_deliveries where notice_id = '40000000-0000-4000-8000-000000000001'), 0,
          'and the deliveries of those pushes with them');
select is((select count(*)::int from push_budget_days where recipient_id = 'c0000000-0000-4000-8000-000000000001'), 1,
          'the budget ledger keeps their day until maintenance prune removes it');

select * from finish();
rollback;
