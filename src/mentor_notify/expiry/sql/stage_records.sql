-- The orchestrator's batch (ticket 004) handed to the database as parallel
-- arrays, one element per record: the database decides each record's tier
-- (private.expiry_tier, the SQL form of classify_tier) on its organisation's
-- business day (%(day)s when the caller fixed one, else %(instant)s read in the
-- record's time zone by private.local_date), and keeps the due ones in
-- expiry_due for write_notices.sql, as the sweep does for a slice. The
-- records' coordinators and standing-in chapter admins come as three more
-- parallel arrays (certificate, recipient, audience). Returns the due records
-- with their tiers; a record not returned is in no tier window.
with records as (
  select r.*,
         coalesce(%(day)s::date, private.local_date(%(instant)s, r.timezone)) as day
  from unnest(%(certification_ids)s::uuid[], %(organization_ids)s::uuid[],
              %(mentor_ids)s::uuid[], %(certificate_types)s::text[], %(expiry_dates)s::date[],
              %(timezones)s::text[], %(thresholds)s::text[])
         as r(certification_id, organization_id, peer_mentor_id, certificate_type, expiry_date,
              timezone, thresholds)
),
decided as (
  select r.*, private.expiry_tier(r.expiry_date - r.day, r.thresholds::integer[]) as tier
  from records r
),
due as (
  insert into expiry_due (
    certification_id, organization_id, peer_mentor_id, certificate_type, expiry_date, tier, days,
    day
  )
  select certification_id, organization_id, peer_mentor_id, certificate_type, expiry_date,
         tier, private.expiry_tier_days(tier), day
  from decided
  where tier is not null
  returning certification_id, tier
),
told as (
  insert into expiry_recipients (certification_id, recipient_id, audience)
  select t.certification_id, t.recipient_id, t.audience
  from unnest(%(recipient_certification_ids)s::uuid[], %(recipient_ids)s::uuid[],
              %(audiences)s::text[]) as t(certification_id, recipient_id, audience)
  join due d on d.certification_id = t.certification_id
  returning 1
)
select d.certification_id, d.tier, (select count(*) from told)::integer as recipients
from due d
