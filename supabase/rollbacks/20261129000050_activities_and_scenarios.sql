-- Rollback of 20261129000050_activities_and_scenarios: removes activities,
-- scenario rules, scenario notifications with their cooldowns, the follow-up
-- delivery log and the push_outbox trigger that writes it.
drop trigger if exists push_outbox_record_follow_up on public.push_outbox;
drop function if exists private.push_outbox_record_follow_up();
drop table if exists public.follow_up_notification_log;
drop table if exists public.scenario_cooldowns;
drop table if exists public.scenario_notifications;
drop table if exists public.scenario_rules;
drop table if exists public.activities;
drop function if exists private.scenario_notifications_release_cooldown();
drop function if exists private.scenario_notifications_claim_cooldown();
drop function if exists private.scenario_rule_problem(text, jsonb, jsonb);
drop function if exists private.is_day_count(jsonb);
