-- Milestone records (once per milestone value, ever) of many people at once.
select distinct on (s.user_id, s.milestone_value)
       s.id, s.user_id, s.organization_id, s.scenario_type, s.triggered_at, s.delivery_status,
       s.milestone_value, s.metadata, s.scenario_rule_id, s.cooldown_until
from public.scenario_notifications s
where s.user_id = any (%(user_ids)s::uuid[])
  and s.scenario_type = 'milestone'
  and s.milestone_value = %(milestone_value)s
order by s.user_id, s.milestone_value, s.triggered_at
