-- Settle one dispatcher's sends in one statement, every consequence written
-- here, none left to a trigger:
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
),
-- Each carrier's devices after this round: this round's outcomes over the
-- earlier ones. Only this round's retries count as retryable: every device
-- still worth trying was sent to in this round.
tally as (
  select c.id, c.attempts,
         bool_or(coalesce(r.status, x.status) = 'sent') as reached,
         bool_or(r.status = 'retry') as retryable,
         min(r.retry_at) filter (where r.status = 'retry') as retry_at,
         max(r.error_code) as last_error,
         array_agg(distinct x.provider) filter (where coalesce(r.status, x.status) = 'sent') as sent_channels,
         array_agg(distinct x.provider) as channels
  from carriers c
  join public.push_deliveries x on x.notice_id = c.id
  left join recorded r on r.id = x.id
  where c.mine and x.id not in (select id from withdrawn)
  group by c.id, c.attempts
),
requeued as (
  update public.push_notices n
  set status = 'pending', available_at = %(now)s, leased_until = null, leased_by = null
  from carriers c
  where n.id = c.id and c.mine
    and c.id in (select notice_id from withdrawn)
    and c.id not in (select id from tally)
  returning n.id
),
settled as (
  update public.push_notices n
  set status = case
                 when t.retryable and t.attempts < %(max_attempts)s then 'pending'
                 when t.reached then 'sent'
                 when t.retryable then 'dead'
                 else 'failed'
               end,
      available_at = case when t.retryable and t.attempts < %(max_attempts)s
                          then coalesce(t.retry_at, %(now)s) else n.available_at end,
      leased_until = null,
      leased_by = null,
      last_error = coalesce(t.last_error, n.last_error),
      settled_at = case when t.retryable and t.attempts < %(max_attempts)s then null else %(now)s end
  from tally t
  where n.id = t.id
  returning n.id, n.organization_id, n.notification_id, n.recipient_id, n.status, n.last_error,
            case when n.status = 'sent' then t.sent_channels else t.channels end as channels
),
settled_folded as (
  update public.push_notices f
  set settled_at = %(now)s
  from settled s
  where f.carried_by = s.id and f.status = 'folded' and f.settled_at is null
    and s.status <> 'pending'
  returning f.notification_id, s.id as carrier_id
),
-- Every notice of a settled push: the carrier and what it carried.
finished as (
  select s.notification_id, s.organization_id, s.status, s.last_error, s.channels
  from settled s
  where s.status <> 'pending'
  union all
  select f.notification_id, s.organization_id, s.status, s.last_error, s.channels
  from settled_folded f
  join settled s on s.id = f.carrier_id
),
notified as (
  update public.notifications n
  set status = case when f.status = 'sent' then 'sent' else 'failed' end,
      status_changed_at = %(now)s
  from finished f
  where n.id = f.notification_id
    and n.status is distinct from (case when f.status = 'sent' then 'sent' else 'failed' end)
  returning 1
)
select (select count(*) from recorded where status = 'sent')::integer as sent,
       -- Read from the statement's snapshot: deliveries sent before this settle.
       (select count(*) from outcome o join public.push_deliveries x on x.id = o.id
        where o.result = 'sent' and x.status = 'sent')::integer as duplicates,
       (select count(*) from recorded where status = 'retry')::integer as retrying,
       (select count(*) from recorded where status in ('failed', 'unregistered'))::integer as failed,
       (select count(*) from withdrawn)::integer as withdrawn,
       (select count(*) from settled where status = 'dead')::integer as dead,
       (select count(*) from notified)::integer as notifications_settled,
       -- For the packages that react to settled pushes (the scenarios').
       (select coalesce(array_agg(notification_id), '{}') from finished) as settled_notifications,
       (select coalesce(array_agg(distinct device_token_id), '{}') from recorded
        where result = 'unregistered' and device_token_id is not null) as dead_tokens,
       -- Per organisation, for the daily cycle's summary: pushes (to a person)
       -- delivered, and given up on (refused by every device, or out of attempts).
       (select coalesce(jsonb_object_agg(organization_id, jsonb_build_object(
                  'sent', sent, 'failed', failed)), '{}')
        from (select organization_id,
                     count(*) filter (where status = 'sent') as sent,
                     count(*) filter (where status in ('failed', 'dead')) as failed
              from settled group by organization_id) per_org) as by_organisation
