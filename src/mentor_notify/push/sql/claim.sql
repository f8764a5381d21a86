-- Claim up to %(limit)s due messages for one worker: pending ones whose time
-- has come, and in-flight ones whose lease ran out (their worker died). SKIP
-- LOCKED lets workers claim side by side without waiting on each other; the
-- lease makes the claim last beyond this transaction, so a crashed worker's
-- messages come back after %(lease)s. The device's token is read with the
-- claim; it never leaves the process except to its push service.
with due as (
  select p.id
  from public.push_outbox p
  where (p.status = 'pending' and p.available_at <= %(now)s)
     or (p.status = 'in_flight' and p.leased_until <= %(now)s)
  order by p.available_at, p.id
  limit %(limit)s
  for update skip locked
)
update public.push_outbox p
set status = 'in_flight',
    leased_until = %(now)s + %(lease)s,
    leased_by = %(worker)s,
    attempts = p.attempts + 1
from due
where p.id = due.id
returning p.id, p.notification_id, p.recipient_id, p.device_token_id, p.provider, p.payload,
          p.collapse_key, p.idempotency_key, p.attempts,
          (select d.token from public.device_tokens d where d.id = p.device_token_id) as token
