-- Stage "notices" of the settle statement: decides each carrier notice's
-- state from its devices' outcomes (sent, pending again at the earliest retry
-- time, failed, dead); requeues a push whose only deliveries were withdrawn
-- (due now, so the next claim reads the recipient's devices again); and
-- settles the notices folded into a settled carrier.
-- Each carrier's devices after this round: this round's outcomes (recorded),
-- and its other deliveries as they were (an earlier round's, or one sent
-- before this round's outcome for it came). Only this round's retries count
-- as retryable: every device still worth trying was sent to in this round. A
-- round whose every send was given back unsent by a stopping dispatcher
-- (RELEASED, push/dispatcher.py) tried nothing: the claim's attempt is given
-- back, so a deploy never makes a push on its last attempt dead. Gathered as
-- a union rather than by joining recorded back to the deliveries: that join
-- was planned as a scan of the round's outcomes per delivery.
devices as (
  select r.notice_id, r.attempts, r.provider, r.status, r.retry_at, r.error_code,
         true as this_round
  from recorded r
  where r.mine
  union all
  select x.notice_id, c.attempts, x.provider, x.status, null, null, false
  from carriers c
  join public.push_deliveries x on x.notice_id = c.id
  where c.mine
    and x.id not in (select id from recorded)
    and x.id not in (select id from withdrawn)
),
tally as (
  select d.notice_id as id,
         max(d.attempts) - case when bool_and(d.error_code = 'RELEASED') filter (where d.this_round)
                                then 1 else 0 end as attempts,
         bool_or(d.status = 'sent') as reached,
         bool_or(d.status = 'retry' and d.this_round) as retryable,
         min(d.retry_at) filter (where d.status = 'retry' and d.this_round) as retry_at,
         max(d.error_code) filter (where d.this_round) as last_error,
         array_agg(distinct d.provider) filter (where d.status = 'sent') as sent_channels,
         array_agg(distinct d.provider) as channels
  from devices d
  group by d.notice_id
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
