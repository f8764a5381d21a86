-- Stage "budget" of the claim statement: decides, per person and
-- organisation, whether the notices the policy let go make a push now or wait
-- for the next local day. The budget is organizations.push_daily_budget
-- pushes per organisation-local day, kept in push_budget_days. With budget
-- left, or a notice of an immediate tier among them, one push goes now and
-- counts; else all wait for the window of the next local day. Only pushes
-- sent inside the send window count: an immediate tier sent while it is
-- closed goes without.
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
    -- IS TRUE keeps the IN a hashed subplan rather than a join the planner
    -- would run as one scan of the ledger rows per person.
    and ((b.recipient_id, b.organization_id) in (select recipient_id, organization_id from ledger))
        is true
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
    -- NOT IN is a hashed subplan; NOT EXISTS was one scan of the ledger rows
    -- per person (neither column is ever null).
    and (g.recipient_id, g.organization_id) not in (
      select l.recipient_id, l.organization_id from ledger l)
  order by g.recipient_id, g.organization_id
  on conflict do nothing
  returning recipient_id, organization_id
),
-- The person's verdict, looked up in the rows just spent, opened or locked.
-- Written as IN inside the CASE, which PostgreSQL runs as a hashed subplan
-- (one hash table per statement); EXISTS here was a scan of those rows per
-- person, and with 500 people a claim spent most of its time there.
group_verdicts as (
  select g.*,
         case
           when g.after_hours then 'push'
           when (g.recipient_id, g.organization_id) in (select recipient_id, organization_id from spent)
             or (g.recipient_id, g.organization_id) in (select recipient_id, organization_id from opened)
             then 'push'
           when (g.recipient_id, g.organization_id) in (select recipient_id, organization_id from ledger)
             then 'budget_held'
           else 'undecided'
         end as verdict
  from groups g
)
