-- Rollback of 20261122001000_retention_indexes: removes the retention job's index.
drop index if exists public.follow_up_notification_log_delivered_at_idx;
