-- Rollbacks: each file in supabase/rollbacks/ undoes exactly its migration.
-- Applied newest first, each removes its own tables and leaves the older
-- migrations' objects in place; after the last one nothing of the project is
-- left in public or private. All of it happens inside this test's transaction
-- and is rolled back at the end, so the other test files see the full schema.
-- (tests/integration/test_migrations.py checks the same through
-- `mentor-notify db rollback` and compares pg_dump output after re-applying.)

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(46);

-- Newest first: add each new migration's rollback at the top.
\ir ../rollbacks/20261206000200_expiry_notices_in_sql.sql
select hasnt_function('private', 'expiry_push_payload', '20261206000200 rollback removes the expiry push payload rule');
select has_function('private', 'renewal_link', '20261206000200 rollback leaves the older rule functions');

\ir ../rollbacks/20261129000800_directory_sweep_index.sql
select hasnt_index('public', 'mentor_directory', 'mentor_directory_organization_id_suppression_idx', '20261129000800 rollback removes the directory step''s index');

\ir ../rollbacks/20261129000700_privacy_prefilter.sql
select unalike(
  (select prosrc from pg_proc where oid = 'private.contains_personal_data(jsonb)'::regprocedure),
  '%0047%', '20261129000700 rollback restores the JSON check without its prefilter'
);
select ok(private.contains_personal_data('{"note": "ola.nordmann@example.org"}'),
          '20261129000700 rollback leaves the JSON check working');

\ir ../rollbacks/20261129000600_sweep_notice_day.sql
select hasnt_function('private', 'expiry_due_tier', '20261129000600 rollback removes the due-rule function');
select hasnt_column('public', 'certification_expiry_tracking', 'last_notified_on', '20261129000600 rollback removes the sweep''s notice day');
select hasnt_index('public', 'notifications', 'notifications_created_at_idx', '20261129000600 rollback removes the notices'' age index');

\ir ../rollbacks/20261129000500_person_outbox.sql
select hasnt_table('public', 'push_notices', '20261129000500 rollback removes push_notices');
select hasnt_table('public', 'push_deliveries', '20261129000500 rollback removes push_deliveries');
select hasnt_table('public', 'push_budget_days', '20261129000500 rollback removes push_budget_days');
select hasnt_column('public', 'notifications', 'scenario_notification_id', '20261129000500 rollback removes the scenario foreign key');
select has_table('public', 'push_outbox', '20261129000500 rollback brings the per-device outbox back');
select is(
  (select count(*)::int from pg_trigger where tgname in ('push_outbox_record_follow_up', 'scenario_notifications_release_cooldown')),
  2, '20261129000500 rollback brings back the settling triggers it replaced'
);

\ir ../rollbacks/20261129000400_certificate_sync.sql
select hasnt_table('public', 'certificate_sync_events', '20261129000400 rollback removes the sync inbox');
select hasnt_view('public', 'data_quality_report', '20261129000400 rollback removes the data-quality report');
select hasnt_table('public', 'certificate_sync_keys', '20261129000400 rollback removes the webhook keys');

\ir ../rollbacks/20261129000300_rule_functions.sql
select is(
  (select count(*)::int from pg_proc
   where pronamespace = 'private'::regnamespace
     and proname in ('expiry_tier', 'expiry_tier_days', 'idempotency_key', 'local_date', 'renewal_link')),
  0, '20261129000300 rollback removes the rule functions'
);

\ir ../rollbacks/20261129000070_live_inbox.sql
select hasnt_index('public', 'notifications', 'notifications_unread_idx', '0070 rollback removes the inbox badge index');
select is(
  (select count(*)::int from pg_trigger where tgrelid = 'public.notifications'::regclass and tgname like 'notifications_broadcast_%')
  + (select count(*)::int from pg_proc where proname = 'notifications_broadcast_to_inbox'),
  0, '0070 rollback leaves no inbox broadcast trigger or function (live_inbox.sql checks it with Realtime present)'
);
select has_table('public', 'notifications', '0070 rollback leaves the notifications table');

\ir ../rollbacks/20261129000060_mentor_directory.sql
select hasnt_table('public', 'mentor_directory', '0060 rollback removes mentor_directory');
select hasnt_function('private', 'mentor_directory_before_write', '0060 rollback removes its trigger functions');
select has_table('public', 'scenario_notifications', '0060 rollback leaves the older tables');

\ir ../rollbacks/20261129000050_activities_and_scenarios.sql
select hasnt_table('public', 'activities', '0050 rollback removes activities');
select hasnt_table('public', 'scenario_rules', '0050 rollback removes scenario_rules');
select hasnt_table('public', 'scenario_notifications', '0050 rollback removes scenario_notifications');
select hasnt_table('public', 'scenario_cooldowns', '0050 rollback removes scenario_cooldowns');
select hasnt_table('public', 'follow_up_notification_log', '0050 rollback removes follow_up_notification_log');
select hasnt_function('private', 'push_outbox_record_follow_up', '0050 rollback removes the delivery-record trigger function');
select hasnt_function('private', 'scenario_rule_problem', array['text', 'jsonb', 'jsonb'], '0050 rollback removes the rule check function');
select has_table('public', 'push_outbox', '0050 rollback leaves the older tables');

\ir ../rollbacks/20261129000040_notifications_and_push.sql
select hasnt_table('public', 'notifications', '0040 rollback removes notifications');
select hasnt_table('public', 'push_outbox', '0040 rollback removes push_outbox');
select hasnt_table('public', 'device_tokens', '0040 rollback removes device_tokens');
select hasnt_table('public', 'push_preferences', '0040 rollback removes push_preferences');
select hasnt_function('private', 'push_send_time', '0040 rollback removes the send-window function');

\ir ../rollbacks/20261129000030_certifications.sql
select hasnt_table('public', 'peer_mentor_certifications', '0030 rollback removes peer_mentor_certifications');
select hasnt_table('public', 'certification_expiry_tracking', '0030 rollback removes certification_expiry_tracking');
select hasnt_table('public', 'cert_notification_log', '0030 rollback removes cert_notification_log');

\ir ../rollbacks/20261129000020_privacy_guard.sql
select hasnt_function('private', 'contains_personal_data', array['jsonb'], '0020 rollback removes the personal-data check function');
select hasnt_function('private', 'is_national_identity_number', array['text'], '0020 rollback removes the identity-number check');
select has_table('public', 'organizations', '0020 rollback leaves the tenancy tables');

\ir ../rollbacks/20261129000010_organisations_and_people.sql
select is_empty(
  $$select c.relname from pg_class c where c.relnamespace = 'public'::regnamespace$$,
  'after the last rollback public holds no table, index, sequence or view'
);
select is_empty(
  $$select p.proname from pg_proc p where p.pronamespace = 'public'::regnamespace$$,
  'after the last rollback public holds no function'
);
select hasnt_schema('private', 'after the last rollback the private schema is gone');

select * from finish();
rollback;
