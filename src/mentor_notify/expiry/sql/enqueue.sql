-- Queue the pushes write_notices.sql left in expiry_pushes: one push notice
-- per notification created, for its recipient, through the queue's one way in
-- (private.enqueue_push, issue 25). expiry_pushes holds exactly the fields a
-- push carries (notification_id, organization_id, recipient_id, payload,
-- collapse_key), handed over as typed rows (private.push_notice_in), not as
-- JSON to be parsed again. Devices are read when the push is sent, so a person
-- with no device still gets a notice, settled then; a notification already
-- queued makes a repeat a no-op.
select private.enqueue_push(
         array(
           select row(p.notification_id, p.organization_id, p.recipient_id, p.payload,
                      p.collapse_key)::private.push_notice_in
           from expiry_pushes p
         ),
         %(now)s
       ) as queued
