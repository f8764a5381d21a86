-- Rollback of 20261129000400_certificate_sync: the data-quality report and the
-- inbound certificate sync go (the inbox and mappings with them). Certificates
-- the sync wrote stay: they are ordinary certificate records by then.
-- Idempotent.
drop view if exists public.data_quality_report;
drop function if exists private.data_quality_report();
drop function if exists private.administered_chapter_ids();
drop function if exists private.stale_device_cutoff(timestamptz, interval);
drop function if exists private.stale_device_age();
drop view if exists private.mentor_coordinators;
drop function if exists private.renewal_history_warning_size();
drop function if exists private.apply_certificate_sync_events(uuid, timestamptz, integer);
drop function if exists private.apply_certificate_sync_event(bigint, timestamptz);
drop table if exists public.certificate_sync_certificates;
drop table if exists public.certificate_sync_events;
drop table if exists public.certificate_sync_types;
drop table if exists public.certificate_sync_people;
drop table if exists public.certificate_sync_settings;
drop table if exists public.certificate_sync_keys;
