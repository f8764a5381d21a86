-- Rollback of 20261129000600_sweep_notice_day: the due-rule function, the
-- sweep's business day of its last notice and the notices' age index go. The
-- queries that use them must be those of the same release. Idempotent.
drop index if exists public.notifications_created_at_idx;
drop function if exists private.expiry_due_tier(integer, integer[], integer[]);
alter table public.certification_expiry_tracking drop column if exists last_notified_on;
