-- pgls-ignore-all lint/safety/runningStatementWhileHoldingAccessExclusive: this
-- migration changes the push queue's tables in one transaction (constraints,
-- column types, indexes, storage settings), so later statements run under the
-- locks of earlier ones by design; the queue is pruned, so it is small, and
-- the timeouts below bound the wait.

-- Database work per pushed message (issue 25, fourth pass): what each message
-- writes. The current definitions are in
-- supabase/schemas/04_notifications_and_push.sql; the baseline carries them
-- too, so applying it again does not undo this migration. Idempotent.
--
-- Measured with callgrind on the server (instructions per message, 5,000
-- messages dispatched, bench/bench_push.py's world; 2026-12-07): 1,620 k
-- before, of which
--   * the CHECKs on push_notices' two bodies, run on every update of a notice
--     (its lease and its settle), the privacy walk among them: ~145 k. As a
--     domain, private.push_body, they run only where a body is written: when
--     a notice is queued (the notice's own body, now checked for personal data
--     too) and when its claim fixes the body it sends;
--   * the settle's update of each delivery, a new row version in another page
--     with an entry in each of its four indexes. With room left on each page
--     (fillfactor 50) it is heap-only. The same for notifications' status
--     update saved as much again in the push, but cost the expiry sweep as much
--     more (its inserts over twice the pages), so it was not kept;
--   * the foreign keys and indexes of push_notices.organization_id,
--     push_notices.recipient_id and push_deliveries.organization_id, which
--     repeat what notification_id's and notice_id's cascades already do:
--     two index entries for each row version of a notice: ~65 k.
set local lock_timeout = '5s';
set local statement_timeout = '5min';
set local idle_in_transaction_session_timeout = '1min';

do $domain$
begin
  if to_regtype('private.push_body') is null then
    create domain private.push_body as jsonb
      constraint push_body_check check (jsonb_typeof(value) = 'object' and octet_length(value::text) <= 4096)
      constraint push_body_privacy_check check (not private.contains_personal_data(value));
  end if;
end
$domain$;
comment on domain private.push_body is
  'A push body: a JSON object of at most 4 KiB (the FCM limit) holding keys, ids and counts, never personal data.';
comment on constraint push_body_check on domain private.push_body is 'a push body must be a JSON object of at most 4 KiB';
comment on constraint push_body_privacy_check on domain private.push_body is
  'a push body holds ids, keys and counts only, never a national identity number, an e-mail address or a phone number';

alter table public.push_notices
  drop constraint if exists push_notices_payload_check,
  drop constraint if exists push_notices_sent_payload_check,
  drop constraint if exists push_notices_organization_id_fkey,
  drop constraint if exists push_notices_recipient_id_fkey;
-- Only while the bodies are still plain jsonb: the change checks every row
-- against the domain (the queue is pruned, so it is small; the lock timeout
-- above bounds the wait for it), and applied again it would do so for nothing.
do $types$
begin
  if (select a.atttypid from pg_catalog.pg_attribute a
      where a.attrelid = 'public.push_notices'::regclass and a.attname = 'payload')
     <> 'private.push_body'::regtype then
    alter table public.push_notices
      alter column payload type private.push_body using payload::private.push_body,
      alter column sent_payload type private.push_body using sent_payload::private.push_body;
  end if;
end
$types$;
-- pgls-ignore lint/safety/requireConcurrentIndexDeletion: CONCURRENTLY cannot run in the migration's transaction; dropping an index reads nothing, so the lock lasts a moment.
drop index if exists public.push_notices_organization_id_idx;
-- pgls-ignore lint/safety/requireConcurrentIndexDeletion: as above.
drop index if exists public.push_notices_recipient_id_idx;

-- Pages written from now on keep half their room for the delivery's one
-- update; existing pages stay as they are until rewritten.
-- pgls-ignore lint/safety/avoidWideLockWindow: the deliveries go with the queue's notices (pruned with them, so small), and this is a catalog change of a moment.
alter table public.push_deliveries
  drop constraint if exists push_deliveries_organization_id_fkey,
  set (fillfactor = 50);
-- pgls-ignore lint/safety/requireConcurrentIndexDeletion: as above.
drop index if exists public.push_deliveries_organization_id_idx;
