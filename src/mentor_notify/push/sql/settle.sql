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
-- Each send's delivery, looked up once by its key: its push, and whether it
-- was already sent before this statement.
sends as materialized (
  select o.id, o.result, o.error_code, o.retry_at, x.notice_id, x.status = 'sent' as was_sent
  from outcome o
  join public.push_deliveries x on x.id = o.id
),
-- The carriers, locked in id order: their lease is read from the newest row
-- version, and two dispatchers settling the same push queue up.
carriers as (
  select n.id, n.organization_id, n.notification_id, n.recipient_id, n.attempts,
         n.status = 'in_flight' and n.leased_by = %(worker)s as mine
  from public.push_notices n
  where n.id in (select notice_id from sends)
  order by n.id
  for update of n
),
-- What this round may write: every outcome of a push it still leases, and a
-- delivery made whoever leases the push now.
writes as materialized (
  select s.id, s.notice_id, s.result, s.error_code, s.retry_at, s.was_sent, c.mine, c.attempts
  from sends s
  join carriers c on c.id = s.notice_id
  where c.mine or s.result = 'sent'
),
-- Each outcome's delivery, found by its key. A delivery already sent keeps
-- its record: one the statement's snapshot saw sent is left alone (a
-- duplicate, counted below), and one another dispatcher recorded sent since
-- (a lease that ran out while its sends were out) is kept sent by the CASEs,
-- which read the newest row version. Not a filter on the deliveries' status:
-- PostgreSQL estimated it from the table's statistics, where nearly every
-- delivery is sent, took this round's for a row or two, and compared each
-- with every outcome (quadratic in the round's size; the settle took 3 to 5
-- times as long).
recorded as (
  update public.push_deliveries x
  set status = case
                 when x.status = 'sent' then 'sent'
                 when w.result in ('sent', 'retry', 'unregistered') then w.result
                 else 'failed'
               end,
      last_error = case when x.status = 'sent' or w.result = 'sent' then x.last_error
                        else w.error_code end,
      sent_at = case when x.status = 'sent' then x.sent_at
                     when w.result = 'sent' then %(now)s end
  from writes w
  where x.id = w.id and w.result <> 'withdrawn' and not w.was_sent
  returning x.id, x.notice_id, x.device_token_id, x.provider, x.status, w.result, w.retry_at,
            w.error_code, w.mine, w.attempts
),
withdrawn as (
  delete from public.push_deliveries x
  using writes w
  where x.id = w.id and w.result = 'withdrawn' and w.mine and not w.was_sent
    and x.status <> 'sent'
  returning x.id, x.notice_id
)
