-- Issue 4: scenario rules are validated on write.
begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

\ir fixtures/world.psql

select plan(10);

select is(private.scenario_rule_problem('inactivity', '{"inactivity_days": 30}', '{"nb": "a.b", "en": "a.b"}'), null,
          'a good inactivity rule has no problem');
select is(private.scenario_rule_problem('milestone', '{}', '{"nb": "a", "en": "a"}'), null,
          'parameters may be left to their defaults');
select is(private.scenario_rule_problem('inactivity', '{"days": 30}', '{"nb": "a", "en": "a"}'),
          'days is not a inactivity parameter', 'a parameter of no such name is named');
select is(private.scenario_rule_problem('inactivity', '{"inactivity_days": 0}', '{"nb": "a", "en": "a"}'),
          'inactivity_days must be a whole number of days from 1 to 730', 'a day count out of range is refused');
select is(private.scenario_rule_problem('welcome_back', '{"inactive_days_before_return": 7.5}', '{"nb": "a", "en": "a"}'),
          'inactive_days_before_return must be a whole number of days from 1 to 730', 'a fractional day count is refused');
select is(private.scenario_rule_problem('milestone', '{"milestones": [10, 10, 25]}', '{"nb": "a", "en": "a"}'),
          'milestones must be whole activity counts from 1 to 100000, distinct and increasing', 'repeated milestones are refused');
select is(private.scenario_rule_problem('certification_expiry', '{"tier": "expiry_warning_45d"}', '{"nb": "a", "en": "a"}'),
          'tier must be one of expiry_warning_90d, expiry_warning_60d, expiry_warning_30d, expiry_warning_7d, expired', 'an unknown tier is refused');
select is(private.scenario_rule_problem('inactivity', '{}', '{"nb": "Hei, du har vært borte!", "en": "a"}'),
          'messages must hold one message key for nb and one for en', 'message texts instead of keys are refused');
select throws_ok(
  $$insert into scenario_rules (organization_id, scenario_type, parameters, cooldown, messages)
    values ('a0000000-0000-4000-8000-000000000002', 'milestone', '{"milestones": [50, 25]}', interval '1 day', '{"nb": "a", "en": "a"}')$$,
  '23514', null, 'the table refuses a bad rule');
select lives_ok(
  $$insert into scenario_rules (organization_id, scenario_type, parameters, cooldown, messages)
    values ('a0000000-0000-4000-8000-000000000002', 'welcome_back', '{"inactive_days_before_return": 45}', interval '30 days', '{"nb": "scenario.welcome_back", "en": "scenario.welcome_back"}')$$,
  'and accepts a good one');

select * from finish();
rollback;
