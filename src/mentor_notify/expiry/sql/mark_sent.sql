-- Record the tiers notified in the certificates' sweep state, so no later run
-- (today or any day of the same window) picks them again. The expiry date
-- must still match: a renewal committed meanwhile has started a new cycle.
update public.certification_expiry_tracking t
set notification_thresholds_sent = t.notification_thresholds_sent || c.threshold,
    last_notified_at = %(now)s
from expiry_candidates c
where t.certification_id = c.certification_id
  and t.expiry_date = c.expiry_date
  and not (c.threshold = any (t.notification_thresholds_sent))
