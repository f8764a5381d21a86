-- Rollback of 20261122000300_notifications_and_push: removes the push queue,
-- device tokens and in-app notifications.
drop table if exists public.push_outbox;
drop table if exists public.device_tokens;
drop table if exists public.notifications;
