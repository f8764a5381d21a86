-- Schema shape: every table of issue 2 exists with exactly the columns, types,
-- defaults and nullability the tickets and the design list; keys, foreign keys
-- with their ON DELETE rules, the indexes the tickets name (GIN and partial
-- ones included), RLS on every table, the conventions the issue requires
-- (comments everywhere, indexed foreign keys, pinned search_path, wrapped
-- auth calls in policies) and the migration records.

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select no_plan();

-- Tables ----------------------------------------------------------------------

select tables_are('public', array[
  'organizations', 'chapters', 'users', 'chapter_memberships', 'coordinator_assignments',
  'peer_mentor_certifications', 'certification_expiry_tracking', 'cert_notification_log',
  'notifications', 'device_tokens', 'push_notices', 'push_deliveries', 'push_budget_days',
  'scenario_cooldowns',
  'activities', 'scenario_rules', 'scenario_notifications', 'follow_up_notification_log',
  'mentor_directory', 'push_preferences',
  'certificate_sync_settings', 'certificate_sync_people', 'certificate_sync_types',
  'certificate_sync_events', 'certificate_sync_certificates', 'certificate_sync_keys',
  'daily_cycle_successes', 'device_reregistrations',
  -- Issue 24: Dataverse names per organisation.
  'certificate_sync_mappings'
], 'public holds exactly the tables of the notification schema');

-- Ticket 000: certification_expiry_tracking ------------------------------------

select has_table('public', 'certification_expiry_tracking', 'ticket 000: certification_expiry_tracking exists');
select col_is_pk('public', 'certification_expiry_tracking', 'id', 'ticket 000: id is the primary key');
select col_type_is('public', 'certification_expiry_tracking', 'id', 'uuid', 'ticket 000: id is uuid');
select col_default_is('public', 'certification_expiry_tracking', 'id', 'gen_random_uuid()', 'ticket 000: id defaults to gen_random_uuid()');
select col_type_is('public', 'certification_expiry_tracking', 'peer_mentor_id', 'uuid', 'ticket 000: peer_mentor_id is uuid');
select col_not_null('public', 'certification_expiry_tracking', 'peer_mentor_id', 'ticket 000: peer_mentor_id is NOT NULL');
select fk_ok('public', 'certification_expiry_tracking', 'peer_mentor_id', 'auth', 'users', 'id', 'ticket 000: peer_mentor_id references auth.users(id)');
select col_type_is('public', 'certification_expiry_tracking', 'certificate_type', 'text', 'ticket 000: certificate_type is text');
select col_not_null('public', 'certification_expiry_tracking', 'certificate_type', 'ticket 000: certificate_type is NOT NULL');
select col_has_check('public', 'certification_expiry_tracking', 'certificate_type', 'ticket 000: certificate_type has a CHECK constraint');
select col_type_is('public', 'certification_expiry_tracking', 'expiry_date', 'date', 'ticket 000: expiry_date is date');
select col_not_null('public', 'certification_expiry_tracking', 'expiry_date', 'ticket 000: expiry_date is NOT NULL');
select col_type_is('public', 'certification_expiry_tracking', 'last_notified_at', 'timestamp with time zone', 'ticket 000: last_notified_at is timestamptz');
select col_is_null('public', 'certification_expiry_tracking', 'last_notified_at', 'ticket 000: last_notified_at is nullable');
select col_type_is('public', 'certification_expiry_tracking', 'notification_thresholds_sent', 'integer[]', 'ticket 000: notification_thresholds_sent is int[]');
select col_not_null('public', 'certification_expiry_tracking', 'notification_thresholds_sent', 'ticket 000: notification_thresholds_sent is NOT NULL');
select col_default_is('public', 'certification_expiry_tracking', 'notification_thresholds_sent', '{}', 'ticket 000: notification_thresholds_sent defaults to ''{}''');
select has_index('public', 'certification_expiry_tracking', 'certification_expiry_tracking_expiry_date_idx', array['expiry_date'], 'ticket 000: b-tree index on expiry_date');
select has_index('public', 'certification_expiry_tracking', 'certification_expiry_tracking_peer_mentor_id_idx', array['peer_mentor_id'], 'ticket 000: b-tree index on peer_mentor_id');
select has_index('public', 'certification_expiry_tracking', 'certification_expiry_tracking_expiry_date_peer_mentor_id_idx', array['expiry_date', 'peer_mentor_id'], 'ticket 000: composite index on (expiry_date, peer_mentor_id), expiry_date first');
select index_is_type('public', 'certification_expiry_tracking', 'certification_expiry_tracking_expiry_date_idx', 'btree', 'ticket 000: the expiry_date index is a b-tree');
select index_is_type('public', 'certification_expiry_tracking', 'certification_expiry_tracking_peer_mentor_id_idx', 'btree', 'ticket 000: the peer_mentor_id index is a b-tree');
select has_index('public', 'certification_expiry_tracking', 'certification_expiry_tracking_thresholds_sent_idx', array['notification_thresholds_sent'], 'ticket 000: index on notification_thresholds_sent');
select index_is_type('public', 'certification_expiry_tracking', 'certification_expiry_tracking_thresholds_sent_idx', 'gin', 'ticket 000: the notification_thresholds_sent index is GIN (for @>)');
select has_trigger('public', 'peer_mentor_certifications', 'peer_mentor_certifications_after_insert', 'certificates create their tracking row by trigger');
select has_trigger('public', 'certification_expiry_tracking', 'certification_expiry_tracking_before_update', 'a new expiry date resets the tracking row by trigger');

-- Ticket 001: cert_notification_log ---------------------------------------------

