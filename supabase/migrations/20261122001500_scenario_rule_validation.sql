-- Scenario rules are checked on write, whoever writes them: each scenario
-- type takes only its own parameters, each within its range, and messages are
-- message keys for both languages (texts live in the app's translations). The
-- same rules as mentor_notify.scenarios.rules, which also says which field is
-- wrong and why before the database is asked.

create or replace function private.is_day_count(value jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select pg_catalog.jsonb_typeof(value) = 'number'
    and (value #>> '{}')::numeric between 1 and 730
    and (value #>> '{}')::numeric = pg_catalog.trunc((value #>> '{}')::numeric)
$$;
comment on function private.is_day_count(jsonb) is
  'True for a JSON whole number of days from 1 to 730.';

create or replace function private.scenario_rule_problem(scenario_type text, parameters jsonb, messages jsonb)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  allowed text[];
  name text;
  item jsonb;
  previous numeric := 0;
begin
  allowed := case scenario_type
    when 'inactivity' then array['inactivity_days']
    when 'milestone' then array['milestones']
    when 'certification_expiry' then array['tier']
    when 'welcome_back' then array['inactive_days_before_return']
  end;
  if allowed is null then
    return 'unknown scenario type';
  end if;
  if pg_catalog.jsonb_typeof(parameters) is distinct from 'object' then
    return 'parameters must be a JSON object';
  end if;
  for name in select pg_catalog.jsonb_object_keys(parameters) loop
    if not name = any (allowed) then
      return pg_catalog.format('%s is not a %s parameter', name, scenario_type);
    end if;
  end loop;
  if parameters ? 'inactivity_days' and not private.is_day_count(parameters -> 'inactivity_days') then
    return 'inactivity_days must be a whole number of days from 1 to 730';
  end if;
  if parameters ? 'inactive_days_before_return'
     and not private.is_day_count(parameters -> 'inactive_days_before_return') then
    return 'inactive_days_before_return must be a whole number of days from 1 to 730';
  end if;
  if parameters ? 'tier' and not coalesce((parameters ->> 'tier') = any (array[
       'expiry_warning_90d', 'expiry_warning_60d', 'expiry_warning_30d', 'expiry_warning_7d', 'expired']), false) then
    return 'tier must be one of expiry_warning_90d, expiry_warning_60d, expiry_warning_30d, expiry_warning_7d, expired';
  end if;
  if parameters ? 'milestones' then
    if pg_catalog.jsonb_typeof(parameters -> 'milestones') is distinct from 'array'
       or pg_catalog.jsonb_array_length(parameters -> 'milestones') not between 1 and 20 then
      return 'milestones must be a list of 1 to 20 activity counts';
    end if;
    for item in select pg_catalog.jsonb_array_elements(parameters -> 'milestones') loop
      if pg_catalog.jsonb_typeof(item) <> 'number'
         or (item #>> '{}')::numeric <> pg_catalog.trunc((item #>> '{}')::numeric)
         or (item #>> '{}')::numeric not between 1 and 100000
         or (item #>> '{}')::numeric <= previous then
        return 'milestones must be whole activity counts from 1 to 100000, distinct and increasing';
      end if;
      previous := (item #>> '{}')::numeric;
    end loop;
  end if;
  if pg_catalog.jsonb_typeof(messages) is distinct from 'object'
     or (select pg_catalog.array_agg(k order by k) from pg_catalog.jsonb_object_keys(messages) k)
        is distinct from array['en', 'nb']
     or (messages ->> 'nb') !~ '^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$'
     or (messages ->> 'en') !~ '^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$' then
    return 'messages must hold one message key for nb and one for en';
  end if;
  return null;
end
$$;
comment on function private.scenario_rule_problem(text, jsonb, jsonb) is
  'What is wrong with a scenario rule''s parameters or messages, in words; null when nothing is.';

alter table public.scenario_rules drop constraint if exists scenario_rules_rule_check;
alter table public.scenario_rules
  add constraint scenario_rules_rule_check
  check (private.scenario_rule_problem(scenario_type, parameters, messages) is null);
comment on constraint scenario_rules_rule_check on public.scenario_rules is
  'parameters must be those of the scenario type within their ranges (inactivity_days and inactive_days_before_return 1-730 days, milestones 1-20 increasing counts, tier an expiry tier), and messages one message key each for nb and en';
