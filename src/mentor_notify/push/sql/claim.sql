-- Claim due pushes for one dispatcher: pending notices whose time has come,
-- and in-flight ones whose lease ran out (their dispatcher died), up to
-- %(limit)s of them, then every other due notice of the same recipients in
-- the same organisation, so what is due for one person goes in one push.
-- SKIP LOCKED lets dispatchers claim side by side; the lease makes a claim
-- last beyond this transaction, so a crashed dispatcher's pushes come back
-- after %(lease)s. Every row returned says what was decided.
--
-- Per notice, as before: out of attempts (`attempts` counts claims, and never
-- passes %(max_attempts)s) it is dead; of a category the recipient muted it
-- is skipped (the in-app notice stands); outside the send window (theirs, else
-- their organisation's, in its timezone) it is held until the window opens,
-- unless its tier is one the organisation sends at once.
--
-- Per person, then: their daily budget (organizations.push_daily_budget) in
-- push_budget_days, for the organisation-local day. With budget left, or a
-- notice of an immediate tier among them, one push goes now and counts; else
-- all wait for the window of the next local day. Only pushes sent inside the
-- send window count: an immediate tier sent while it is closed goes without. The push's carrier is the
-- most urgent notice (private.push_urgency); the others are folded into it,
-- and it then sends a digest: the carrier's title, a count per message key,
-- a link to the list (private.digest_link). Keys and counts only.
--
-- A notice already carried (a retry, or a lease that ran out) sends the body
-- fixed at its first claim (sent_payload) on its own, and uses no budget.
--
-- Devices are read now: the recipient's current device tokens, less those
-- this push already reached or that refused it for good. One row per device
-- is returned, its id the delivery's (push_deliveries), stable across retries.
-- A recipient with no device has the notice settled as skipped, NO_DEVICE:
-- no push could be made, the in-app notice stands (and a scenario's cooldown
-- with it); so has a push whose every send was withdrawn unsent (its devices
-- left the recipient after the claim). A retry whose devices are all gone is
-- settled by what it reached.
with
-- Two ordered walks, each on its partial index, each stopping at the limit: a
-- single OR-ed condition made PostgreSQL fetch and sort every due row on each
-- claim. Expired leases (older work) come first. Columns are read from the
-- locking scans, which see the newest version of each row they lock.
expired as (
  select p.id, p.organization_id, p.notification_id, p.recipient_id, p.payload, p.collapse_key,
         p.attempts, p.last_error, p.created_at, p.budget_day, p.sent_payload
  from public.push_notices p
  where p.status = 'in_flight' and p.leased_until <= %(now)s
  order by p.leased_until
  limit %(limit)s
  for update of p skip locked
),
-- A notice not yet carried is taken only with its recipient's transaction
-- lock: one claim at a time decides for a person, and its gathering below
-- finds all their due notices. Two claims each holding some of one person's
-- notices would otherwise both spend budget, the second holding its share to
-- the next day. The lock is tried in the walk itself, so a row whose person
-- another claim holds is passed over unlocked (that claim's gathering takes
-- it). It is tried on each row the walk reads, so the walk must be the ordered
-- index scan: a plan that filters before it sorts tries it on every due row
-- (with 170,000 due and statistics taking them for a few hundred, the server
-- ran out of its lock table), which is one reason a large sweep refreshes the
-- statistics (expiry/sql/analyze_written.sql).
ready as (
  select p.id, p.organization_id, p.notification_id, p.recipient_id, p.payload, p.collapse_key,
         p.attempts, p.last_error, p.created_at, p.budget_day, p.sent_payload
  from public.push_notices p
  where p.status = 'pending' and p.available_at <= %(now)s
    and (p.sent_payload is not null
         or pg_try_advisory_xact_lock(hashtext('push_notices'), hashtext(p.recipient_id::text)))
  order by p.available_at
  limit %(limit)s
  for update of p skip locked
),
picked as (
  select * from (select e.*, 0 as rank from expired e union all select r.*, 1 from ready r) both_kinds
  order by rank
  limit %(limit)s
),
-- The recipients' other due notices not yet carried, on the recipient index.
mates as (
  select p.id, p.organization_id, p.notification_id, p.recipient_id, p.payload, p.collapse_key,
         p.attempts, p.last_error, p.created_at, p.budget_day, p.sent_payload
  from (select distinct recipient_id, organization_id from picked where sent_payload is null) s
  join public.push_notices p
    on p.recipient_id = s.recipient_id and p.organization_id = s.organization_id
  where p.status = 'pending' and p.available_at <= %(now)s and p.sent_payload is null
    and p.id not in (select id from picked)
  for update of p skip locked
),
due as (
  select c.*, o.timezone, o.push_daily_budget as budget,
         private.local_date(%(now)s, o.timezone) as today,
         coalesce(pp.window_start, o.push_window_start) as opens,
         coalesce(pp.window_end, o.push_window_end) as closes,
         -- Whether the recipient's send window is closed now.
         private.push_send_time(%(now)s, o.timezone, coalesce(pp.window_start, o.push_window_start),
                                coalesce(pp.window_end, o.push_window_end)) > %(now)s
           as after_hours,
         c.sent_payload is null
           and coalesce(c.payload ->> 'category' = any (pp.muted_categories), false) as muted,
         coalesce(c.payload -> 'data' ->> 'tier' = any (o.push_immediate_tiers), false) as immediate,
         exists (
           select 1 from public.device_tokens d
           where d.user_id = c.recipient_id
             and not exists (
               select 1 from public.push_deliveries x
               where x.notice_id = c.id and x.device_token_id = d.id
                 and x.status in ('sent', 'failed', 'unregistered')
             )
         ) as has_device,
         exists (select 1 from public.push_deliveries x where x.notice_id = c.id and x.status = 'sent')
           as reached,
         exists (select 1 from public.push_deliveries x where x.notice_id = c.id) as tried
  from (
    select id, organization_id, notification_id, recipient_id, payload, collapse_key, attempts,
           last_error, created_at, budget_day, sent_payload
    from picked
    union all
    select * from mates
  ) c
  join public.organizations o on o.id = c.organization_id
  left join public.push_preferences pp on pp.user_id = c.recipient_id
),
judged as (
  select d.*,
         case
           when d.attempts >= %(max_attempts)s then 'dead'
           when d.muted then 'skipped'
           when not d.immediate and d.after_hours then 'held'
           when not d.has_device then 'no_device'
           when d.sent_payload is not null then 'resend'
           else 'go'
         end as verdict
  from due d
),
-- One budget decision per person and organisation for their notices to push.
-- The budget is a budget of the send window: a push that goes while the
-- window is closed (an immediate tier at night; nothing else goes then)
-- neither needs nor spends it, so it cannot make that local day's regular
-- notices miss their window.
groups as (
  select j.recipient_id, j.organization_id, j.today, j.timezone, j.opens, j.closes,
         j.after_hours, max(j.budget) as budget, bool_or(j.immediate) as immediate
  from judged j
  where j.verdict = 'go'
  group by j.recipient_id, j.organization_id, j.today, j.timezone, j.opens, j.closes,
           j.after_hours
),
-- The ledger rows that exist, locked in one order so two dispatchers deciding
-- for the same people queue up instead of deadlocking.
ledger as (
  select b.recipient_id, b.organization_id
  from public.push_budget_days b
  join groups g
    on g.recipient_id = b.recipient_id and g.organization_id = b.organization_id
   and g.today = b.local_day and not g.after_hours
  order by b.recipient_id, b.organization_id
  for update of b
),
-- Spend one push where budget is left or an immediate tier is due; the
-- condition is checked again on the newest row version, so of two
-- dispatchers only one spends a person's last push.
spent as (
  update public.push_budget_days b
  set used = b.used + 1
  from groups g
  where g.recipient_id = b.recipient_id and g.organization_id = b.organization_id
    and g.today = b.local_day
    and (b.used < g.budget or g.immediate)
    and (b.recipient_id, b.organization_id) in (select recipient_id, organization_id from ledger)
  returning b.recipient_id, b.organization_id
),
-- A person's first push of the day opens their row. If another dispatcher
-- opened it meanwhile, nothing is decided for them now: their notices stay
-- due and the next claim decides.
opened as (
  insert into public.push_budget_days (recipient_id, organization_id, local_day, used)
  select g.recipient_id, g.organization_id, g.today, 1
  from groups g
  where not g.after_hours
    and not exists (
    select 1 from ledger l
    where l.recipient_id = g.recipient_id and l.organization_id = g.organization_id
  )
  order by g.recipient_id, g.organization_id
  on conflict do nothing
  returning recipient_id, organization_id
),
group_verdicts as (
  select g.*,
         case
           when g.after_hours then 'push'
           when exists (select 1 from spent s
                        where s.recipient_id = g.recipient_id and s.organization_id = g.organization_id)
             or exists (select 1 from opened s
                        where s.recipient_id = g.recipient_id and s.organization_id = g.organization_id)
             then 'push'
           when exists (select 1 from ledger s
                        where s.recipient_id = g.recipient_id and s.organization_id = g.organization_id)
             then 'budget_held'
           else 'undecided'
         end as verdict
  from groups g
),
-- The notices of each push, the most urgent first: it carries the push.
pushed as (
  select j.id, j.recipient_id, j.organization_id, j.notification_id, j.payload, j.today,
         first_value(j.id) over w as carrier_id,
         count(*) over (partition by j.recipient_id, j.organization_id) as size
  from judged j
  join group_verdicts g
    on g.recipient_id = j.recipient_id and g.organization_id = j.organization_id
  where j.verdict = 'go' and g.verdict = 'push'
  window w as (partition by j.recipient_id, j.organization_id
               order by private.push_urgency(j.payload) desc, j.created_at, j.id)
),
-- A push of several notices sends a digest: the carrier's title, how many
-- notices of each message key, and the list to open.
digests as (
  select k.carrier_id,
         jsonb_build_object(
           'category', c.payload ->> 'category',
           'title_key', c.payload ->> 'title_key',
           'body_key', 'digest.body',
           'priority', case when k.high then 'high' else 'normal' end,
           'data', jsonb_build_object(
             'notification_id', c.notification_id,
             'category', 'digest',
             'count', k.size,
             'counts', k.counts,
             'deep_link', private.digest_link(k.about_others)
           )
         ) as body
  from (
    select m.carrier_id, sum(m.n)::integer as size, jsonb_object_agg(m.message_key, m.n) as counts,
           bool_and(m.about_others) as about_others, bool_or(m.high) as high
    from (
      select p.carrier_id, n.message_key, count(*) as n,
             bool_and(n.subject_mentor_id <> n.recipient_id) as about_others,
             bool_or(p.payload ->> 'priority' = 'high') as high
      from pushed p
      join public.notifications n on n.id = p.notification_id
      where p.size > 1
      group by p.carrier_id, n.message_key
    ) m
    group by m.carrier_id
  ) k
  join pushed c on c.id = k.carrier_id
),
decided as (
  select j.id, j.notification_id, j.recipient_id,
         case
           when j.verdict = 'go' and g.verdict = 'push' then
             case when p.carrier_id = j.id then 'claimed' else 'folded' end
           when j.verdict = 'go' then g.verdict
           when j.verdict = 'resend' then 'claimed'
           else j.verdict
         end as decision,
         case
           when j.verdict = 'go' and g.verdict = 'push' and p.carrier_id <> j.id then p.carrier_id
         end as carried_by,
         case
           when j.verdict = 'go' and g.verdict = 'push' and p.carrier_id = j.id
             then coalesce(dg.body, j.payload)
         end as first_body,
         case
           when j.verdict = 'held' then private.push_send_time(%(now)s, j.timezone, j.opens, j.closes)
           -- The next local day's window.
           when j.verdict = 'go' and g.verdict = 'budget_held' then private.push_send_time(
             ((j.today + 1)::timestamp at time zone j.timezone), j.timezone, j.opens, j.closes)
         end as wait_until,
         case when not g.after_hours then j.today end as budget_day,
         j.reached, j.tried
  from judged j
  left join group_verdicts g
    on j.verdict = 'go' and g.recipient_id = j.recipient_id and g.organization_id = j.organization_id
  left join pushed p on p.id = j.id
  left join digests dg on dg.carrier_id = j.id
),
moved as (
  update public.push_notices n
  set status = case d.decision
                 when 'claimed' then 'in_flight'
                 when 'folded' then 'folded'
                 when 'held' then 'pending'
                 when 'budget_held' then 'pending'
                 when 'skipped' then 'skipped'
                 when 'dead' then 'dead'
                 when 'no_device' then case when d.reached then 'sent'
                                            when d.tried then 'failed'
                                            else 'skipped' end
               end,
      available_at = coalesce(d.wait_until, n.available_at),
      leased_until = case when d.decision = 'claimed' then %(now)s + %(lease)s end,
      leased_by = case when d.decision = 'claimed' then %(worker)s end,
      attempts = n.attempts + case when d.decision = 'claimed' then 1 else 0 end,
      carried_by = d.carried_by,
      sent_payload = coalesce(n.sent_payload, d.first_body),
      budget_day = case when d.decision = 'claimed' then coalesce(n.budget_day, d.budget_day) end,
      last_error = case d.decision
                     when 'dead' then coalesce(n.last_error, 'LEASE_EXPIRED')
                     when 'no_device' then case when d.reached then n.last_error else 'NO_DEVICE' end
                     when 'skipped' then null
                     else n.last_error
                   end,
      settled_at = case when d.decision in ('skipped', 'dead', 'no_device') then %(now)s end
  from decided d
  where n.id = d.id and d.decision <> 'undecided'
  returning n.id, n.organization_id, n.notification_id, n.recipient_id, n.status, n.sent_payload,
            n.collapse_key, n.attempts, n.last_error, d.decision
),
-- A carrier given up on here (dead, or no device left) settles the notices
-- folded into it.
settled_folded as (
  update public.push_notices f
  set settled_at = %(now)s
  from moved m
  where f.carried_by = m.id and f.status = 'folded' and f.settled_at is null
    and m.decision in ('dead', 'no_device')
  returning f.id, f.notification_id, m.id as carrier_id, m.status as carrier_status, m.last_error
),
finished as (
  select m.id as carrier_id, m.notification_id, m.recipient_id, m.status, m.last_error
  from moved m
  where m.decision in ('skipped', 'dead', 'no_device')
  union all
  select f.carrier_id, f.notification_id, m.recipient_id, f.carrier_status, f.last_error
  from settled_folded f
  join moved m on m.id = f.carrier_id
),
notified as (
  update public.notifications n
  set status = case f.status when 'sent' then 'sent' when 'skipped' then 'skipped' else 'failed' end,
      status_changed_at = %(now)s
  from finished f
  where n.id = f.notification_id
    and n.status is distinct from
        (case f.status when 'sent' then 'sent' when 'skipped' then 'skipped' else 'failed' end)
  returning 1
),
-- The scenario bookkeeping of what was settled here (the settle statement
-- does the same for pushes sent): one function, private.record_scenario_outcomes.
scenario as (
  select private.record_scenario_outcomes(coalesce(jsonb_agg(jsonb_build_object(
           'notification_id', f.notification_id,
           'outcome', case f.status when 'sent' then 'sent' when 'skipped' then 'skipped' else 'failed' end,
           'channels', coalesce(
             (select array_agg(distinct x.provider) from public.push_deliveries x
              where x.notice_id = f.carrier_id),
             (select array_agg(distinct d.provider) from public.device_tokens d
              where d.user_id = f.recipient_id),
             '{}'),
           'failure_reason', f.last_error)), '[]'), %(now)s) as changed
  from finished f
  having count(*) > 0
),
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
       m.attempts, t.token
from delivering dl
join moved m on m.id = dl.notice_id
join targets t on t.notice_id = dl.notice_id and t.device_token_id = dl.device_token_id
union all
select m.decision, null, m.id, m.notification_id, m.recipient_id, null, null, null, null, null,
       null, null
from moved m
where m.decision <> 'claimed'
union all
-- Read so the scenario bookkeeping runs (a plain CTE runs only when read):
-- how many scenario notifications it settled.
select 'scenario', null, null, null, null, null, null, null, null, null, s.changed, null
from scenario s
