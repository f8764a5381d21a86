-- Rollback of 20261122001500_scenario_rule_validation: removes the rule check
-- and its functions.
alter table public.scenario_rules drop constraint if exists scenario_rules_rule_check;
drop function if exists private.scenario_rule_problem(text, jsonb, jsonb);
drop function if exists private.is_day_count(jsonb);
