-- Milestones: the highest milestone value the activity count has reached,
-- when it is above every milestone already celebrated (so a jump from 9 to
-- 26 activities celebrates 25, and 10 is never sent late).
create temp table scenario_hits on commit drop as
select sm.user_id, sm.organization_id, sm.rule_id, sm.cooldown, sm.messages,
       reached.milestone as milestone_value,
       jsonb_build_object(
         'rule_id', sm.rule_id, 'milestone', reached.milestone, 'activity_count', ma.activity_count
       ) as metadata
from scenario_mentors sm
join mentor_activity ma on ma.user_id = sm.user_id and ma.organization_id = sm.organization_id
cross join lateral (
  select max(v::integer) as milestone
  from jsonb_array_elements_text(coalesce(sm.parameters -> 'milestones', '[10, 25, 50, 100]')) v
  where v::integer <= ma.activity_count
) reached
where sm.enabled
  and reached.milestone is not null
  and not exists (
    select 1
    from public.scenario_notifications s
    where s.user_id = sm.user_id
      and s.organization_id = sm.organization_id
      and s.scenario_type = 'milestone'
      and s.delivery_status <> 'failed'
      and s.milestone_value >= reached.milestone
  )
