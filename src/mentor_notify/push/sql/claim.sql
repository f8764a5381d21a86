-- Claim up to %(limit)s due messages for one worker: pending ones whose time
-- has come, and in-flight ones whose lease ran out (their worker died). SKIP
-- LOCKED lets workers claim side by side without waiting on each other; the
-- lease makes the claim last beyond this transaction, so a crashed worker's
-- messages come back after %(lease)s. The device's token is read with the
-- claim; it never leaves the process except to its push service.
--
-- A message is claimed only while it has attempts left (`attempts` counts
-- claims, and never passes %(max_attempts)s): one whose lease ran out after
-- its last attempt (its worker died mid-send) is dead instead, for `push dead`
-- and `push retry`.
--
-- Before a message is leased its recipient's choices are applied: a category
-- they muted makes it skipped (the in-app notice stands), and outside their
-- send window (their own, else their organisation's, in the organisation's
-- timezone) it is held until the window opens, unless its tier is one the
-- organisation sends at once. Every row returned says what was decided.
with
-- Two ordered walks, each on its partial index, each stopping at the limit: a
-- single OR-ed condition made PostgreSQL fetch and sort every due row on each
-- claim, which at a daily cycle's 260,000 queued pushes took longer than the
-- sends. Expired leases (older work) come first; ties within a time are in
-- no particular order.
expired as (
  select p.id
  from public.push_outbox p
  where p.status = 'in_flight' and p.leased_until <= %(now)s
  order by p.leased_until
  limit %(limit)s
  for update of p skip locked
),
ready as (
  select p.id
  from public.push_outbox p
  where p.status = 'pending' and p.available_at <= %(now)s
  order by p.available_at
  limit %(limit)s
  for update of p skip locked
),
picked as (
  select id from (select id, 0 as rank from expired union all select id, 1 from ready) both_kinds
  order by rank
  limit %(limit)s
),
due as (
  select p.id, p.notification_id, p.recipient_id, p.payload, p.attempts,
         o.timezone, o.push_immediate_tiers,
         coalesce(pp.window_start, o.push_window_start) as opens,
         coalesce(pp.window_end, o.push_window_end) as closes,
         coalesce(p.payload ->> 'category' = any (pp.muted_categories), false) as muted
  from picked
  join public.push_outbox p on p.id = picked.id
  join public.organizations o on o.id = p.organization_id
  left join public.push_preferences pp on pp.user_id = p.recipient_id
),
judged as (
  select d.*,
         case
           when d.attempts >= %(max_attempts)s then 'dead'
           when d.muted then 'skipped'
           when d.payload -> 'data' ->> 'tier' = any (d.push_immediate_tiers) then 'claimed'
           when private.push_send_time(%(now)s, d.timezone, d.opens, d.closes) > %(now)s
             then 'held'
           else 'claimed'
         end as decision
  from due d
),
claimed as (
  update public.push_outbox p
  set status = 'in_flight',
      leased_until = %(now)s + %(lease)s,
      leased_by = %(worker)s,
      attempts = p.attempts + 1
  from judged j
  where p.id = j.id and j.decision = 'claimed'
  returning p.id, p.notification_id, p.recipient_id, p.device_token_id, p.provider, p.payload,
            p.collapse_key, p.idempotency_key, p.attempts,
            (select d.token from public.device_tokens d where d.id = p.device_token_id) as token
),
held as (
  update public.push_outbox p
  set status = 'pending',
      available_at = private.push_send_time(%(now)s, j.timezone, j.opens, j.closes),
      leased_until = null,
      leased_by = null
  from judged j
  where p.id = j.id and j.decision = 'held'
  returning p.id
),
exhausted as (
  update public.push_outbox p
  set status = 'dead', leased_until = null, leased_by = null,
      last_error = coalesce(p.last_error, 'LEASE_EXPIRED')
  from judged j
  where p.id = j.id and j.decision = 'dead'
  returning p.id, p.notification_id
),
-- A notice none of whose pushes was delivered, or still may be, has failed.
given_up as (
  update public.notifications n
  set status = 'failed', status_changed_at = %(now)s
  where n.id in (select notification_id from exhausted)
    and n.status = 'pending'
    and not exists (
      select 1 from public.push_outbox p
      where p.notification_id = n.id
        and p.status in ('pending', 'in_flight', 'sent')
        and p.id not in (select id from exhausted)
    )
  returning 1
),
skipped as (
  update public.push_outbox p
  set status = 'skipped', leased_until = null, leased_by = null, last_error = null
  from judged j
  where p.id = j.id and j.decision = 'skipped'
  returning p.id, p.notification_id
),
-- A notice whose pushes were all skipped is settled as skipped (one that
-- also reached a device, or still may, is left to the sends).
settled as (
  update public.notifications n
  set status = 'skipped', status_changed_at = %(now)s
  where n.id in (select notification_id from skipped)
    and n.status = 'pending'
    and not exists (
      select 1 from public.push_outbox p
      where p.notification_id = n.id
        and p.status in ('pending', 'in_flight', 'sent')
        and p.id not in (select id from skipped)
    )
  returning 1
)
select 'claimed' as decision, c.* from claimed c
union all
select 'held', h.id, null, null, null, null, null, null, null, null, null from held h
union all
select 'skipped', s.id, s.notification_id, null, null, null, null, null, null, null, null
from skipped s
union all
select 'dead', e.id, null, null, null, null, null, null, null, null, null from exhausted e
