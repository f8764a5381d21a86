-- The certificates of one organisation that are due a notice today: inside a
-- tier window (private.expiry_tier, the one SQL form of
-- mentor_notify.domain.tiers.classify_tier) whose notice has not been sent in
-- the current expiry cycle. %(partitions)s and %(partition)s split the
-- organisation's certificates into disjoint slices by a hash of their id, so
-- several connections can sweep one organisation side by side, each slice in
-- its own transaction.
create temp table expiry_candidates on commit drop as
select t.certification_id,
       t.organization_id,
       t.peer_mentor_id,
       t.certificate_type,
       t.expiry_date,
       due.tier
from public.certification_expiry_tracking t
cross join lateral (
  select private.expiry_tier(t.expiry_date - %(today)s::date, %(thresholds)s::integer[]) as tier
) due
where t.organization_id = %(organization_id)s
  and t.expiry_date <= %(today)s::date + %(horizon)s::integer
  and due.tier is not null
  and not (private.expiry_tier_days(due.tier) = any (t.notification_thresholds_sent))
  and mod(hashtext(t.certification_id::text) & 2147483647, %(partitions)s) = %(partition)s
