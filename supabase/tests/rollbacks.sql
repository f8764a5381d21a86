-- Rollbacks: each file in supabase/rollbacks/ undoes exactly its migration.
-- Applied newest first; after the baseline's, nothing of the project is left
-- in public or private. All of it happens inside this test's transaction and
-- is rolled back at the end, so the other test files see the full schema.
-- (tests/integration/test_migrations.py checks the same through
-- `mentor-notify db rollback` and compares pg_dump output after re-applying.)

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(29);

-- Newest first: add each new migration's rollback at the top, with checks
-- that it removes its own objects and leaves the older ones.
\ir ../rollbacks/20261207200200_budget_days.sql
select fk_ok('public', 'push_budget_days', 'recipient_id', 'public', 'users', 'id',
  '20261207200200 rollback brings back the ledger''s foreign key to the person');
select col_is_pk('public', 'push_budget_days', array['recipient_id', 'organization_id', 'local_day'],
  '20261207200200 rollback makes the ledger''s key lead with the person again');

\ir ../rollbacks/20261207200100_push_write_cost.sql
select hasnt_domain('private', 'push_body', '20261207200100 rollback removes the push body domain');
select fk_ok('public', 'push_notices', 'recipient_id', 'public', 'users', 'id',
  '20261207200100 rollback brings back the notice''s foreign key to its recipient');
select is((select reloptions from pg_class where oid = 'public.push_deliveries'::regclass), null,
  '20261207200100 rollback fills push_deliveries'' pages again');

\ir ../rollbacks/20261207100100_push_db_time.sql
select ok(
  (select p.proconfig is not null
   from pg_proc p where p.oid = 'private.push_send_time(timestamptz, text, time, time)'::regprocedure),
  '20261207100100 rollback pins the send-window rule''s search_path again'
);

\ir ../rollbacks/20261207000500_sync_apply_set_based.sql
select hasnt_function('private', 'apply_certificate_sync_round', '20261207000500 rollback removes the set-based round');
select has_function('private', 'apply_certificate_sync_event', array['bigint', 'timestamp with time zone'],
  '20261207000500 rollback brings back the per-event apply');

\ir ../rollbacks/20261207000400_listing_refresh_static.sql
select ok(
  (select p.prosrc like '%execute pg_catalog.format%'
   from pg_proc p where p.oid = 'private.peer_mentor_certifications_refresh_directory()'::regprocedure),
  '20261207000400 rollback brings back the dynamic listing refresh'
);

\ir ../rollbacks/20261207000300_sweepcost.sql
select hasnt_type('private', 'push_notice_in', '20261207000300 rollback removes the typed form of a queued push');
select has_function('private', 'enqueue_push', array['jsonb', 'timestamp with time zone'], '20261207000300 rollback leaves the JSON form of the one way in');
select has_index('public', 'certification_expiry_tracking', 'certification_expiry_tracking_organization_id_idx', '20261207000300 rollback brings back the tracking table''s organisation index');

\ir ../rollbacks/20261207000200_push_payload.sql
select hasnt_function('private', 'push_payload', '20261207000200 rollback removes the one builder of push payloads');
select has_function('private', 'expiry_push_payload', '20261207000200 rollback leaves the expiry push payload rule');

\ir ../rollbacks/20261207000100_syncfast.sql
select ok(
  (select p.prosrc like '%for event_id in%' and p.prosrc not like '%careful%'
   from pg_proc p where p.oid = 'private.apply_certificate_sync_events(uuid, timestamptz, integer)'::regprocedure),
  '20261207000100 rollback applies held events one subtransaction each again'
);

\ir ../rollbacks/20261206000500_operations_and_reregistration.sql
select hasnt_table('public', 'device_reregistrations', '20261206000500 rollback removes device_reregistrations');
select hasnt_table('public', 'daily_cycle_successes', '20261206000500 rollback removes daily_cycle_successes');
select hasnt_column('public', 'organizations', 'reregistration_push', '20261206000500 rollback removes the organisation switch');

\ir ../rollbacks/20261206000400_certificate_sync_ordering.sql
select hasnt_table('public', 'certificate_sync_mappings', '20261206000400 rollback removes the per-organisation Dataverse mappings');
select hasnt_column('public', 'certificate_sync_events', 'source_version', '20261206000400 rollback makes the row version go');
select col_not_null('public', 'certificate_sync_events', 'external_person_id', '20261206000400 rollback makes the holder required again');

\ir ../rollbacks/20261206000300_push_stages.sql
select hasnt_function('private', 'enqueue_push', '20261206000300 rollback removes the one way into the push queue');
select hasnt_index('public', 'scenario_notifications', 'scenario_notifications_pending_idx', '20261206000300 rollback removes the index of pending scenario notifications');

\ir ../rollbacks/20261206000200_expiry_notices_in_sql.sql
select hasnt_function('private', 'expiry_push_payload', '20261206000200 rollback removes the expiry push payload rule');
select has_function('private', 'renewal_link', '20261206000200 rollback leaves the older rule functions');

\ir ../rollbacks/20261206000100_baseline.sql
select is_empty(
  $$select c.relname from pg_class c where c.relnamespace = 'public'::regnamespace$$,
  'after the baseline''s rollback public holds no table, index, sequence or view'
);
select is_empty(
  $$select p.proname from pg_proc p where p.pronamespace = 'public'::regnamespace$$,
  'after the baseline''s rollback public holds no function'
);
select hasnt_schema('private', 'after the baseline''s rollback the private schema is gone');
select is_empty(
  $$select polname from pg_policy where polname like 'mentor_notify_%'$$,
  'no policy of the project is left on the platform''s tables (realtime.messages)'
);
select * from finish();
rollback;
