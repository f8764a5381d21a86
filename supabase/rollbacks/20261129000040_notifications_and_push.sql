-- Rollback of 20261129000040_notifications_and_push: removes push
-- preferences, the push queue, device tokens and in-app notifications, and
-- the send-window function.
drop table if exists public.push_preferences;
drop table if exists public.push_outbox;
drop table if exists public.device_tokens;
drop table if exists public.notifications;
drop function if exists private.push_send_time(timestamptz, text, time, time);
