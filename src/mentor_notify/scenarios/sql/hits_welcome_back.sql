-- Welcome back: the latest activity (in the last week) came after a gap of at
-- least the rule's days since the one before, and has not been welcomed yet.
create temp table scenario_hits on commit drop as
select sm.user_id, sm.organization_id, sm.rule_id, sm.cooldown, sm.messages,
       null::integer as milestone_value,
       jsonb_build_object(
         'rule_id', sm.rule_id,
         'days_away', extract(day from ma.last_at - prev.previous_at)::integer
       ) as metadata
from scenario_mentors sm
join mentor_activity ma on ma.user_id = sm.user_id and ma.organization_id = sm.organization_id
cross join lateral (
  select max(a.occurred_at) as previous_at
  from public.activities a
  where a.peer_mentor_id = sm.user_id
    and a.organization_id = sm.organization_id
    and a.occurred_at < ma.last_at
) prev
where sm.enabled
  and ma.last_at >= %(as_of)s - interval '7 days'
  and ma.last_at - prev.previous_at
      >= make_interval(days => coalesce((sm.parameters ->> 'inactive_days_before_return')::integer, 30))
  and not exists (
    select 1
    from public.scenario_notifications s
    where s.user_id = sm.user_id
      and s.organization_id = sm.organization_id
      and s.scenario_type = 'welcome_back'
      and s.delivery_status <> 'failed'
      and s.triggered_at >= ma.last_at
  )
