-- Ticket 004: the in-app notifications table the expiry orchestrator writes.
-- What the database must guarantee for the orchestrator: a notification is
-- created 'pending'; the duplicate check (mentor, certificate type, tier,
-- notification window) is a unique index, so a re-run cannot create a second
-- notice; only service_role writes; a recipient may mark their own notification
-- seen/read/archived and change nothing else (column privileges), and cannot
-- touch anyone else's.

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

\ir fixtures/world.psql

select plan(37);

-- Writes an expiry notice the way the orchestrator does (re-run safe).
create function pg_temp.expiry_notice(recipient uuid, mentor uuid, cert_type text, tier text, window_start date,
                                      key text default null) returns integer
language plpgsql as $$
declare
  n integer;
begin
  insert into public.notifications (organization_id, recipient_id, subject_mentor_id, category, certificate_type,
                                    threshold_tier, notification_window_start, message_key, idempotency_key)
  values ('a0000000-0000-4000-8000-000000000001', recipient, mentor, 'certification_expiry', cert_type, tier, window_start,
          'certification.expiry.' || tier,
          coalesce(key, encode(sha256(convert_to(concat_ws('|', recipient, mentor, cert_type, tier, window_start), 'UTF8')), 'hex')))
  on conflict do nothing;
  get diagnostics n = row_count;
  return n;
end
$$;

-- Defaults ---------------------------------------------------------------------------------

select is(pg_temp.expiry_notice(:MAB, :MAB, 'hlf_peer_mentor', 'expiry_warning_30d', current_date + 25), 1,
          'an expiry notice is created');
select results_eq(
  $$select status, data, created_at = now(), seen_at is null and read_at is null and archived_at is null and status_changed_at is null
    from notifications where recipient_id = 'c0000000-0000-4000-8000-000000000003'$$,
  $$values ('pending'::text, '{}'::jsonb, true, true)$$,
  'a new notification is pending, with empty data, created now, not yet seen/read/archived'
);

-- The duplicate check --------------------------------------------------------------------------

select throws_ok(
  $$insert into notifications (organization_id, recipient_id, subject_mentor_id, category, certificate_type, threshold_tier,
                               notification_window_start, message_key, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-000000000003',
            'certification_expiry', 'hlf_peer_mentor', 'expiry_warning_30d', current_date + 25,
            'certification.expiry.warning_30d', encode(sha256('another key'::bytea), 'hex'))$$,
  '23505', null,
  'a second notice for the same mentor, certificate type, tier, cycle and recipient is refused even under another key (23505)'
);
select throws_ok(
  $$insert into notifications (organization_id, recipient_id, subject_mentor_id, category, certificate_type, threshold_tier,
                               notification_window_start, message_key, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001',
            'certification_expiry', 'hlf_peer_mentor', 'expiry_warning_60d', current_date + 45,
            'certification.expiry.warning_60d', encode(sha256('world duplicate'::bytea), 'hex'))$$,
  '23505', null,
  'the fixture''s 60-day notice to MA cannot be created twice (23505)'
);
select is(pg_temp.expiry_notice(:MAB, :MAB, 'hlf_peer_mentor', 'expiry_warning_30d', current_date + 25), 0,
          're-run with ON CONFLICT DO NOTHING: zero additional rows, no error');
select is((select count(*)::int from notifications where subject_mentor_id = :MAB), 1,
          'still exactly one notice about MAB');
select is(pg_temp.expiry_notice(:COA, :MAB, 'hlf_peer_mentor', 'expiry_warning_30d', current_date + 25), 1,
          'the coordinator''s copy of the same notice is a different recipient, so allowed');
select is(pg_temp.expiry_notice(:MAB, :MAB, 'hlf_peer_mentor', 'expiry_warning_7d', current_date + 25), 1,
          'the next tier in the same cycle is allowed');
