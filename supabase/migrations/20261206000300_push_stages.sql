-- The push pipeline in stages (issue 25): one way into the queue, the index
-- the scenarios' catch-up reads, and the daily budget as one of the window.
--
-- 1. private.enqueue_push is the only writer of push_notices. Every producer
--    (the expiry sweep, the scenario engine) hands it the notices to push, so
--    what a queued push must carry, and that a repeat is a no-op, is decided
--    in one place; the push package owns its own input.
-- 2. Scenario notifications still pending are indexed: the scenarios'
--    reaction to settled pushes (scenarios/sql/push_outcomes.sql) catches up,
--    when a dispatcher starts, with pushes that settled while it did not run,
--    reading only the pending ones (a handful) of a table of millions.
-- 3. push_budget_days.used counts pushes sent inside the recipient's send
--    window only: an immediate tier sent at night no longer spends the day's
--    budget (push/sql/budget.sql decides it; this only says so). The
--    baseline says the same (so re-applying it undoes nothing); this is for a
--    database that ran the baseline before it did.
--
-- Locks: the index build holds a SHARE lock on scenario_notifications (writes
-- wait) for one pass; as in 20261129000800, give up rather than queue behind
-- a long transaction, and run the migration again if the lock is not granted.
--
-- Grants: the function is the owner's, called by the jobs as the owner;
-- nobody else may execute it (as for the other private push functions).
-- Idempotent: "create or replace", "if not exists" and "comment on".

set local lock_timeout = '5s';
set local statement_timeout = '10min';
set local idle_in_transaction_session_timeout = '1min';

-- Its current definition (migration 20261207000300 gave it the typed form
-- below, so re-applying this file leaves it as it is).
-- One push to queue, as a producer hands it over: the notification it
-- announces, its organisation and recipient, the payload it sends and the
-- collapse key. A typed row, so a producer's set reaches the queue as an
-- array, read back by unnest without being written out as JSON and parsed
-- again (issue 28: 14 us a push, 4 s of a million-certificate first run).
do $$
begin
  if to_regtype('private.push_notice_in') is null then
    create type private.push_notice_in as (
      notification_id uuid,
      organization_id uuid,
      recipient_id uuid,
      payload jsonb,
      collapse_key text
    );
  end if;
end
$$;
comment on type private.push_notice_in is
  'One push handed to private.enqueue_push: notification_id, organization_id, recipient_id, payload, collapse_key.';
revoke all on type private.push_notice_in from public;

create or replace function private.enqueue_push(notices private.push_notice_in[], at timestamptz)
returns integer
language sql
volatile
set search_path = ''
as $$
  -- One notice per notification: its recipient, organisation, the payload the
  -- push sends (translation keys, ids, the deep link) and the collapse key.
  -- Devices are not fixed here: they are read when the push is sent.
  with queued as (
    insert into public.push_notices (
      organization_id, notification_id, recipient_id, payload, collapse_key, status,
      available_at, created_at
    )
    select n.organization_id, n.notification_id, n.recipient_id, n.payload, n.collapse_key,
           'pending', at, at
    from pg_catalog.unnest(notices) as n
    on conflict do nothing
    returning 1
  )
  select count(*)::integer from queued
$$;
comment on function private.enqueue_push(private.push_notice_in[], timestamptz) is
  'The one way into the push queue: queues the pushes given (private.push_notice_in) as pending notices due at `at`; a notification already queued is left alone. Returns how many were queued.';
revoke all on function private.enqueue_push(private.push_notice_in[], timestamptz)
  from public, anon, authenticated, service_role;

-- The same, for a producer that builds its pushes as one JSON array of
-- {notification_id, organization_id, recipient_id, payload, collapse_key}
-- objects (the scenario engine): read into the typed rows and queued by the
-- function above, which stays the only writer of push_notices.
create or replace function private.enqueue_push(notices jsonb, at timestamptz)
returns integer
language sql
volatile
set search_path = ''
as $$
  select private.enqueue_push(
           array(select n from pg_catalog.jsonb_populate_recordset(null::private.push_notice_in, notices) as n),
           at)
$$;
comment on function private.enqueue_push(jsonb, timestamptz) is
  'The one way into the push queue for a JSON array of {notification_id, organization_id, recipient_id, payload, collapse_key}: queued by enqueue_push(push_notice_in[], timestamptz). Returns how many were queued.';
revoke all on function private.enqueue_push(jsonb, timestamptz)
  from public, anon, authenticated, service_role;

comment on column public.push_budget_days.used is
  'Pushes sent to the person that day while their send window was open (immediate tiers included, even past the budget); a push sent while it is closed counts on no day.';

create index if not exists scenario_notifications_pending_idx
  on public.scenario_notifications (id) where delivery_status = 'pending';
comment on index public.scenario_notifications_pending_idx is
  'Lets the scenarios'' reaction to settled pushes find the scenario notifications still pending without reading the others.';
