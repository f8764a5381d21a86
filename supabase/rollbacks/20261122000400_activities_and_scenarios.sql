-- Rollback of 20261122000400_activities_and_scenarios: removes activities,
-- scenario rules, scenario notifications and the follow-up delivery log.
drop table if exists public.follow_up_notification_log;
drop table if exists public.scenario_notifications;
drop table if exists public.scenario_rules;
drop table if exists public.activities;
