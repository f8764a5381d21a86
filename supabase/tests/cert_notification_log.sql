-- Ticket 001: cert_notification_log, the internal exactly-once log of expiry notices.
-- Testing requirements: (1) two rows with the same idempotency_key raise
-- unique_violation; (2) deleting a peer_mentor_certifications row cascades to
-- its log rows; (3) an invalid notification_type raises check_violation;
-- integration: the cron job's duplicate attempt with ON CONFLICT DO NOTHING
-- returns cleanly. Plus the accepted tier set (90/60/30/7 days + expired),
-- the key format (a hash, never readable data), NOT NULLs, defaults, and that
-- app users have no access at all (no policy) while service_role writes.

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

\ir fixtures/world.psql

select plan(31);

-- Deterministic key as the job computes it: sha256 of certification id, tier,
-- expiry date (the cycle) and recipient, joined by '|', in lowercase hex.
create function pg_temp.key(cert uuid, tier text, expiry date, recipient uuid) returns text
language sql immutable as $$
  select encode(sha256(convert_to(concat_ws('|', cert, tier, expiry, recipient), 'UTF8')), 'hex')
$$;

-- A valid row -------------------------------------------------------------------------

select lives_ok(
  format($$insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
           values ('a0000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000003', 'expiry_warning_30d', 'c0000000-0000-4000-8000-000000000003', %L)$$,
         pg_temp.key('f0000000-0000-4000-8000-000000000003', 'expiry_warning_30d', current_date + 25, 'c0000000-0000-4000-8000-000000000003')),
  'a notice with a SHA-256 idempotency key is logged'
);
select results_eq(
  format($$select sent_at = now(), id is not null from cert_notification_log where idempotency_key = %L$$,
         pg_temp.key('f0000000-0000-4000-8000-000000000003', 'expiry_warning_30d', current_date + 25, 'c0000000-0000-4000-8000-000000000003')),
  $$values (true, true)$$,
  'sent_at defaults to now() and id is generated'
);

-- (1) unique idempotency_key ---------------------------------------------------------------

select throws_ok(
  format($$insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
           values ('a0000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000003', 'expiry_warning_30d', 'c0000000-0000-4000-8000-000000000003', %L)$$,
         pg_temp.key('f0000000-0000-4000-8000-000000000003', 'expiry_warning_30d', current_date + 25, 'c0000000-0000-4000-8000-000000000003')),
  '23505', null,
  'a second row with the same idempotency_key raises unique_violation (23505)'
);
select throws_ok(
  $$insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000002', 'f0000000-0000-4000-8000-000000000004', 'expired', 'c0000000-0000-4000-8000-000000000004', encode(sha256('world-log-1'::bytea), 'hex'))$$,
  '23505', null,
  'the key is unique across certificates and types, not just per certificate (23505)'
);

-- Integration: the job's re-run of the same notice.
create function pg_temp.log_notice(cert uuid, tier text, expiry date, recipient uuid) returns integer
language plpgsql as $$
declare
  n integer;
begin
  insert into public.cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
  select c.organization_id, c.id, tier, recipient, pg_temp.key(cert, tier, expiry, recipient)
  from public.peer_mentor_certifications c where c.id = cert
  on conflict (idempotency_key) do nothing;
  get diagnostics n = row_count;
  return n;
end
$$;
select is(pg_temp.log_notice('f0000000-0000-4000-8000-000000000004', 'expiry_warning_7d', current_date + 5, 'c0000000-0000-4000-8000-000000000012'),
          1, 'ON CONFLICT (idempotency_key) DO NOTHING: the first run logs the notice');
select lives_ok(
  $$select pg_temp.log_notice('f0000000-0000-4000-8000-000000000004', 'expiry_warning_7d', current_date + 5, 'c0000000-0000-4000-8000-000000000012')$$,
  'the re-run of the same notice returns cleanly, without error'
);
select is(pg_temp.log_notice('f0000000-0000-4000-8000-000000000004', 'expiry_warning_7d', current_date + 5, 'c0000000-0000-4000-8000-000000000012'),
          0, 'and inserts 0 rows');
select is(
  (select count(*)::int from cert_notification_log
   where certification_id = 'f0000000-0000-4000-8000-000000000004' and notification_type = 'expiry_warning_7d'
     and recipient_id = 'c0000000-0000-4000-8000-000000000012'),
  1, 'exactly one log row exists for that notice after three attempts');
select is(pg_temp.log_notice('f0000000-0000-4000-8000-000000000004', 'expiry_warning_7d', current_date + 5 + 730, 'c0000000-0000-4000-8000-000000000012'),
          1, 'the same tier in a new expiry cycle (renewed certificate) is a new notice');

-- (3) notification_type CHECK and the accepted set --------------------------------------------

