-- Extend the leases of the messages one worker still has in flight, so a round
-- whose sends take longer than the lease (a slow push service) keeps its
-- messages: another worker claims a message only once its lease has really
-- run out, i.e. its worker stopped renewing it (died, or lost the database).
update public.push_outbox p
set leased_until = %(now)s + %(lease)s
where p.id = any (%(ids)s::uuid[])
  and p.status = 'in_flight'
  and p.leased_by = %(worker)s
