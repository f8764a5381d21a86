-- Stage "notices" of the settle statement: decides each carrier notice's
-- state from its devices' outcomes (sent, pending again at the earliest retry
-- time, failed, dead); requeues a push whose only deliveries were withdrawn
-- (due now, so the next claim reads the recipient's devices again); and
-- settles the notices folded into a settled carrier.
-- Each carrier's devices after this round: this round's outcomes over the
-- earlier ones. Only this round's retries count as retryable: every device
-- still worth trying was sent to in this round. A round whose every send was
-- given back unsent by a stopping dispatcher (RELEASED, push/dispatcher.py)
-- tried nothing: the claim's attempt is given back, so a deploy never makes
-- a push on its last attempt dead.
tally as (
  select c.id,
         c.attempts - case when bool_and(r.error_code = 'RELEASED') filter (where r.id is not null)
                           then 1 else 0 end as attempts,
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
  set attempts = t.attempts,
      status = case
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
)
