-- Certification expiry as a follow-up: the mentor's certificate is in the
-- rule's tier today (the organisation's local date), by the same rule as the
-- expiry sweep: the most urgent window it is in, lapsed after its expiry date.
create temp table scenario_hits on commit drop as
select distinct on (sm.user_id, sm.organization_id)
       sm.user_id, sm.organization_id, sm.rule_id, sm.cooldown, sm.messages,
       null::integer as milestone_value,
       jsonb_build_object(
         'rule_id', sm.rule_id, 'certification_id', t.certification_id,
         'certificate_type', t.certificate_type, 'tier', x.tier
       ) as metadata
from scenario_mentors sm
join public.organizations o on o.id = sm.organization_id
join public.certification_expiry_tracking t
  on t.peer_mentor_id = sm.user_id and t.organization_id = sm.organization_id
cross join lateral (
  select coalesce(%(today)s::date, (%(as_of)s::timestamptz at time zone o.timezone)::date) as today
) d
cross join lateral (
  select case
           when t.expiry_date < d.today then 'expired'
           else (select 'expiry_warning_' || min(th) || 'd' from unnest(o.expiry_thresholds) th
                 where th >= t.expiry_date - d.today)
         end as tier
) x
where sm.enabled
  and x.tier = coalesce(sm.parameters ->> 'tier', 'expiry_warning_30d')
order by sm.user_id, sm.organization_id, t.expiry_date
