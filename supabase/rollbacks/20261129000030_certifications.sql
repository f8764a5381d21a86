-- Rollback of 20261129000030_certifications: removes the expiry notice log,
-- the sweep's tracking table and the certificate record, with their triggers.
drop table if exists public.cert_notification_log;
drop table if exists public.certification_expiry_tracking;
drop table if exists public.peer_mentor_certifications;
drop function if exists private.followed_certification_ids();
drop function if exists private.certification_expiry_tracking_before_update();
drop function if exists private.peer_mentor_certifications_after_insert();
drop function if exists private.peer_mentor_certifications_before_write();
drop function if exists private.is_valid_renewal_history(jsonb);
