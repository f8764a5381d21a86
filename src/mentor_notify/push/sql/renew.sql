-- Extend the leases of the pushes one dispatcher still has in flight, so a
-- round whose sends take longer than the lease (a slow push service) keeps
-- them: another dispatcher claims a push only once its lease has really run
-- out, i.e. its dispatcher stopped renewing it (died, or lost the database).
update public.push_notices p
set leased_until = %(now)s + %(lease)s
where p.id = any (%(ids)s::uuid[])
  and p.status = 'in_flight'
  and p.leased_by = %(worker)s
