-- Stage "deliveries" of the settle statement (settle.sql, settle_notices.sql,
-- settle_notifications.sql, joined by load_stages into one statement, every
-- consequence written there, none left to a trigger). This stage decides
-- each device's outcome; the statement as a whole settles:
--
-- * each device's outcome in push_deliveries (%(outcomes)s: delivery id,
--   result, error code, retry time);
-- * each push's carrier notice: sent once every device it went to was
--   delivered or refused for good and one was delivered; pending again, at
--   the earliest retry time, while a device may still take it (the next claim
--   sends to those devices only); failed when none took it and none is left
--   to try, dead when retries ran out;
-- * a send withdrawn unsent (its device left the recipient after the claim,
--   still_held.sql) leaves no delivery: the device was never the push's to
--   reach. A push with no delivery left goes back to pending, due now, so
--   the next claim reads the recipient's devices again: their other ones, or
--   none, and then it settles as a notice with no device does;
-- * the notices folded into a settled carrier, and the notifications of both,
--   which follow the carrier;
-- * and returns the notifications settled, to which other packages react
--   (the scenarios' bookkeeping: scenarios/sql/push_outcomes.sql); this
--   statement writes none of their tables.
--
-- Only pushes this dispatcher still leases are settled: one whose lease ran
-- out and was claimed by another dispatcher is that one's to settle. A
-- delivery is recorded whatever became of the lease, so a device that got
-- the push is never sent it again for want of its record. Tokens the service
-- called dead are returned, and deleted by delete_tokens.sql afterwards.
-- A send accepted for a delivery already recorded as sent (two dispatchers
-- sent the same key: a lease ran out while its sends were out) changes
-- nothing and is counted as a duplicate, for the duplicate-dispatch alert.
with outcome as (
  select *
  from jsonb_to_recordset(%(outcomes)s::jsonb) as o(
    id uuid, result text, error_code text, retry_at timestamptz
  )
),
-- The carriers, locked in id order: their lease is read from the newest row
-- version, and two dispatchers settling the same push queue up.
carriers as (
  select n.id, n.organization_id, n.notification_id, n.recipient_id, n.attempts,
         n.status = 'in_flight' and n.leased_by = %(worker)s as mine
  from public.push_notices n
  where n.id in (
    select x.notice_id from public.push_deliveries x join outcome o on o.id = x.id
  )
  order by n.id
  for update of n
),
recorded as (
  update public.push_deliveries x
  set status = case o.result
                 when 'sent' then 'sent'
                 when 'retry' then 'retry'
                 when 'unregistered' then 'unregistered'
                 else 'failed'
               end,
      last_error = case when o.result = 'sent' then x.last_error else o.error_code end,
      sent_at = case when o.result = 'sent' then %(now)s end
  from outcome o, carriers c
  where x.id = o.id and c.id = x.notice_id and x.status <> 'sent'
    and (c.mine or o.result = 'sent') and o.result <> 'withdrawn'
  returning x.id, x.notice_id, x.device_token_id, x.provider, x.status, o.result, o.retry_at,
            o.error_code
),
withdrawn as (
  delete from public.push_deliveries x
  using outcome o, carriers c
  where x.id = o.id and o.result = 'withdrawn' and c.id = x.notice_id and c.mine
    and x.status <> 'sent'
  returning x.id, x.notice_id
)
