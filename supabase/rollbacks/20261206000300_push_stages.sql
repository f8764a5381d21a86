-- Rollback of 20261206000300_push_stages: the one way into the push queue goes
-- (the producers' statements of the previous release insert themselves), the
-- index of pending scenario notifications goes, and
-- the ledger's comment says again that every push counts. Idempotent.
drop function if exists private.enqueue_push(jsonb, timestamptz);
drop index if exists public.scenario_notifications_pending_idx;
comment on column public.push_budget_days.used is
  'Pushes sent to the person that day (immediate tiers included, even past the budget).';
