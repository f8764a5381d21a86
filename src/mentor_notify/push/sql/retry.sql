-- Put dead (or failed) messages back in the queue, due now, attempts reset.
update public.push_outbox
set status = 'pending', attempts = 0, available_at = %(now)s, last_error = null
where id = any (%(ids)s::uuid[]) and status in ('dead', 'failed')
returning id
