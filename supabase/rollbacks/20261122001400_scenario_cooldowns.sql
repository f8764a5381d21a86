-- Rollback of 20261122001400_scenario_cooldowns: removes the cooldown
-- triggers and table, the once-only milestone index and the two columns.
drop trigger if exists scenario_notifications_release_cooldown on public.scenario_notifications;
drop trigger if exists scenario_notifications_claim_cooldown on public.scenario_notifications;
drop function if exists private.scenario_notifications_release_cooldown();
drop function if exists private.scenario_notifications_claim_cooldown();
drop table if exists public.scenario_cooldowns;
drop index if exists public.scenario_notifications_milestone_once_key;
drop index if exists public.scenario_notifications_scenario_rule_id_idx;
alter table public.scenario_notifications drop constraint if exists scenario_notifications_cooldown_until_check;
alter table public.scenario_notifications drop column if exists cooldown_until;
alter table public.scenario_notifications drop column if exists scenario_rule_id;