select col_is_pk('public', 'cert_notification_log', 'id', 'ticket 001: id is the primary key');
select col_type_is('public', 'cert_notification_log', 'id', 'uuid', 'ticket 001: id is uuid');
select col_type_is('public', 'cert_notification_log', 'certification_id', 'uuid', 'ticket 001: certification_id is uuid');
select col_not_null('public', 'cert_notification_log', 'certification_id', 'ticket 001: certification_id is NOT NULL');
select fk_ok('public', 'cert_notification_log', 'certification_id', 'public', 'peer_mentor_certifications', 'id', 'ticket 001: certification_id references peer_mentor_certifications(id)');
select col_type_is('public', 'cert_notification_log', 'notification_type', 'text', 'ticket 001: notification_type is text');
select col_not_null('public', 'cert_notification_log', 'notification_type', 'ticket 001: notification_type is NOT NULL');
select col_has_check('public', 'cert_notification_log', 'notification_type', 'ticket 001: notification_type has a CHECK constraint');
select col_type_is('public', 'cert_notification_log', 'sent_at', 'timestamp with time zone', 'ticket 001: sent_at is timestamptz');
select col_not_null('public', 'cert_notification_log', 'sent_at', 'ticket 001: sent_at is NOT NULL');
select col_default_is('public', 'cert_notification_log', 'sent_at', 'now()', 'ticket 001: sent_at defaults to now()');
select col_type_is('public', 'cert_notification_log', 'recipient_id', 'uuid', 'ticket 001: recipient_id is uuid');
select col_not_null('public', 'cert_notification_log', 'recipient_id', 'ticket 001: recipient_id is NOT NULL');
select fk_ok('public', 'cert_notification_log', 'recipient_id', 'public', 'users', 'id', 'ticket 001: recipient_id references users(id)');
select col_type_is('public', 'cert_notification_log', 'idempotency_key', 'text', 'ticket 001: idempotency_key is text');
select col_not_null('public', 'cert_notification_log', 'idempotency_key', 'ticket 001: idempotency_key is NOT NULL');
select col_is_unique('public', 'cert_notification_log', array['idempotency_key'], 'ticket 001: idempotency_key is UNIQUE');
select has_index('public', 'cert_notification_log', 'cert_notification_log_certification_id_notification_type_idx', array['certification_id', 'notification_type'], 'ticket 001: composite index on (certification_id, notification_type)');

-- Ticket 002: follow_up_notification_log ------------------------------------------

select col_is_pk('public', 'follow_up_notification_log', 'log_id', 'ticket 002: log_id is the primary key');
select col_type_is('public', 'follow_up_notification_log', 'log_id', 'uuid', 'ticket 002: log_id is uuid');
select col_default_is('public', 'follow_up_notification_log', 'log_id', 'gen_random_uuid()', 'ticket 002: log_id defaults to gen_random_uuid()');
select fk_ok('public', 'follow_up_notification_log', 'peer_mentor_id', 'public', 'users', 'id', 'ticket 002: peer_mentor_id references users(id)');
select fk_ok('public', 'follow_up_notification_log', array['organization_id', 'chapter_id'], 'public', 'chapters', array['organization_id', 'id'], 'ticket 002: chapter_id references chapters (with its organisation)');
select fk_ok('public', 'follow_up_notification_log', 'scenario_rule_id', 'public', 'scenario_rules', 'id', 'ticket 002: scenario_rule_id references scenario_rules(id)');
select col_is_unique('public', 'follow_up_notification_log', array['idempotency_key'], 'ticket 002: idempotency_key is UNIQUE');
select col_default_is('public', 'follow_up_notification_log', 'created_at', 'now()', 'ticket 002: created_at defaults to now()');
select has_index('public', 'follow_up_notification_log', 'follow_up_notification_log_peer_mentor_id_chapter_id_idx', array['peer_mentor_id', 'chapter_id'], 'ticket 002: index on (peer_mentor_id, chapter_id)');
select has_index('public', 'follow_up_notification_log', 'follow_up_notification_log_scenario_rule_id_idx', array['scenario_rule_id'], 'ticket 002: index on (scenario_rule_id)');

-- Ticket 003: scenario_notifications ----------------------------------------------

select col_is_pk('public', 'scenario_notifications', 'id', 'ticket 003: id is the primary key');
select fk_ok('public', 'scenario_notifications', 'user_id', 'auth', 'users', 'id', 'ticket 003: user_id references auth.users(id)');
select col_default_is('public', 'scenario_notifications', 'triggered_at', 'now()', 'ticket 003: triggered_at defaults to now()');
select col_has_check('public', 'scenario_notifications', 'scenario_type', 'ticket 003: scenario_type is a constrained enum');
select col_has_check('public', 'scenario_notifications', 'delivery_status', 'ticket 003: delivery_status is a constrained enum');
select is(
  (select indexdef from pg_indexes where schemaname = 'public' and indexname = 'scenario_notifications_user_id_scenario_type_triggered_at_idx'),
  'CREATE INDEX scenario_notifications_user_id_scenario_type_triggered_at_idx ON public.scenario_notifications USING btree (user_id, scenario_type, triggered_at DESC)',
  'ticket 003: cooldown index on (user_id, scenario_type, triggered_at DESC)'
);
select is(
  (select indexdef from pg_indexes where schemaname = 'public' and indexname = 'scenario_notifications_org_scenario_type_triggered_at_idx'),
  'CREATE INDEX scenario_notifications_org_scenario_type_triggered_at_idx ON public.scenario_notifications USING btree (organization_id, scenario_type, triggered_at DESC)',
  'ticket 003: reporting index on (organization_id, scenario_type, triggered_at DESC)'
);
select is(
  (select indexdef from pg_indexes where schemaname = 'public' and indexname = 'scenario_notifications_sent_idx'),
  'CREATE INDEX scenario_notifications_sent_idx ON public.scenario_notifications USING btree (user_id, scenario_type) WHERE (delivery_status = ''sent''::text)',
  'ticket 003: partial index on (user_id, scenario_type) WHERE delivery_status = ''sent'''
);

