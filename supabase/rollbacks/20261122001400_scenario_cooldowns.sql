-- Rollback of 20261122001400_scenario_cooldowns: removes the cooldown trigger,
-- the once-only milestone index and the two columns.
drop trigger if exists scenario_notifications_enforce_cooldown on public.scenario_notifications;
drop function if exists private.scenario_notifications_enforce_cooldown();
drop index if exists public.scenario_notifications_milestone_once_key;
drop index if exists public.scenario_notifications_scenario_rule_id_idx;
alter table public.scenario_notifications drop constraint if exists scenario_notifications_cooldown_until_check;
alter table public.scenario_notifications drop column if exists cooldown_until;
alter table public.scenario_notifications drop column if exists scenario_rule_id;
