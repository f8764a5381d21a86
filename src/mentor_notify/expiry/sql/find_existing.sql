-- Ticket 004's duplicate check: which of these notices already exist for the
-- same mentor, certificate type, tier, expiry cycle and recipient. Served by
-- the unique index notifications_expiry_duplicate_key. The notices come as
-- parallel arrays (one element per notice): only the columns compared. The
-- arrays come in binary (the "b" placeholders): the driver then writes each
-- element as it is, where the text form checks every element for characters
-- to quote (five times the Python time).
select k.key
from unnest(%(keys)b::text[], %(mentor_ids)b::uuid[], %(certificate_types)b::text[],
            %(tiers)b::text[], %(expiry_dates)b::date[], %(recipient_ids)b::uuid[])
       as k(key, mentor_id, certificate_type, tier, expiry_date, recipient_id)
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