-- Ticket 004: notifications and its duplicate-check index --------------------------

select col_default_is('public', 'notifications', 'status', 'pending', 'ticket 004: notifications.status defaults to pending');
select is(
  (select indexdef from pg_indexes where schemaname = 'public' and indexname = 'notifications_expiry_duplicate_key'),
  'CREATE UNIQUE INDEX notifications_expiry_duplicate_key ON public.notifications USING btree (subject_mentor_id, certificate_type, threshold_tier, notification_window_start, recipient_id) WHERE (category = ''certification_expiry''::text)',
  'ticket 004: unique duplicate-check index on (mentor, certificate type, tier, window start, recipient) for expiry notices'
);

-- Ticket 000 risk 1: the directory's partial index for the listing predicate.
select is(
  (select indexdef from pg_indexes where schemaname = 'public' and indexname = 'mentor_directory_listable_idx'),
  'CREATE INDEX mentor_directory_listable_idx ON public.mentor_directory USING btree (chapter_id, lapses_at) WHERE (suppression_status = ''active''::text)',
  'mentor_directory: partial index on (chapter_id, lapses_at) for active listings'
);
select col_default_is('public', 'mentor_directory', 'suppression_status', 'active', 'mentor_directory.suppression_status defaults to active');
select col_default_is('public', 'organizations', 'timezone', 'Europe/Oslo', 'organizations.timezone defaults to Europe/Oslo');
select col_default_is('public', 'organizations', 'expiry_thresholds', '{60,30,7}', 'organizations.expiry_thresholds default to 60/30/7');
select col_type_is('public', 'peer_mentor_certifications', 'renewal_history', 'jsonb', 'peer_mentor_certifications.renewal_history is jsonb');
select col_type_is('public', 'device_tokens', 'last_refreshed_at', 'timestamp with time zone', 'device_tokens.last_refreshed_at is timestamptz');

-- Every column of every table: exact order, type, nullability and default ------

