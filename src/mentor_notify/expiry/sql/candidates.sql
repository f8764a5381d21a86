-- The certificates of one organisation slice that are due a notice today, by
-- the sweep's due rule private.expiry_due_tier (the tier of the day,
-- private.expiry_tier, the one SQL form of mentor_notify.domain.tiers.classify_tier,
-- unless that tier was sent in the current expiry cycle), with the business
-- day decided for; the certification follow-up scenario stands aside by the
-- same rule. %(partitions)s and %(partition)s split the organisation's
-- certificates into disjoint slices by a hash of their id, so several
-- connections can sweep one organisation side by side, each slice in its own
-- transaction.
with in_window as (
  select t.certification_id, t.organization_id, t.peer_mentor_id, t.certificate_type,
         t.expiry_date, t.notification_thresholds_sent,
         t.expiry_date - %(today)s::date as days_left
  from public.certification_expiry_tracking t
  where t.organization_id = %(organization_id)s
    and t.expiry_date <= %(today)s::date + %(horizon)s::integer
    and mod(hashtext(t.certification_id::text) & 2147483647, %(partitions)s) = %(partition)s
),
-- The rule evaluated once per distinct (days left, tiers sent) pair (a few
-- hundred), not once per certificate: the calls are what costs. MATERIALIZED
-- keeps the planner from pushing the calls (or a filter on their result)
-- back down to every row.
pairs as materialized (
  select distinct days_left, notification_thresholds_sent as tiers_sent
  from in_window
),
tiers as materialized (
  select p.days_left, p.tiers_sent,
         private.expiry_due_tier(p.days_left, %(thresholds)s::integer[], p.tiers_sent) as tier
  from pairs p
),
due_tiers as materialized (
  select days_left, tiers_sent, tier, private.expiry_tier_days(tier) as days
  from tiers
  where tier is not null
)
insert into expiry_due (
  certification_id, organization_id, peer_mentor_id, certificate_type, expiry_date, tier, days,
  day
)
select w.certification_id, w.organization_id, w.peer_mentor_id, w.certificate_type,
       w.expiry_date, x.tier, x.days, %(today)s::date
from in_window w
join due_tiers x
  on x.days_left = w.days_left and x.tiers_sent = w.notification_thresholds_sent
