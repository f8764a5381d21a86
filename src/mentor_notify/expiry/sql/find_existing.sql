-- Ticket 004's duplicate check: which of these notices already exist for the
-- same mentor, certificate type, tier, expiry cycle and recipient. Served by
-- the unique index notifications_expiry_duplicate_key.
select k.key
from jsonb_to_recordset(%(notices)s::jsonb) as k(
  key text, mentor_id uuid, certificate_type text, tier text, expiry_date date, recipient_id uuid
)
where exists (
  select 1
  from public.notifications n
  where n.category = 'certification_expiry'
    and n.subject_mentor_id = k.mentor_id
    and n.certificate_type = k.certificate_type
    and n.threshold_tier = k.tier
    and n.notification_window_start = k.expiry_date
    and n.recipient_id = k.recipient_id
)
