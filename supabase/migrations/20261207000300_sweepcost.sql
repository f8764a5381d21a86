-- The expiry sweep's write cost (issue 28, continued).
--
-- 1. The push queue's one way in takes typed rows. private.enqueue_push
--    (issue 25) read its pushes from one JSON array (jsonb_agg by the
--    producer, jsonb_to_recordset here): every push written out as JSON text
--    and parsed back, about 14 us a push, some 4 s of a first run at a
--    million certificates (260,000 pushes). enqueue_push(push_notice_in[],
--    timestamptz) takes them as an array of a composite type, read by unnest;
--    the expiry sweep (expiry/sql/enqueue.sql) hands its pushes over that way.
--    The JSON form stays for the scenario engine and now reads its array into
--    the same rows and calls the typed form, so the typed form is the only
--    statement that writes push_notices (tests/unit/test_push_one_way_in.py).
--    Measured (BENCHMARKS.md, issue 28).
--
-- 2. Tier marks stay non-HOT: ticket 000's GIN index on
--    certification_expiry_tracking.notification_thresholds_sent stays. The
--    ticket asks for it by name ("A GIN index is added on
--    notification_thresholds_sent to support @> queries"; "must make
--    `@> ARRAY[60]` queries index-bound"), and supabase/tests/00_schema_shape.sql
--    and explain_plans.sql hold it to that. No statement in src/ searches the
--    array (write_notices.sql, candidates.sql, hits_certification_expiry.sql
--    read it on rows found by organisation and expiry date), so it serves the
--    ticket's query alone. PostgreSQL updates a row heap-only
--    only when no column any index references changes (PostgreSQL 15
--    documentation, "Heap-Only Tuples (HOT)",
--    https://www.postgresql.org/docs/15/storage-hot.html, checked
--    2026-12-07; only BRIN is exempt, from version 16), and a tier mark
--    changes the indexed array: with the GIN index no fillfactor makes it
--    HOT. Measured (BENCHMARKS.md, issue 28): 2,500 tier marks on fresh
--    copies of a 10,000-row tracking table, 5 alternating runs, medians:
--    with the indexes before this migration 456 ms; after it (3.) 293 ms;
--    without the GIN index, fillfactor 90, 132 ms (1,020 of them heap-only).
--    The ticket's index is kept; what follows makes each non-HOT tier mark
--    write fewer index entries instead.
--
-- 3. Two indexes of certification_expiry_tracking go: each tier mark (not
--    heap-only, see 2.) and each new row wrote an entry into them, and
--    neither serves anything another index does not:
--    * certification_expiry_tracking_organization_id_idx (organization_id):
--      the organisation's deletes (its foreign key) and any read by
--      organisation use certification_expiry_tracking_organization_id_expiry_date_idx,
--      whose first column it is.
--    * certification_expiry_tracking_certification_fkey_idx (certification_id,
--      organization_id, peer_mentor_id, certificate_type, expiry_date): the
--      certificate's cascades (its five-column foreign key) find the one row
--      through certification_expiry_tracking_certification_id_key, unique on
--      certification_id. The schema test's rule "every foreign key is
--      indexed" now also accepts a unique index on some of the key's columns.
--    Every other object on the four tables the sweep writes is kept, each for
--    a guarantee a ticket or test names (migration 20261206000200, section
--    3, says which): the foreign keys (erasure cascades; nothing points at a
--    person who does not exist), the CHECKs (valid data for the app; no
--    personal data, ticket 000's certificate type codes), the unique keys
--    (idempotency, ticket 004's duplicate index) and the indexes the inbox,
--    the claim, the retention prunes and the foreign keys' deletes read.
--
-- Grants: the functions are the owner's, called by the jobs as the owner;
-- nobody else may execute them or use the type. Idempotent: the type is
-- created only when missing, the functions by "create or replace".
--
-- Current definitions: supabase/schemas/04_notifications_and_push.sql and
-- 03_certifications.sql. 20261206000300 carries the same text of the
-- functions, and the baseline no longer creates the two indexes, so
-- re-applying either undoes nothing.
--
-- Locks: dropping an index takes an ACCESS EXCLUSIVE lock on the tracking
-- table for a moment (no scan); as in 20261206000400, give up rather than
-- queue behind a long transaction, and run the migration again if the lock
-- is not granted.

set local lock_timeout = '5s';
set local statement_timeout = '10min';
set local idle_in_transaction_session_timeout = '1min';

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

-- pgls-ignore lint/safety/requireConcurrentIndexDeletion: CONCURRENTLY cannot run in the migration's transaction; dropping an index reads nothing, so the lock lasts a moment.
drop index if exists public.certification_expiry_tracking_organization_id_idx;
-- pgls-ignore lint/safety/requireConcurrentIndexDeletion: as above.
drop index if exists public.certification_expiry_tracking_certification_fkey_idx;