select is(pg_temp.expiry_notice(:MAB, :MAB, 'hlf_peer_mentor', 'expiry_warning_30d', current_date + 25 + 730), 1,
          'the same tier in the next expiry cycle (after renewal) is allowed');
select is(pg_temp.expiry_notice(:MAB, :MAB, 'nhf_peer_mentor', 'expiry_warning_30d', current_date + 25), 1,
          'the same tier for another certificate type is allowed');
select lives_ok(
  $$insert into notifications (organization_id, recipient_id, subject_mentor_id, category, message_key, idempotency_key)
    select 'a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-000000000002',
           'inactivity', 'scenario.inactivity', encode(sha256(convert_to('inactivity-' || n, 'UTF8')), 'hex')
    from generate_series(1, 2) n$$,
  'the expiry duplicate rule does not constrain other categories (partial index)'
);
select throws_ok(
  $$insert into notifications (organization_id, recipient_id, subject_mentor_id, category, message_key, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-000000000002',
            'inactivity', 'scenario.inactivity', encode(sha256('inactivity-1'::bytea), 'hex'))$$,
  '23505', null,
  'the idempotency key itself is unique (23505)'
);

-- Other constraints ---------------------------------------------------------------------------------

select throws_ok(
  $$insert into notifications (organization_id, recipient_id, subject_mentor_id, category, certificate_type, notification_window_start,
                               message_key, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001',
            'certification_expiry', 'hlf_peer_mentor', current_date, 'certification.expiry.warning_7d', encode(sha256('no tier'::bytea), 'hex'))$$,
  '23514', null,
  'an expiry notice without its tier is rejected: the duplicate check needs every key column (23514)'
);
select throws_ok(
  $$insert into notifications (organization_id, recipient_id, subject_mentor_id, category, threshold_tier, message_key, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001',
            'milestone', 'expiry_warning_7d', 'scenario.milestone', encode(sha256('tier on milestone'::bytea), 'hex'))$$,
  '23514', null,
  'a non-expiry notice carries no tier (23514)'
);
delete from notifications where idempotency_key = encode(sha256('tier on milestone'::bytea), 'hex');  -- in case it got in
select throws_ok(
  $$select pg_temp.expiry_notice('c0000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-000000000003', 'hlf_peer_mentor',
                                 'expiry_warning_45d', current_date + 25)$$,
  '23514', null, 'an unknown tier is rejected (23514)'
);
select throws_ok(
  $$update notifications set status = 'delivered' where id = '20000000-0000-4000-8000-000000000001'$$,
  '23514', null, 'status is pending, sent or failed (23514)'
);
select throws_ok(
  $$update notifications set message_key = 'Hei Ola, sertifikatet ditt går ut!' where id = '20000000-0000-4000-8000-000000000001'$$,
  '23514', null, 'message_key is a translation key, not free text that could carry personal data (23514)'
);
select throws_ok(
  $$update notifications set data = jsonb_build_object('pad', repeat('x', 5000)) where id = '20000000-0000-4000-8000-000000000001'$$,
  '23514', null, 'data is capped at 4 KiB (23514)'
);

-- RLS: reading ---------------------------------------------------------------------------------------

select pg_temp.act_as(:MA);
select results_eq(
  $$select id from notifications order by id$$,
  $$values ('20000000-0000-4000-8000-000000000001'::uuid)$$,
  'MA reads exactly their own notification'
);
select pg_temp.act_as(:COA);
select set_eq(
  $$select subject_mentor_id, threshold_tier from notifications$$,
  $$values ('c0000000-0000-4000-8000-000000000001'::uuid, 'expiry_warning_60d'::text),
           ('c0000000-0000-4000-8000-000000000003'::uuid, 'expiry_warning_30d'::text)$$,
  'the coordinator reads only the notices addressed to them (about MA and MAB), not the mentors'' own'
);

-- RLS and column privileges: what a recipient may change -------------------------------------------------

