-- The certificates of one organisation that are due a notice today: inside a
-- tier window whose notice has not been sent in the current expiry cycle.
-- The tier is the most urgent window the certificate is in (the smallest
-- configured threshold at least the days left; 0 = lapsed), the same rule as
-- mentor_notify.domain.tiers.classify_tier. %(only)s narrows the run to some
-- certificates (the one-by-one retry after a failed batch); null means all.
-- %(partitions)s and %(partition)s split the organisation's certificates into
-- disjoint slices by a hash of their id, so several connections can sweep one
-- organisation side by side, each slice in its own transaction.
create temp table expiry_candidates on commit drop as
select t.certification_id,
       t.organization_id,
       t.peer_mentor_id,
       t.certificate_type,
       t.expiry_date,
       due.days as threshold,
       case due.days when 0 then 'expired' else 'expiry_warning_' || due.days || 'd' end as tier
from public.certification_expiry_tracking t
cross join lateral (
  select case
           when t.expiry_date < %(today)s::date then 0
           else (select min(th) from unnest(%(thresholds)s::integer[]) th
                 where th >= t.expiry_date - %(today)s::date)
         end as days
) due
where t.organization_id = %(organization_id)s
  and t.expiry_date <= %(today)s::date + %(horizon)s::integer
  and due.days is not null
  and not (due.days = any (t.notification_thresholds_sent))
  and (%(only)s::uuid[] is null or t.certification_id = any (%(only)s::uuid[]))
  and mod(hashtext(t.certification_id::text) & 2147483647, %(partitions)s) = %(partition)s
