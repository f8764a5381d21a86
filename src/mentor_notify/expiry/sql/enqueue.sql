-- Queue one push notice per notification for its recipient, through the
-- queue's one way in (private.enqueue_push): devices are read when the push
-- is sent, and a repeat enqueue is a no-op.
select private.enqueue_push(%(pushes)s::jsonb, %(now)s) as queued
