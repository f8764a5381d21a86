-- Rollback of 20261206000100_baseline: every object of the schema goes,
-- newest area first (supabase/schemas/09 .. 01), and with it every row. The
-- API roles' default privileges are left as they are: whether a project
-- grants them is the platform's choice (see the local bootstrap). Idempotent.

-- 09 certificate sync and the data-quality report
drop view if exists public.data_quality_report;
drop function if exists private.data_quality_report();
drop function if exists private.administered_chapter_ids();
drop function if exists private.stale_device_cutoff(timestamptz, interval);
drop function if exists private.stale_device_age();
drop view if exists private.mentor_coordinators;
drop function if exists private.renewal_history_warning_size();
drop function if exists private.apply_certificate_sync_events(uuid, timestamptz, integer);
drop function if exists private.apply_certificate_sync_event(bigint, timestamptz);
drop table if exists public.certificate_sync_mappings;
drop table if exists public.certificate_sync_certificates;
drop table if exists public.certificate_sync_events;
drop table if exists public.certificate_sync_types;
drop table if exists public.certificate_sync_people;
drop table if exists public.certificate_sync_settings;
drop table if exists public.certificate_sync_keys;

-- 08 rule functions
drop function if exists private.expiry_due_tier(integer, integer[], integer[]);
drop function if exists private.expiry_tier(integer, integer[]);
drop function if exists private.expiry_tier_days(text);
drop function if exists private.idempotency_key(text[]);
drop function if exists private.local_date(timestamptz, text);
drop function if exists private.renewal_link(uuid, text, text);

-- 07 live inbox (the Realtime part exists only where Realtime does)
drop trigger if exists notifications_broadcast_insert on public.notifications;
drop trigger if exists notifications_broadcast_marks on public.notifications;
drop function if exists private.notifications_broadcast_to_inbox();
do $guard$
begin
  if to_regclass('realtime.messages') is not null then
    drop policy if exists mentor_notify_inbox_receive_own on realtime.messages;
  end if;
end
$guard$;
drop index if exists public.notifications_unread_idx;

-- 06 mentor directory
drop trigger if exists organizations_refresh_directory on public.organizations;
drop trigger if exists peer_mentor_certifications_directory_after_delete on public.peer_mentor_certifications;
drop trigger if exists peer_mentor_certifications_directory_after_update on public.peer_mentor_certifications;
drop trigger if exists peer_mentor_certifications_directory_after_insert on public.peer_mentor_certifications;
drop table if exists public.mentor_directory;
drop function if exists private.organizations_refresh_directory();
drop function if exists private.peer_mentor_certifications_refresh_directory();
drop function if exists private.mentor_directory_before_write();
drop function if exists private.lapse_instant(date, text);

-- 05 activities and scenarios (the inbox's foreign key to scenario
-- notifications goes with their table)
drop function if exists private.record_scenario_outcomes(jsonb, timestamptz);
alter table if exists public.notifications drop constraint if exists notifications_scenario_notification_id_fkey;
drop table if exists public.follow_up_notification_log;
drop table if exists public.scenario_cooldowns;
drop table if exists public.scenario_notifications;
drop table if exists public.scenario_rules;
drop table if exists public.activities;
drop function if exists private.scenario_notifications_claim_cooldown();
drop function if exists private.scenario_rule_problem(text, jsonb, jsonb);
drop function if exists private.is_day_count(jsonb);

-- 04 notifications and push
drop table if exists public.push_deliveries;
drop table if exists public.push_budget_days;
drop table if exists public.push_notices;
drop function if exists private.digest_link(boolean);
drop function if exists private.push_urgency(jsonb);
drop table if exists public.push_preferences;
drop table if exists public.device_tokens;
drop table if exists public.notifications;
drop function if exists private.push_send_time(timestamptz, text, time, time);

-- 03 certifications
drop table if exists public.cert_notification_log;
drop table if exists public.certification_expiry_tracking;
drop table if exists public.peer_mentor_certifications;
drop function if exists private.followed_certification_ids();
drop function if exists private.certification_expiry_tracking_before_update();
drop function if exists private.peer_mentor_certifications_after_insert();
drop function if exists private.peer_mentor_certifications_before_write();
drop function if exists private.is_valid_renewal_history(jsonb);

-- 02 privacy guard (the CHECK constraints that call it went with their tables)
drop function if exists private.contains_personal_data(jsonb);
drop function if exists private.text_contains_personal_data(text);
drop function if exists private.is_national_identity_number(text);

-- 01 organisations and people, and the private schema
drop table if exists public.coordinator_assignments;
drop table if exists public.chapter_memberships;
drop table if exists public.users;
drop table if exists public.chapters;
drop table if exists public.organizations;
drop function if exists private.peer_mentor_chapter_ids();
drop function if exists private.followed_mentor_ids();
drop function if exists private.led_organization_ids();
drop function if exists private.member_organization_ids();
drop function if exists private.member_chapter_ids();
drop function if exists private.led_chapter_ids();
drop function if exists private.is_valid_expiry_thresholds(integer[]);
drop function if exists private.is_valid_timezone(text);
drop function if exists private.is_known_certificate_type(text);
drop schema if exists private;
