-- Device tokens and the push queue (outbox) the dispatcher drains: the risk
-- mitigations of tickets 000/002 (token refresh with last_refreshed_at,
-- cleanup of dead tokens) and ticket 004's FCM queue, as the database enforces
-- them.

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

\ir fixtures/world.psql

select plan(30);

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

-- push_outbox ----------------------------------------------------------------------------------

create function pg_temp.queue(key text, status text default 'pending', leased_until timestamptz default null,
                              payload jsonb default '{"message": {"data": {"tier": "expired"}}}', attempts int default 0,
                              collapse_key text default null)
returns void language sql as $$
  insert into public.push_outbox (organization_id, notification_id, recipient_id, device_token_id, provider, payload,
                                  idempotency_key, status, leased_until, attempts, collapse_key)
  values ('a0000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001',
          '30000000-0000-4000-8000-000000000001', 'fcm', payload, encode(sha256(convert_to(key, 'UTF8')), 'hex'),
          status, leased_until, attempts, collapse_key)
$$;

select lives_ok($$select pg_temp.queue('q1')$$, 'a push is queued');
select results_eq(
  $$select status, attempts, available_at = now(), leased_until is null, sent_at is null from push_outbox
    where idempotency_key = encode(sha256('q1'::bytea), 'hex')$$,
  $$values ('pending'::text, 0, true, true, true)$$,
  'a queued push is pending, never attempted, available now, unleased'
);
select throws_ok($$select pg_temp.queue('q1')$$, '23505', null, 'the same push cannot be queued twice (23505)');
select throws_ok($$select pg_temp.queue('q2', 'in_flight')$$, '23514', null, 'an in-flight push must carry a lease (23514)');
select throws_ok($$select pg_temp.queue('q3', 'pending', now() + interval '1 minute')$$, '23514', null,
                 'only an in-flight push carries a lease (23514)');
select lives_ok($$select pg_temp.queue('q4', 'in_flight', now() + interval '1 minute')$$, 'an in-flight push with a lease is accepted');
select throws_ok($$select pg_temp.queue('q5', 'queued')$$, '23514', null, 'status is pending/in_flight/sent/failed/dead (23514)');
select throws_ok($$select pg_temp.queue('q6', payload => jsonb_build_object('message', jsonb_build_object('data', jsonb_build_object('pad', repeat('x', 4100)))))$$,
                 '23514', null, 'a payload over 4 KiB (the FCM limit) is rejected (23514)');
select throws_ok($$select pg_temp.queue('q7', payload => '"just a string"')$$, '23514', null, 'the payload is a JSON object (23514)');
select throws_ok($$select pg_temp.queue('q8', attempts => -1)$$, '23514', null, 'attempts cannot be negative (23514)');
select throws_ok($$select pg_temp.queue('q9', collapse_key => repeat('c', 65))$$, '23514', null,
                 'a collapse key is at most 64 characters (APNs apns-collapse-id) (23514)');

-- A dead token is deleted; its queued pushes stay, without a device, to be failed.
delete from device_tokens where id = '30000000-0000-4000-8000-000000000001';
select results_eq(
  $$select count(*)::int, count(device_token_id)::int from push_outbox where recipient_id = 'c0000000-0000-4000-8000-000000000001'$$,
  $$values (3, 0)$$,
  'deleting a dead token keeps its queued pushes and clears their device (ON DELETE SET NULL)'
);

-- Nobody but the back end sees or touches the queue.
select pg_temp.act_as(:MA);
select ok(pg_temp.sees_nothing($$select 1 from push_outbox$$), 'a mentor does not see the pushes queued for them');
select is(pg_temp.affected($$delete from push_outbox$$), 0, 'nor delete them');
reset role;

select * from finish();
rollback;
