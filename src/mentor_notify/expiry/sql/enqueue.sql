-- Queue the pushes write_notices.sql left in expiry_pushes: one push notice
-- per notification created, for its recipient, through the queue's one way in
-- (private.enqueue_push, issue 25). expiry_pushes holds exactly the fields it
-- reads (notification_id, organization_id, recipient_id, payload,
-- collapse_key), so each row goes as its own JSON object. Devices are read
-- when the push is sent, so a person with no device still gets a notice,
-- settled then; a notification already queued makes a repeat a no-op.
select private.enqueue_push(
         (select coalesce(jsonb_agg(to_jsonb(p)), '[]') from expiry_pushes p),
         %(now)s
       ) as queued
