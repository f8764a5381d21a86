-- Certification expiry as a follow-up: the mentor's certificate is in the
-- rule's tier today (the organisation's local date), by the expiry sweep's
-- rule, private.expiry_tier. The follow-up stands aside for a certificate the
-- sweep tells the mentor about today, so nobody hears twice about one
-- certificate in a day whichever job runs first: the sweep will tell today
-- (its due rule, private.expiry_due_tier, finds a tier due) or has told today
-- (last_notified_on, the business day of its last notice about it). Another
-- certificate of the mentor's in the tier may still be followed up.
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
  select coalesce(%(today)s::date, private.local_date(%(as_of)s::timestamptz, o.timezone)) as today
) d
cross join lateral (
  select private.expiry_tier(t.expiry_date - d.today, o.expiry_thresholds) as tier
) x
where sm.enabled
  and x.tier = coalesce(sm.parameters ->> 'tier', 'expiry_warning_30d')
  and private.expiry_due_tier(
        t.expiry_date - d.today, o.expiry_thresholds, t.notification_thresholds_sent
      ) is null
  and t.last_notified_on is distinct from d.today
order by sm.user_id, sm.organization_id, t.expiry_date
