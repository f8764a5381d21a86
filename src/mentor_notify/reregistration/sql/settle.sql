-- Record what the push services answered to this week's re-registration
-- pushes (%(outcomes)s: device token id, sent or failed, error code).
update public.device_reregistrations r
set status = o.status,
    error_code = o.error_code,
    sent_at = case when o.status = 'sent' then %(now)s end
from jsonb_to_recordset(%(outcomes)s::jsonb) as o(device_token_id uuid, status text, error_code text)
where r.device_token_id = o.device_token_id and r.week_start = %(week)s
