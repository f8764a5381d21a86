-- Stage "claim" of the claim statement (push/outbox.py joins the stages, in
-- this order, into one statement: claim, policy, budget, digest, decide,
-- settle_unsent, resolve; each file holds its stage's common table
-- expressions). It decides which notices this dispatcher takes now, and
-- nothing about them: pending notices whose time has come, and in-flight ones
-- whose lease ran out (their dispatcher died), up to %(limit)s of them (the
-- dispatcher asks for what its send slots can carry, push/capacity.py), then
-- every other due notice of the same recipients in the same organisation, so
-- what is due for one person is decided and goes in one push. SKIP LOCKED
-- lets dispatchers claim side by side; the lease makes a claim last beyond
-- this transaction, so a crashed dispatcher's pushes come back after
-- %(lease)s. Every row the statement returns says what was decided.
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
)
