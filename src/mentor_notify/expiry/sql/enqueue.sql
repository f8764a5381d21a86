-- Queue the pushes write_notices.sql left in expiry_pushes: one push notice
-- per notification created, for its recipient. Devices are read when the push
-- is sent (push/sql/claim.sql), so a person with no device still gets a
-- notice, settled then. The unique notification makes a repeat a no-op.
--
-- This is the expiry job's only write to push_notices, kept apart on purpose:
-- when the push pipeline gets its single enqueue entry point (issue 25), this
-- statement becomes a call to it with the same rows.
insert into public.push_notices (
  organization_id, notification_id, recipient_id, payload, collapse_key, status, available_at,
  created_at
)
select p.organization_id, p.notification_id, p.recipient_id, p.payload, p.collapse_key,
       'pending', %(now)s, %(now)s
from expiry_pushes p
on conflict do nothing