select throws_ok(
  $$insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000001', 'expiry_warning_14d', 'c0000000-0000-4000-8000-000000000001', encode(sha256('t-14d'::bytea), 'hex'))$$,
  '23514', null,
  'an invalid notification_type (expiry_warning_14d) raises check_violation (23514)'
);
select throws_ok(
  $$insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000001', 'lapsed', 'c0000000-0000-4000-8000-000000000001', encode(sha256('t-lapsed'::bytea), 'hex'))$$,
  '23514', null,
  '"lapsed" is not a notification_type; the lapsed tier is logged as "expired" (23514)'
);
select throws_ok(
  $$insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000001', 'EXPIRED', 'c0000000-0000-4000-8000-000000000001', encode(sha256('t-EXPIRED'::bytea), 'hex'))$$,
  '23514', null,
  'notification types are case-sensitive codes (23514)'
);
select lives_ok(
  $$insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
    select 'a0000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000003', t, 'c0000000-0000-4000-8000-000000000011', encode(sha256(convert_to('accepted-' || t, 'UTF8')), 'hex')
    from unnest(array['expiry_warning_90d', 'expiry_warning_60d', 'expiry_warning_30d', 'expiry_warning_7d', 'expired']) t$$,
  'every accepted type is accepted: expiry_warning_90d/60d/30d/7d and expired'
);
select is(
  (select array_agg(notification_type order by notification_type) from cert_notification_log
   where certification_id = 'f0000000-0000-4000-8000-000000000003' and recipient_id = 'c0000000-0000-4000-8000-000000000011'),
  array['expired', 'expiry_warning_30d', 'expiry_warning_60d', 'expiry_warning_7d', 'expiry_warning_90d'],
  'all five were logged'
);

-- Idempotency key format: a lowercase hex SHA-256, never readable data --------------------------

select throws_ok(
  $$insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000001', 'expired', 'c0000000-0000-4000-8000-000000000001',
            'f0000000-0000-4000-8000-000000000001:expired:2026-11-22')$$,
  '23514', null,
  'a readable key (ids and a date) is rejected: keys are hashes (23514)'
);
select throws_ok(
  $$insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000001', 'expired', 'c0000000-0000-4000-8000-000000000001',
            'ola.nordmann@example.com|01017012345|expired|2026-11-22-xxxxxxxxxxxxxxxxxxxxxxxx')$$,
  '23514', null,
  'a key carrying an e-mail address and an identity number is rejected (23514)'
);
select throws_ok(
  $$insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000001', 'expired', 'c0000000-0000-4000-8000-000000000001',
            repeat('g', 64))$$,
  '23514', null,
  'a 64-character key that is not hex is rejected (23514)'
);
select throws_ok(
  $$insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000001', 'expired', 'c0000000-0000-4000-8000-000000000001',
            upper(encode(sha256('upper'::bytea), 'hex')))$$,
  '23514', null,
  'an uppercase hex digest is rejected (keys are canonical lowercase) (23514)'
);
select throws_ok(
  $$insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000001', 'expired', 'c0000000-0000-4000-8000-000000000001',
            left(encode(sha256('short'::bytea), 'hex'), 63))$$,
  '23514', null,
  'a truncated (63-character) digest is rejected (23514)'
);

-- NOT NULL and foreign keys -----------------------------------------------------------------------

select throws_ok(
  $$insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000001', 'expired', 'c0000000-0000-4000-8000-000000000001', null)$$,
  '23502', null, 'idempotency_key is NOT NULL (23502)'
);
select throws_ok(
  $$insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', null, 'expired', 'c0000000-0000-4000-8000-000000000001', encode(sha256('nn-cert'::bytea), 'hex'))$$,
  '23502', null, 'certification_id is NOT NULL (23502)'
);
select throws_ok(
  $$insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000001', 'expired', 'c0000000-0000-4000-8000-0000000000ff', encode(sha256('fk-recipient'::bytea), 'hex'))$$,
  '23503', null, 'recipient_id must be an existing user (23503)'
);

-- (2) deleting the certificate cascades ----------------------------------------------------------------

select is((select count(*)::int from cert_notification_log where certification_id = 'f0000000-0000-4000-8000-000000000001'),
          2, 'MA''s certificate has two log rows before deletion');
delete from peer_mentor_certifications where id = 'f0000000-0000-4000-8000-000000000001';
select is((select count(*)::int from cert_notification_log where certification_id = 'f0000000-0000-4000-8000-000000000001'),
          0, 'deleting the certificate deletes its log rows (ON DELETE CASCADE)');
select isnt((select count(*)::int from cert_notification_log), 0, 'other certificates'' log rows remain');

-- No access for app users at all: RLS on, no policy ------------------------------------------------

select pg_temp.act_as(:MC);   -- the recipient of a logged notice
select ok(pg_temp.sees_nothing($$select 1 from cert_notification_log$$), 'a mentor sees no log rows, not even notices sent to them');
select pg_temp.act_as(:COC);  -- coordinator of the chapter, recipient of a logged notice
select ok(pg_temp.sees_nothing($$select 1 from cert_notification_log$$), 'a coordinator sees no log rows');
select throws_ok(
  $$insert into cert_notification_log (organization_id, certification_id, notification_type, recipient_id, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000002', 'f0000000-0000-4000-8000-000000000004', 'expired', 'c0000000-0000-4000-8000-000000000012', encode(sha256('client-write'::bytea), 'hex'))$$,
  '42501', null, 'an authenticated client cannot insert (42501)'
);
select pg_temp.act_as(null);
select ok(pg_temp.sees_nothing($$select 1 from cert_notification_log$$), 'the anonymous role sees nothing');
reset role;
select is(
  (select count(*)::int from pg_policies where schemaname = 'public' and tablename = 'cert_notification_log'),
  0, 'the table has no policy at all (internal to the notification system)'
);
select pg_temp.act_as_service();
select is(pg_temp.log_notice('f0000000-0000-4000-8000-000000000004', 'expired', current_date + 5, 'c0000000-0000-4000-8000-000000000004'),
          1, 'service_role inserts');
reset role;

select * from finish();
rollback;