select pg_temp.act_as(:MA);
select is(
  pg_temp.affected($$update notifications set seen_at = now() - interval '1 minute', read_at = now(), archived_at = now()
                     where id = '20000000-0000-4000-8000-000000000001'$$),
  1, 'MA marks their own notification seen, read and archived'
);
select throws_ok(
  $$update notifications set status = 'sent' where id = '20000000-0000-4000-8000-000000000001'$$,
  '42501', null, 'MA cannot change the status of their own notification (42501, column privilege)'
);
select throws_ok(
  $$update notifications set message_key = 'certification.expiry.expired' where id = '20000000-0000-4000-8000-000000000001'$$,
  '42501', null, 'MA cannot change the message_key (42501)'
);
select throws_ok(
  $$update notifications set recipient_id = 'c0000000-0000-4000-8000-000000000002' where id = '20000000-0000-4000-8000-000000000001'$$,
  '42501', null, 'MA cannot hand the notification to someone else (42501)'
);
select throws_ok(
  $$update notifications set data = '{"deep_link": "https://evil.example"}' where id = '20000000-0000-4000-8000-000000000001'$$,
  '42501', null, 'MA cannot change data (42501)'
);
select is(
  pg_temp.affected($$update notifications set seen_at = now(), read_at = now() where id = '20000000-0000-4000-8000-000000000002'$$),
  0, 'MA cannot mark the coordinator''s notification about them (0 rows)'
);
select is(
  pg_temp.affected($$update notifications set archived_at = now()$$),
  1, 'an unqualified UPDATE by MA reaches only MA''s own notification'
);
select throws_ok(
  $$insert into notifications (organization_id, recipient_id, subject_mentor_id, category, message_key, idempotency_key)
    values ('a0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001',
            'welcome_back', 'scenario.welcome_back', encode(sha256('self-made'::bytea), 'hex'))$$,
  '42501', null, 'MA cannot create notifications, not even for themselves (42501)'
);
select throws_ok(
  $$delete from notifications where id = '20000000-0000-4000-8000-000000000001'$$,
  '42501', null, 'MA cannot delete notifications; archiving is the way (42501)'
);
reset role;

select results_eq(
  $$select status, message_key, recipient_id, seen_at = now() - interval '1 minute', read_at = now(), archived_at = now()
    from notifications where id = '20000000-0000-4000-8000-000000000001'$$,
  $$values ('pending'::text, 'certification.expiry.warning_60d'::text, 'c0000000-0000-4000-8000-000000000001'::uuid, true, true, true)$$,
  'MA''s notification: seen/read/archived set, status, message_key and recipient untouched'
);
select results_eq(
  $$select seen_at, read_at, archived_at from notifications where id = '20000000-0000-4000-8000-000000000002'$$,
  $$values (null::timestamptz, null::timestamptz, null::timestamptz)$$,
  'the coordinator''s notification is untouched'
);

select pg_temp.act_as(null);
select ok(pg_temp.sees_nothing($$select 1 from notifications$$), 'the anonymous role reads nothing');
select throws_ok($$update notifications set seen_at = now()$$, '42501', null, 'and may update nothing (42501)');

-- service_role writes, including the status.
select pg_temp.act_as_service();
select is(
  pg_temp.affected($$update notifications set status = 'sent', status_changed_at = now() where id = '20000000-0000-4000-8000-000000000003'$$),
  1, 'service_role moves a notification from pending to sent'
);
select is(pg_temp.expiry_notice(:MC, :MC, 'nhf_peer_mentor', 'expired', current_date + 5), 1, 'service_role creates notifications');
reset role;

-- Deleting a notification takes its queued pushes with it.
select is((select count(*)::int from push_notices where notification_id = '20000000-0000-4000-8000-000000000001'), 1,
          'MA''s notification has a queued push');
delete from notifications where id = '20000000-0000-4000-8000-000000000001';
select is((select count(*)::int from push_notices where notification_id = '20000000-0000-4000-8000-000000000001'), 0,
          'deleting the notification deletes its queued pushes');

select * from finish();
rollback;
