-- Stage "policy" of the claim statement: decides, per notice taken, whether
-- it may go now. Out of attempts (`attempts` counts claims, and never passes
-- %(max_attempts)s) it is dead; of a category the recipient muted it is
-- skipped (the in-app notice stands); outside the send window (theirs, else
-- their organisation's, in its timezone) it is held until the window opens,
-- unless its tier is one the organisation sends at once; with no device left
-- to try it is settled as such (settle_unsent.sql). A notice already carried
-- (a retry, or a lease that ran out) sends the body fixed at its first claim
-- (sent_payload) on its own, and uses no budget.
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
  -- A left join, though every notice has its organisation (a foreign key): as
  -- an inner join PostgreSQL took the due notices for a handful of rows, and
  -- the stages after this one then compared every row with every other
  -- (nested loops over hundreds of rows, quadratic in the claim's size).
  left join public.organizations o on o.id = c.organization_id
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
)
