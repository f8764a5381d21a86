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

select plan(36);

-- Newest first: add each new migration's rollback at the top.
\ir ../rollbacks/20261129000400_certificate_sync.sql
select hasnt_table('public', 'certificate_sync_events', '20261129000400 rollback removes the sync inbox');
select hasnt_view('public', 'data_quality_report', '20261129000400 rollback removes the data-quality report');

\ir ../rollbacks/20261129000200_live_inbox.sql
select hasnt_index('public', 'notifications', 'notifications_unread_idx', '20261129000200 rollback removes the inbox badge index');
select is(
  (select count(*)::int from pg_trigger where tgrelid = 'public.notifications'::regclass and tgname like 'notifications_broadcast_%')
  + (select count(*)::int from pg_proc where proname = 'notifications_broadcast_to_inbox'),
  0, '20261129000200 rollback leaves no inbox broadcast trigger or function (live_inbox.sql checks it with Realtime present)'
);

\ir ../rollbacks/20261129000100_explicit_grants.sql
select hasnt_function('private', 'peer_mentor_chapter_ids', '20261129000100 rollback removes the peer-mentor chapters helper');
select ok(has_table_privilege('authenticated', 'public.cert_notification_log', 'select'), '20261129000100 rollback gives the API roles their old table privileges back');

\ir ../rollbacks/20261122001800_push_preferences_and_send_windows.sql
select hasnt_table('public', 'push_preferences', '1800 rollback removes push_preferences');
select hasnt_column('public', 'organizations', 'push_window_start', '1800 rollback removes the organisations'' send windows');
select doesnt_match(pg_get_constraintdef((select oid from pg_constraint where conname = 'push_outbox_status_check')), 'skipped', '1800 rollback removes the skipped status');

\ir ../rollbacks/20261122001700_follow_up_delivery_log.sql
select hasnt_function('private', 'push_outbox_record_follow_up', '1700 rollback removes the delivery-record trigger function');

\ir ../rollbacks/20261122001600_certification_follow_up_category.sql
select doesnt_match(pg_get_constraintdef((select oid from pg_constraint where conname = 'notifications_category_check')), 'follow_up', '1600 rollback removes the follow-up category');

\ir ../rollbacks/20261122001500_scenario_rule_validation.sql
select hasnt_function('private', 'scenario_rule_problem', array['text', 'jsonb', 'jsonb'], '1500 rollback removes the rule check function');

\ir ../rollbacks/20261122001400_scenario_cooldowns.sql
select hasnt_column('public', 'scenario_notifications', 'cooldown_until', '1400 rollback removes cooldown_until');
select hasnt_table('public', 'scenario_cooldowns', '1400 rollback removes scenario_cooldowns');

\ir ../rollbacks/20261122001300_privacy_guard_fast_path.sql
select doesnt_match(pg_get_functiondef('private.contains_personal_data(jsonb)'::regprocedure), 'strpos', '1300 rollback restores the walk-only personal-data check');

\ir ../rollbacks/20261122001200_expiry_sweep_index.sql
select hasnt_index('public', 'certification_expiry_tracking', 'certification_expiry_tracking_organization_id_expiry_date_idx', '1200 rollback removes the sweep index');

\ir ../rollbacks/20261122001100_privacy_guard.sql
select hasnt_function('private', 'contains_personal_data', array['jsonb'], '1100 rollback removes the personal-data check function');
select hasnt_function('private', 'is_national_identity_number', array['text'], '1100 rollback removes the identity-number check');

\ir ../rollbacks/20261122001000_retention_indexes.sql
select hasnt_index('public', 'follow_up_notification_log', 'follow_up_notification_log_delivered_at_idx', '1000 rollback removes the retention index');

\ir ../rollbacks/20261122000500_mentor_directory.sql
select hasnt_table('public', 'mentor_directory', '0500 rollback removes mentor_directory');
select hasnt_function('private', 'mentor_directory_before_write', '0500 rollback removes its trigger functions');
select has_table('public', 'scenario_notifications', '0500 rollback leaves the older tables');

\ir ../rollbacks/20261122000400_activities_and_scenarios.sql
select hasnt_table('public', 'activities', '0400 rollback removes activities');
select hasnt_table('public', 'scenario_rules', '0400 rollback removes scenario_rules');
select hasnt_table('public', 'scenario_notifications', '0400 rollback removes scenario_notifications');
select hasnt_table('public', 'follow_up_notification_log', '0400 rollback removes follow_up_notification_log');
select has_table('public', 'notifications', '0400 rollback leaves the older tables');

\ir ../rollbacks/20261122000300_notifications_and_push.sql
select hasnt_table('public', 'notifications', '0300 rollback removes notifications');
select hasnt_table('public', 'push_outbox', '0300 rollback removes push_outbox');
select hasnt_table('public', 'device_tokens', '0300 rollback removes device_tokens');

\ir ../rollbacks/20261122000200_certifications.sql
select hasnt_table('public', 'peer_mentor_certifications', '0200 rollback removes peer_mentor_certifications');
select hasnt_table('public', 'certification_expiry_tracking', '0200 rollback removes certification_expiry_tracking');
select hasnt_table('public', 'cert_notification_log', '0200 rollback removes cert_notification_log');

\ir ../rollbacks/20261122000100_organisations_and_people.sql
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
