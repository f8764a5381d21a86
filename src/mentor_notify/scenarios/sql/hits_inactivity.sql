-- Inactivity: no activity for the rule's number of days (a mentor who never
-- registered one counts from when they joined).
create temp table scenario_hits on commit drop as
select sm.user_id, sm.organization_id, sm.rule_id, sm.cooldown, sm.messages,
       null::integer as milestone_value,
       jsonb_build_object(
         'rule_id', sm.rule_id,
         'inactivity_days', p.days,
         'days_inactive', extract(day from %(as_of)s - coalesce(ma.last_at, sm.member_since))::integer
       ) as metadata
from scenario_mentors sm
cross join lateral (select coalesce((sm.parameters ->> 'inactivity_days')::integer, 30) as days) p
left join mentor_activity ma on ma.user_id = sm.user_id and ma.organization_id = sm.organization_id
where sm.enabled
  and coalesce(ma.last_at, sm.member_since) < %(as_of)s - make_interval(days => p.days)
