-- Create or replace the rule of a scope (organisation default or chapter) and scenario.
insert into public.scenario_rules
  (organization_id, chapter_id, scenario_type, parameters, cooldown, enabled, messages)
values
  (%(organization_id)s, %(chapter_id)s, %(scenario_type)s, %(parameters)s, %(cooldown)s,
   %(enabled)s, %(messages)s)
on conflict on constraint scenario_rules_scope_key do update
set parameters = excluded.parameters,
    cooldown = excluded.cooldown,
    enabled = excluded.enabled,
    messages = excluded.messages,
    updated_at = now()
returning id
