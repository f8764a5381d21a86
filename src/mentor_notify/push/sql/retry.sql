-- Put dead (or failed) notices back in the queue, due now, attempts reset. A
-- notice already carried keeps what it sent (sent_payload) and the devices it
-- reached (push_deliveries): the next claim sends to the others only. What it
-- carried waits with it again.
with requeued as (
  update public.push_notices
  set status = 'pending', attempts = 0, available_at = %(now)s, last_error = null, settled_at = null
  where id = any (%(ids)s::uuid[]) and status in ('dead', 'failed')
  returning id
),
reopened as (
  update public.push_notices f
  set settled_at = null
  from requeued r
  where f.carried_by = r.id and f.status = 'folded'
  returning 1
)
select id from requeued
