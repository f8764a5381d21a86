-- One notice about a certificate a day, and notices that can be pruned
-- (issue 16).
--
-- 1. The expiry sweep's due rule, written once: private.expiry_due_tier says
--    which tier's notice the sweep sends a certificate today (its tier today,
--    unless that tier was already sent in the current expiry cycle). The
--    sweep's candidates query and the certification-expiry follow-up scenario
--    both call it: the follow-up stands aside on a day the sweep will tell
--    the mentor about the same certificate.
-- 2. certification_expiry_tracking.last_notified_on: the organisation-local
--    business day the sweep last told about the certificate, written with the
--    tier mark. The follow-up stands aside on that day too (the sweep ran
--    first). last_notified_at is the real clock and cannot say which business
--    day a catch-up or test run decided for.
-- 3. An index on notifications.created_at, for `maintenance prune`'s batches
--    of old notices (oldest first, without scanning the inbox table).
--
-- Grants: the new column is covered by the table grants of
-- 20261129000030_certifications (service_role only); the function is the
-- jobs' own, EXECUTE taken from everyone else as for the other rule
-- functions. Idempotent: "if not exists" and "create or replace".
--
-- Locks: the index build holds a SHARE lock on notifications (writes wait)
-- for one pass over the table, and adding the column an ACCESS EXCLUSIVE lock
-- on certification_expiry_tracking for a catalog change only (nullable, no
-- default: no rewrite). So, as in 20261129000070: give up at once rather than
-- queue behind a long transaction (a sweep), never hold them indefinitely,
-- and take the exclusive lock last. If a lock is not granted in time, run the
-- migration again.

create or replace function private.expiry_due_tier(
  days_left integer, thresholds integer[], tiers_sent integer[]
)
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  -- Once per tier per expiry cycle: the tier the certificate is in today
  -- (private.expiry_tier), unless its days are already among the tiers sent
  -- (certification_expiry_tracking.notification_thresholds_sent).
  select case when not (private.expiry_tier_days(t.tier) = any (tiers_sent)) then t.tier end
  from (select private.expiry_tier(days_left, thresholds) as tier) t
$$;
comment on function private.expiry_due_tier(integer, integer[], integer[]) is
  'The tier whose notice the expiry sweep sends a certificate today (days_left days to expiry, the organisation''s thresholds, the tiers already sent in this expiry cycle), or null when none is due. The sweep''s due rule; the certification follow-up stands aside when it is not null. Composed of private.expiry_tier and private.expiry_tier_days.';

revoke all on function private.expiry_due_tier(integer, integer[], integer[])
from public, anon, authenticated, service_role;

set local lock_timeout = '5s';
set local statement_timeout = '10min';
set local idle_in_transaction_session_timeout = '1min';

create index if not exists notifications_created_at_idx on public.notifications (created_at);
comment on index public.notifications_created_at_idx is
  'Lets maintenance prune find notices past the notification retention oldest first, a batch at a time.';

alter table public.certification_expiry_tracking
  add column if not exists last_notified_on date;
-- pgls-ignore lint/safety/runningStatementWhileHoldingAccessExclusive: a comment is a catalog write of a moment, and the transaction ends right after it.
comment on column public.certification_expiry_tracking.last_notified_on is
  'Organisation-local business day on which the sweep last told about this certificate (the day it decided for, which a catch-up run may set apart from last_notified_at); the certification follow-up stands aside on that day, so nobody hears twice about one certificate in a day.';
