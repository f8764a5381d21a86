-- Ticket 004's duplicate check: which of these notices already exist for the
-- same mentor, certificate type, tier, expiry cycle and recipient. %(notices)s
-- is one JSON array with an object per notice holding only the columns
-- compared: written by pydantic-core in Rust, where six parallel arrays cost
-- the driver's Python array dumper a quarter of the sweep's own Python time.
-- One probe of the unique index notifications_expiry_duplicate_key per
-- notice, whatever the statistics say: LATERAL with LIMIT 1 keeps the planner
-- to a nested loop. (With EXISTS it hashed every expiry notice in the table
-- for each batch whenever notifications had grown since it was last analysed,
-- as it has during and right after a first run: 260,000 rows a batch at a
-- million certificates.)
select k.key
from jsonb_to_recordset(%(notices)s::jsonb) as k(
  key text, mentor_id uuid, certificate_type text, tier text, expiry_date date, recipient_id uuid
)
cross join lateral (
  select 1
  from public.notifications n
  where n.category = 'certification_expiry'
    and n.subject_mentor_id = k.mentor_id
    and n.certificate_type = k.certificate_type
    and n.threshold_tier = k.tier
    and n.notification_window_start = k.expiry_date
    and n.recipient_id = k.recipient_id
  limit 1
) found
