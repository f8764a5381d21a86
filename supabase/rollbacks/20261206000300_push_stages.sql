-- Rollback of 20261206000300_push_stages: the one way into the push queue goes
-- (the producers' statements of the previous release insert themselves), and
-- the index of pending scenario notifications goes. The ledger's comment
-- stays: the baseline says the same since the merge with supabase/schemas/
-- (re-applying the baseline must not undo it). Idempotent.
drop function if exists private.enqueue_push(jsonb, timestamptz);
drop index if exists public.scenario_notifications_pending_idx;
drop function if exists private.enqueue_push(private.push_notice_in[], timestamptz);
drop type if exists private.push_notice_in;
