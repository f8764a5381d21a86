-- Stage "resolve" of the claim statement: decides which devices a leased push
-- goes to, as the claim sees them: the recipient's current device tokens,
-- less those this push already reached or that refused it for good. One row
-- per device is returned, its id the delivery's (push_deliveries), stable
-- across retries. A recipient with no device has the notice settled as
-- skipped, NO_DEVICE (policy and settle_unsent): no push could be made, the
-- in-app notice stands (and a scenario's cooldown with it); so has a push
-- whose every send was withdrawn unsent. Each send asks again right before
-- its request whether its device is still the recipient's (still_held.sql).
targets as (
  select m.id as notice_id, m.organization_id, d.id as device_token_id, d.provider, d.token
  from moved m
  join public.device_tokens d on d.user_id = m.recipient_id
  where m.decision = 'claimed'
    and not exists (
      select 1 from public.push_deliveries x
      where x.notice_id = m.id and x.device_token_id = d.id
        and x.status in ('sent', 'failed', 'unregistered')
    )
),
delivering as (
  insert into public.push_deliveries as x (
    organization_id, notice_id, device_token_id, provider, status, attempts, created_at)
  select t.organization_id, t.notice_id, t.device_token_id, t.provider, 'in_flight', 1, %(now)s
  from targets t
  order by t.notice_id, t.device_token_id
  on conflict (notice_id, device_token_id) do update
    set status = 'in_flight', attempts = x.attempts + 1, provider = excluded.provider
  returning x.id, x.notice_id, x.device_token_id, x.provider
)
select 'claimed' as decision, dl.id, m.id as notice_id, m.notification_id, m.recipient_id,
       dl.device_token_id, dl.provider, m.sent_payload as payload, m.collapse_key,
       private.idempotency_key(m.id::text, dl.device_token_id::text) as idempotency_key,
       m.attempts, d.token
from delivering dl
join moved m on m.id = dl.notice_id
-- The token as targets read it (one statement, one snapshot), by the device's
-- key: joined with targets instead, the planner compared every delivery with
-- every target.
join public.device_tokens d on d.id = dl.device_token_id
union all
select m.decision, null, m.id, m.notification_id, m.recipient_id, null, null, null, null, null,
       null, null
from moved m
where m.decision <> 'claimed'
union all
-- Each notification settled here, for the packages that react to it.
select 'settled', null, null, f.notification_id, null, null, null, null, null, null, null, null
from finished f