create temp table column_spec (ord serial, tbl text, col text, type text, not_null boolean, dflt text);
insert into column_spec (tbl, col, type, not_null, dflt) values
  -- activities
  ('activities', 'id', 'uuid', true,  'gen_random_uuid()'),
  ('activities', 'organization_id', 'uuid', true,  null),
  ('activities', 'chapter_id', 'uuid', true,  null),
  ('activities', 'peer_mentor_id', 'uuid', true,  null),
  ('activities', 'activity_type', 'text', true,  null),
  ('activities', 'occurred_at', 'timestamp with time zone', true,  null),
  ('activities', 'created_at', 'timestamp with time zone', true,  'now()'),
  -- cert_notification_log
  ('cert_notification_log', 'id', 'uuid', true,  'gen_random_uuid()'),
  ('cert_notification_log', 'certification_id', 'uuid', true,  null),
  ('cert_notification_log', 'notification_type', 'text', true,  null),
  ('cert_notification_log', 'sent_at', 'timestamp with time zone', true,  'now()'),
  ('cert_notification_log', 'recipient_id', 'uuid', true,  null),
  ('cert_notification_log', 'idempotency_key', 'text', true,  null),
  ('cert_notification_log', 'organization_id', 'uuid', true,  null),
  -- certification_expiry_tracking
  ('certification_expiry_tracking', 'id', 'uuid', true,  'gen_random_uuid()'),
  ('certification_expiry_tracking', 'peer_mentor_id', 'uuid', true,  null),
  ('certification_expiry_tracking', 'certificate_type', 'text', true,  null),
  ('certification_expiry_tracking', 'expiry_date', 'date', true,  null),
  ('certification_expiry_tracking', 'last_notified_at', 'timestamp with time zone', false, null),
  ('certification_expiry_tracking', 'notification_thresholds_sent', 'integer[]', true,  '''{}''::integer[]'),
  ('certification_expiry_tracking', 'organization_id', 'uuid', true,  null),
  ('certification_expiry_tracking', 'certification_id', 'uuid', true,  null),
  ('certification_expiry_tracking', 'last_notified_on', 'date', false, null),
  -- chapter_memberships
  ('chapter_memberships', 'id', 'uuid', true,  'gen_random_uuid()'),
  ('chapter_memberships', 'organization_id', 'uuid', true,  null),
  ('chapter_memberships', 'chapter_id', 'uuid', true,  null),
  ('chapter_memberships', 'user_id', 'uuid', true,  null),
  ('chapter_memberships', 'role', 'text', true,  null),
  ('chapter_memberships', 'created_at', 'timestamp with time zone', true,  'now()'),
  -- chapters
  ('chapters', 'id', 'uuid', true,  'gen_random_uuid()'),
  ('chapters', 'organization_id', 'uuid', true,  null),
  ('chapters', 'name', 'text', true,  null),
  ('chapters', 'created_at', 'timestamp with time zone', true,  'now()'),
  -- coordinator_assignments
  ('coordinator_assignments', 'id', 'uuid', true,  'gen_random_uuid()'),
  ('coordinator_assignments', 'organization_id', 'uuid', true,  null),
  ('coordinator_assignments', 'chapter_id', 'uuid', true,  null),
  ('coordinator_assignments', 'coordinator_id', 'uuid', true,  null),
  ('coordinator_assignments', 'peer_mentor_id', 'uuid', true,  null),
  ('coordinator_assignments', 'coordinator_role', 'text', true,  'generated: ''coordinator''::text'),
  ('coordinator_assignments', 'peer_mentor_role', 'text', true,  'generated: ''peer_mentor''::text'),
  ('coordinator_assignments', 'created_at', 'timestamp with time zone', true,  'now()'),
  -- daily_cycle_successes
  ('daily_cycle_successes', 'organization_id', 'uuid', true,  null),
  ('daily_cycle_successes', 'local_date', 'date', true,  null),
  ('daily_cycle_successes', 'finished_at', 'timestamp with time zone', true,  null),
  -- device_reregistrations
  ('device_reregistrations', 'device_token_id', 'uuid', true,  null),
  ('device_reregistrations', 'week_start', 'date', true,  null),
  ('device_reregistrations', 'organization_id', 'uuid', true,  null),
  ('device_reregistrations', 'provider', 'text', true,  null),
  ('device_reregistrations', 'status', 'text', true,  '''sending''::text'),
  ('device_reregistrations', 'error_code', 'text', false, null),
  ('device_reregistrations', 'created_at', 'timestamp with time zone', true,  'now()'),
  ('device_reregistrations', 'sent_at', 'timestamp with time zone', false, null),
  -- device_tokens
  ('device_tokens', 'id', 'uuid', true,  'gen_random_uuid()'),
  ('device_tokens', 'user_id', 'uuid', true,  null),
  ('device_tokens', 'platform', 'text', true,  null),
  ('device_tokens', 'provider', 'text', true,  null),
  ('device_tokens', 'token', 'text', true,  null),
  ('device_tokens', 'last_refreshed_at', 'timestamp with time zone', true,  'now()'),
  ('device_tokens', 'created_at', 'timestamp with time zone', true,  'now()'),
  -- follow_up_notification_log
  ('follow_up_notification_log', 'log_id', 'uuid', true,  'gen_random_uuid()'),
  ('follow_up_notification_log', 'peer_mentor_id', 'uuid', true,  null),
  ('follow_up_notification_log', 'chapter_id', 'uuid', true,  null),
  ('follow_up_notification_log', 'scenario_rule_id', 'uuid', true,  null),
  ('follow_up_notification_log', 'delivered_at', 'timestamp with time zone', true,  null),
  ('follow_up_notification_log', 'delivery_channel', 'text', true,  null),
  ('follow_up_notification_log', 'idempotency_key', 'text', true,  null),
  ('follow_up_notification_log', 'status', 'text', true,  null),
  ('follow_up_notification_log', 'created_at', 'timestamp with time zone', true,  'now()'),
  ('follow_up_notification_log', 'organization_id', 'uuid', true,  null),
  ('follow_up_notification_log', 'notification_id', 'uuid', false, null),
  ('follow_up_notification_log', 'failure_reason', 'text', false, null),
  -- mentor_directory
  ('mentor_directory', 'id', 'uuid', true,  'gen_random_uuid()'),
  ('mentor_directory', 'organization_id', 'uuid', true,  null),
  ('mentor_directory', 'chapter_id', 'uuid', true,  null),
  ('mentor_directory', 'peer_mentor_id', 'uuid', true,  null),
  ('mentor_directory', 'peer_mentor_role', 'text', true,  'generated: ''peer_mentor''::text'),
  ('mentor_directory', 'display_name', 'text', true,  null),
  ('mentor_directory', 'suppression_status', 'text', true,  '''active''::text'),
  ('mentor_directory', 'suppression_reason', 'text', false, null),
  ('mentor_directory', 'suppressed_at', 'timestamp with time zone', false, null),
  ('mentor_directory', 'certification_expiry_date', 'date', false, null),
  ('mentor_directory', 'lapses_at', 'timestamp with time zone', false, null),
  ('mentor_directory', 'created_at', 'timestamp with time zone', true,  'now()'),
  ('mentor_directory', 'updated_at', 'timestamp with time zone', true,  'now()'),
  -- notifications
  ('notifications', 'id', 'uuid', true,  'gen_random_uuid()'),
  ('notifications', 'organization_id', 'uuid', true,  null),
  ('notifications', 'recipient_id', 'uuid', true,  null),
  ('notifications', 'subject_mentor_id', 'uuid', true,  null),
  ('notifications', 'category', 'text', true,  null),
  ('notifications', 'certificate_type', 'text', false, null),
  ('notifications', 'threshold_tier', 'text', false, null),
  ('notifications', 'notification_window_start', 'date', false, null),
  ('notifications', 'message_key', 'text', true,  null),
  ('notifications', 'data', 'jsonb', true,  '''{}''::jsonb'),
  ('notifications', 'status', 'text', true,  '''pending''::text'),
  ('notifications', 'idempotency_key', 'text', true,  null),
  ('notifications', 'created_at', 'timestamp with time zone', true,  'now()'),
  ('notifications', 'status_changed_at', 'timestamp with time zone', false, null),
  ('notifications', 'seen_at', 'timestamp with time zone', false, null),
  ('notifications', 'read_at', 'timestamp with time zone', false, null),
  ('notifications', 'archived_at', 'timestamp with time zone', false, null),
  ('notifications', 'scenario_notification_id', 'uuid', false, null),
  -- organizations
  ('organizations', 'id', 'uuid', true,  'gen_random_uuid()'),
  ('organizations', 'slug', 'text', true,  null),
  ('organizations', 'name', 'text', true,  null),
  ('organizations', 'timezone', 'text', true,  '''Europe/Oslo''::text'),
  ('organizations', 'expiry_thresholds', 'integer[]', true,  '''{60,30,7}''::integer[]'),
  ('organizations', 'certificate_type', 'text', true,  null),
  ('organizations', 'created_at', 'timestamp with time zone', true,  'now()'),
  ('organizations', 'push_window_start', 'time without time zone', true,  '''08:00:00''::time without time zone'),
  ('organizations', 'push_window_end', 'time without time zone', true,  '''21:00:00''::time without time zone'),
  ('organizations', 'push_immediate_tiers', 'text[]', true,  '''{}''::text[]'),
  ('organizations', 'push_daily_budget', 'smallint', true,  '1'),
  ('organizations', 'reregistration_push', 'boolean', true,  'false'),
  -- push_preferences
  ('push_preferences', 'user_id', 'uuid', true,  null),
  ('push_preferences', 'muted_categories', 'text[]', true,  '''{}''::text[]'),
  ('push_preferences', 'window_start', 'time without time zone', false, null),
  ('push_preferences', 'window_end', 'time without time zone', false, null),
  ('push_preferences', 'updated_at', 'timestamp with time zone', true,  'now()'),
  -- peer_mentor_certifications
  ('peer_mentor_certifications', 'id', 'uuid', true,  'gen_random_uuid()'),
  ('peer_mentor_certifications', 'organization_id', 'uuid', true,  null),
  ('peer_mentor_certifications', 'peer_mentor_id', 'uuid', true,  null),
  ('peer_mentor_certifications', 'certificate_type', 'text', true,  null),
  ('peer_mentor_certifications', 'issued_on', 'date', true,  null),
  ('peer_mentor_certifications', 'expiry_date', 'date', true,  null),
  ('peer_mentor_certifications', 'renewal_history', 'jsonb', true,  '''[]''::jsonb'),
  ('peer_mentor_certifications', 'created_at', 'timestamp with time zone', true,  'now()'),
  ('peer_mentor_certifications', 'updated_at', 'timestamp with time zone', true,  'now()'),
  -- push_notices
  ('push_notices', 'id', 'uuid', true,  'gen_random_uuid()'),
  ('push_notices', 'organization_id', 'uuid', true,  null),
  ('push_notices', 'notification_id', 'uuid', true,  null),
  ('push_notices', 'recipient_id', 'uuid', true,  null),
  ('push_notices', 'payload', 'private.push_body', true,  null),
  ('push_notices', 'collapse_key', 'text', false, null),
  ('push_notices', 'status', 'text', true,  '''pending''::text'),
  ('push_notices', 'available_at', 'timestamp with time zone', true,  'now()'),
  ('push_notices', 'attempts', 'integer', true,  '0'),
  ('push_notices', 'leased_until', 'timestamp with time zone', false, null),
  ('push_notices', 'leased_by', 'text', false, null),
  ('push_notices', 'last_error', 'text', false, null),
  ('push_notices', 'created_at', 'timestamp with time zone', true,  'now()'),
  ('push_notices', 'settled_at', 'timestamp with time zone', false, null),
  ('push_notices', 'carried_by', 'uuid', false, null),
  ('push_notices', 'budget_day', 'date', false, null),
  ('push_notices', 'sent_payload', 'private.push_body', false, null),
  -- push_deliveries
  ('push_deliveries', 'id', 'uuid', true,  'gen_random_uuid()'),
  ('push_deliveries', 'organization_id', 'uuid', true,  null),
  ('push_deliveries', 'notice_id', 'uuid', true,  null),
  ('push_deliveries', 'device_token_id', 'uuid', false, null),
  ('push_deliveries', 'provider', 'text', true,  null),
  ('push_deliveries', 'status', 'text', true,  '''in_flight''::text'),
  ('push_deliveries', 'attempts', 'integer', true,  '1'),
  ('push_deliveries', 'last_error', 'text', false, null),
  ('push_deliveries', 'sent_at', 'timestamp with time zone', false, null),
  ('push_deliveries', 'created_at', 'timestamp with time zone', true,  'now()'),
  -- push_budget_days
  ('push_budget_days', 'recipient_id', 'uuid', true,  null),
  ('push_budget_days', 'organization_id', 'uuid', true,  null),
  ('push_budget_days', 'local_day', 'date', true,  null),
  ('push_budget_days', 'used', 'smallint', true,  '0'),
  -- scenario_notifications
  ('scenario_notifications', 'id', 'uuid', true,  'gen_random_uuid()'),
  ('scenario_notifications', 'user_id', 'uuid', true,  null),
  ('scenario_notifications', 'organization_id', 'uuid', true,  null),
  ('scenario_notifications', 'scenario_type', 'text', true,  null),
  ('scenario_notifications', 'triggered_at', 'timestamp with time zone', true,  'now()'),
  ('scenario_notifications', 'delivery_status', 'text', true,  '''pending''::text'),
  ('scenario_notifications', 'milestone_value', 'integer', false, null),
  ('scenario_notifications', 'metadata', 'jsonb', false, null),
  ('scenario_notifications', 'scenario_rule_id', 'uuid', false, null),
  ('scenario_notifications', 'cooldown_until', 'timestamp with time zone', false, null),
  -- scenario_cooldowns
  ('scenario_cooldowns', 'id', 'uuid', true,  'gen_random_uuid()'),
  ('scenario_cooldowns', 'user_id', 'uuid', true,  null),
  ('scenario_cooldowns', 'scenario_type', 'text', true,  null),
  ('scenario_cooldowns', 'last_triggered_at', 'timestamp with time zone', true,  null),
  ('scenario_cooldowns', 'cooldown_until', 'timestamp with time zone', true,  null),
  -- scenario_rules
  ('scenario_rules', 'id', 'uuid', true,  'gen_random_uuid()'),
  ('scenario_rules', 'organization_id', 'uuid', true,  null),
  ('scenario_rules', 'chapter_id', 'uuid', false, null),
  ('scenario_rules', 'scenario_type', 'text', true,  null),
  ('scenario_rules', 'parameters', 'jsonb', true,  '''{}''::jsonb'),
  ('scenario_rules', 'cooldown', 'interval', true,  null),
  ('scenario_rules', 'enabled', 'boolean', true,  'true'),
  ('scenario_rules', 'messages', 'jsonb', true,  null),
  ('scenario_rules', 'created_at', 'timestamp with time zone', true,  'now()'),
  ('scenario_rules', 'updated_at', 'timestamp with time zone', true,  'now()'),
  -- users
  ('users', 'id', 'uuid', true,  null),
  ('users', 'display_name', 'text', true,  null),
  ('users', 'email', 'text', false, null),
  ('users', 'phone', 'text', false, null),
  ('users', 'locale', 'text', true,  '''nb''::text'),
  ('users', 'created_at', 'timestamp with time zone', true,  'now()');

create function pg_temp.catalog_columns(tbl text)
returns table (col text, type text, not_null boolean, dflt text)
language sql stable as $$
  select a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
         case when a.attgenerated = 's' then 'generated: ' else '' end || pg_get_expr(d.adbin, d.adrelid)
  from pg_attribute a
  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
  where a.attrelid = format('public.%I', tbl)::regclass and a.attnum > 0 and not a.attisdropped
  order by a.attnum
$$;

select results_eq(
  format('select * from pg_temp.catalog_columns(%L)', t),
  format('select col, type, not_null, dflt from column_spec where tbl = %L order by ord', t),
  format('%s has exactly the specified columns, types, nullability and defaults', t)
)
from (select distinct tbl as t from column_spec order by 1) s;

-- Every organisation-scoped table carries organization_id (sharding key);
-- per-person tables (a person may be in several organisations) do not.
select is(
  array(select c.relname::text from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
          and c.relname not in ('organizations', 'users', 'device_tokens', 'scenario_cooldowns', 'push_preferences')
          and not exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'organization_id')
        order by 1),
  '{}'::text[],
  'every per-organisation table has organization_id'
);

-- Foreign keys and their ON DELETE / ON UPDATE rules -----------------------------

select results_eq(
  $$select conrelid::regclass::text collate "default", conname::text collate "default",
           (select string_agg(a.attname::text, ',' order by k.ord) from unnest(conkey) with ordinality k(n, ord)
              join pg_attribute a on a.attrelid = conrelid and a.attnum = k.n) collate "default",
           confrelid::regclass::text collate "default",
           (select string_agg(a.attname::text, ',' order by k.ord) from unnest(confkey) with ordinality k(n, ord)
              join pg_attribute a on a.attrelid = confrelid and a.attnum = k.n) collate "default",
           confdeltype::text collate "default", confupdtype::text collate "default"
    from pg_constraint
    where contype = 'f' and connamespace = 'public'::regnamespace
    order by 2$$,
  $$values
    ('activities', 'activities_chapter_fkey', 'organization_id,chapter_id', 'chapters', 'organization_id,id', 'c', 'a'),
    ('activities', 'activities_peer_mentor_id_fkey', 'peer_mentor_id', 'users', 'id', 'c', 'a'),
    ('cert_notification_log', 'cert_notification_log_certification_id_fkey', 'certification_id', 'peer_mentor_certifications', 'id', 'c', 'a'),
    ('cert_notification_log', 'cert_notification_log_organization_id_fkey', 'organization_id', 'organizations', 'id', 'c', 'a'),
    ('cert_notification_log', 'cert_notification_log_recipient_id_fkey', 'recipient_id', 'users', 'id', 'c', 'a'),
    ('certificate_sync_certificates', 'certificate_sync_certificates_certification_id_fkey', 'certification_id', 'peer_mentor_certifications', 'id', 'n', 'a'),
    ('certificate_sync_certificates', 'certificate_sync_certificates_organization_id_fkey', 'organization_id', 'organizations', 'id', 'c', 'a'),
    ('certificate_sync_events', 'certificate_sync_events_organization_id_fkey', 'organization_id', 'organizations', 'id', 'c', 'a'),
    ('certificate_sync_keys', 'certificate_sync_keys_organization_id_fkey', 'organization_id', 'organizations', 'id', 'c', 'a'),
    ('certificate_sync_mappings', 'certificate_sync_mappings_organization_id_fkey', 'organization_id', 'organizations', 'id', 'c', 'a'),
    ('certificate_sync_people', 'certificate_sync_people_organization_id_fkey', 'organization_id', 'organizations', 'id', 'c', 'a'),
    ('certificate_sync_people', 'certificate_sync_people_user_id_fkey', 'user_id', 'users', 'id', 'c', 'a'),
    ('certificate_sync_settings', 'certificate_sync_settings_organization_id_fkey', 'organization_id', 'organizations', 'id', 'c', 'a'),
    ('certificate_sync_types', 'certificate_sync_types_organization_id_fkey', 'organization_id', 'organizations', 'id', 'c', 'a'),
    ('certification_expiry_tracking', 'certification_expiry_tracking_certification_fkey', 'certification_id,organization_id,peer_mentor_id,certificate_type,expiry_date', 'peer_mentor_certifications', 'id,organization_id,peer_mentor_id,certificate_type,expiry_date', 'c', 'c'),
    ('certification_expiry_tracking', 'certification_expiry_tracking_organization_id_fkey', 'organization_id', 'organizations', 'id', 'c', 'a'),
    ('certification_expiry_tracking', 'certification_expiry_tracking_peer_mentor_id_fkey', 'peer_mentor_id', 'auth.users', 'id', 'c', 'a'),
    ('chapter_memberships', 'chapter_memberships_chapter_fkey', 'organization_id,chapter_id', 'chapters', 'organization_id,id', 'c', 'a'),
    ('chapter_memberships', 'chapter_memberships_user_id_fkey', 'user_id', 'users', 'id', 'c', 'a'),
    ('chapters', 'chapters_organization_id_fkey', 'organization_id', 'organizations', 'id', 'c', 'a'),
    ('coordinator_assignments', 'coordinator_assignments_chapter_fkey', 'organization_id,chapter_id', 'chapters', 'organization_id,id', 'c', 'a'),
    ('coordinator_assignments', 'coordinator_assignments_coordinator_fkey', 'chapter_id,coordinator_id,coordinator_role', 'chapter_memberships', 'chapter_id,user_id,role', 'c', 'a'),
    ('coordinator_assignments', 'coordinator_assignments_peer_mentor_fkey', 'chapter_id,peer_mentor_id,peer_mentor_role', 'chapter_memberships', 'chapter_id,user_id,role', 'c', 'a'),
    ('daily_cycle_successes', 'daily_cycle_successes_organization_id_fkey', 'organization_id', 'organizations', 'id', 'c', 'a'),
    ('device_reregistrations', 'device_reregistrations_device_token_id_fkey', 'device_token_id', 'device_tokens', 'id', 'c', 'a'),
    ('device_reregistrations', 'device_reregistrations_organization_id_fkey', 'organization_id', 'organizations', 'id', 'c', 'a'),
    ('device_tokens', 'device_tokens_user_id_fkey', 'user_id', 'users', 'id', 'c', 'a'),
    ('follow_up_notification_log', 'follow_up_notification_log_chapter_fkey', 'organization_id,chapter_id', 'chapters', 'organization_id,id', 'c', 'a'),
    ('follow_up_notification_log', 'follow_up_notification_log_notification_id_fkey', 'notification_id', 'notifications', 'id', 'n', 'a'),
    ('follow_up_notification_log', 'follow_up_notification_log_peer_mentor_id_fkey', 'peer_mentor_id', 'users', 'id', 'c', 'a'),
    ('follow_up_notification_log', 'follow_up_notification_log_scenario_rule_id_fkey', 'scenario_rule_id', 'scenario_rules', 'id', 'c', 'a'),
    ('mentor_directory', 'mentor_directory_chapter_fkey', 'organization_id,chapter_id', 'chapters', 'organization_id,id', 'c', 'a'),
    ('mentor_directory', 'mentor_directory_membership_fkey', 'chapter_id,peer_mentor_id,peer_mentor_role', 'chapter_memberships', 'chapter_id,user_id,role', 'c', 'a'),
    ('notifications', 'notifications_organization_id_fkey', 'organization_id', 'organizations', 'id', 'c', 'a'),
    ('notifications', 'notifications_recipient_id_fkey', 'recipient_id', 'users', 'id', 'c', 'a'),
    ('notifications', 'notifications_scenario_notification_id_fkey', 'scenario_notification_id', 'scenario_notifications', 'id', 'n', 'a'),
    ('notifications', 'notifications_subject_mentor_id_fkey', 'subject_mentor_id', 'users', 'id', 'c', 'a'),
    ('peer_mentor_certifications', 'peer_mentor_certifications_organization_id_fkey', 'organization_id', 'organizations', 'id', 'c', 'a'),
    ('peer_mentor_certifications', 'peer_mentor_certifications_peer_mentor_id_fkey', 'peer_mentor_id', 'users', 'id', 'c', 'a'),
    ('push_deliveries', 'push_deliveries_device_token_id_fkey', 'device_token_id', 'device_tokens', 'id', 'n', 'a'),
    ('push_deliveries', 'push_deliveries_notice_id_fkey', 'notice_id', 'push_notices', 'id', 'c', 'a'),
    ('push_notices', 'push_notices_carried_by_fkey', 'carried_by', 'push_notices', 'id', 'n', 'a'),
    ('push_notices', 'push_notices_notification_id_fkey', 'notification_id', 'notifications', 'id', 'c', 'a'),
    ('push_preferences', 'push_preferences_user_id_fkey', 'user_id', 'users', 'id', 'c', 'a'),
    ('scenario_cooldowns', 'scenario_cooldowns_user_id_fkey', 'user_id', 'auth.users', 'id', 'c', 'a'),
    ('scenario_notifications', 'scenario_notifications_organization_id_fkey', 'organization_id', 'organizations', 'id', 'c', 'a'),
    ('scenario_notifications', 'scenario_notifications_scenario_rule_id_fkey', 'scenario_rule_id', 'scenario_rules', 'id', 'n', 'a'),
    ('scenario_notifications', 'scenario_notifications_user_id_fkey', 'user_id', 'auth.users', 'id', 'c', 'a'),
    ('scenario_rules', 'scenario_rules_chapter_fkey', 'organization_id,chapter_id', 'chapters', 'organization_id,id', 'c', 'a'),
    ('scenario_rules', 'scenario_rules_organization_id_fkey', 'organization_id', 'organizations', 'id', 'c', 'a'),
    ('users', 'users_id_fkey', 'id', 'auth.users', 'id', 'c', 'a')
  $$,
  'every foreign key, its columns, target and ON DELETE (c = cascade, n = set null) / ON UPDATE rule'
);

-- The ON DELETE rules the tickets name, spelled out.
select is((select confdeltype::text from pg_constraint where conname = 'cert_notification_log_certification_id_fkey'), 'c',
          'ticket 001: cert_notification_log.certification_id is ON DELETE CASCADE');
select is((select confdeltype::text from pg_constraint where conname = 'follow_up_notification_log_scenario_rule_id_fkey'), 'c',
          'ticket 002: follow_up_notification_log.scenario_rule_id is ON DELETE CASCADE');

-- Issue 2: every foreign key is indexed: its columns lead some index, or a
-- unique index (no predicate) is on some of them, which finds the one row a
-- cascade touches as well (issue 28: the tracking table's certificate key).
select is(
  array(select format('%s.%s', c.conrelid::regclass, c.conname) from pg_constraint c
        where c.contype = 'f' and c.connamespace = 'public'::regnamespace
          and not exists (
            select 1 from pg_index i
            where i.indrelid = c.conrelid
              and ((i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
                   and (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey
                   or i.indisunique and i.indpred is null and 0 <> all ((i.indkey::int2[])[0:i.indnkeyatts - 1])
                      and (i.indkey::int2[])[0:i.indnkeyatts - 1] <@ c.conkey))
        order by 1),
  '{}'::text[],
  'every foreign key in public is covered by an index'
);

-- Row-level security and conventions ------------------------------------------------

select is(
  array(select c.relname::text from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity
        order by 1),
  '{}'::text[],
  'RLS is enabled on every table in public'
);

select is(
  array(select format('%s.%s', p.tablename, p.policyname) from pg_policies p
        where p.schemaname = 'public'
          and (coalesce(p.qual, '') || ' ' || coalesce(p.with_check, ''))
              ~ '(?<!SELECT )(auth|private)\.[a-z_]+\(\)'
        order by 1),
  '{}'::text[],
  'policies call auth.uid() and the RLS helpers wrapped as (select ...), once per statement'
);

select is(
  (select count(*)::int from pg_policies p where p.schemaname = 'public' and 'public' = any (p.roles)),
  0,
  'no policy is granted to PUBLIC; every policy names its roles'
);

-- Except the expiry notice's rule functions, the push payload's builder
-- (private.push_payload) and the rules the push claim asks for every notice
-- (private.local_date, push_send_time, push_urgency), which are inlined into the
-- statements that call them (a SET clause would stop that; migration
-- 20261206000200 says why they are safe without): plain SQL, never SECURITY
-- DEFINER.
select is(
  array(select format('%s.%s', n.nspname, p.proname) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('public', 'private')
          and not exists (select 1 from unnest(p.proconfig) cfg where cfg like 'search_path=%')
          and not (n.nspname = 'private' and p.proname in (
                     'idempotency_key', 'renewal_link', 'is_known_certificate_type',
                     'expiry_notification_key', 'cert_log_key',
                     'expiry_message_key', 'coordinator_follow_up_link', 'expiry_deep_link',
                     'expiry_notice_data', 'expiry_push_payload', 'expiry_collapse_key',
                     'push_payload', 'local_date', 'push_send_time', 'push_urgency')
                   and p.prolang = (select oid from pg_language where lanname = 'sql')
                   and not p.prosecdef)
        order by 1),
  '{}'::text[],
  'every function of the project pins its search_path, but the inlined rule functions'
);

select is(
  array(select c.oid::regclass::text from pg_class c
        where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace) and c.relkind in ('v', 'm')
          and not coalesce('security_invoker=true' = any (c.reloptions), false)
        order by 1),
  '{}'::text[],
  'no view runs with its owner''s rights (no SECURITY DEFINER view)'
);

-- What each API role may do with each table is declared in api_privileges.sql.

select is(
  array(select c.relname::text from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
          and not has_table_privilege('service_role', c.oid, 'select,insert,update,delete')
          -- Issue 19: the webhook keys' hashes are the owner's alone.
          and c.relname <> 'certificate_sync_keys'
        order by 1),
  '{}'::text[],
  'service_role may read and write every table but the sync webhook keys'
);

select ok(
  (select rolbypassrls from pg_roles where rolname = 'service_role'),
  'service_role bypasses RLS'
);

-- Issue 2: every table and column carries a comment stating its business purpose.
select is(
  array(select c.relname::text from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
          and coalesce(obj_description(c.oid, 'pg_class'), '') = ''
        order by 1),
  '{}'::text[],
  'every table has a comment'
);
select is(
  array(select format('%s.%s', c.relname, a.attname) from pg_class c
        join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
          and coalesce(col_description(c.oid, a.attnum), '') = ''
        order by 1),
  '{}'::text[],
  'every column has a comment'
);

-- Migration records, as the Supabase CLI keeps them ----------------------------------

select has_table('supabase_migrations', 'schema_migrations', 'supabase_migrations.schema_migrations exists');
select is_empty(
  $$select version from supabase_migrations.schema_migrations group by version having count(*) > 1$$,
  'no migration is recorded twice'
);
-- Later migrations add rows; the baseline builds the schema above.
select bag_has(
  $$select version, name from supabase_migrations.schema_migrations$$,
  $$values ('20261206000100', 'baseline')$$,
  'the baseline is recorded in supabase_migrations.schema_migrations (version, name)'
);

select * from finish();
rollback;
