-- Rollback of 20261206000500_operations_and_reregistration: the cycle
-- record, the re-registration record and the organisation switch go (the
-- metrics then have no last cycle to show; re-registration is not sent).
-- Idempotent.
drop table if exists public.device_reregistrations;
drop table if exists public.daily_cycle_successes;
alter table public.organizations drop column if exists reregistration_push;
