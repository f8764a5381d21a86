-- pgls-ignore-all lint/safety/runningStatementWhileHoldingAccessExclusive: the
-- ledger's keys change in one transaction (its foreign keys, its index, its
-- primary key's order), so later statements run under the lock of earlier
-- ones by design; the ledger holds a row per person and day, and the timeouts
-- below bound the wait.

-- The push budget's ledger without foreign keys (issue 25, fourth pass). The
-- current definition is in supabase/schemas/04_notifications_and_push.sql;
-- the baseline carries it too, so applying it again does not undo this
-- migration. Idempotent.
--
-- A person's first push of a day inserts their ledger row. Its two foreign
-- keys cost a key check on organizations, a key check on users that locks
-- the person's row (a WAL record and a dirtied page), and an entry in the
-- organisation index: 1,258 k to 1,184 k server instructions per pushed
-- message (-6 %, callgrind, 5,000 messages, 2026-12-07). A row is read only
-- on its own day, so the cascade they gave is replaced by the retention job,
-- which now prunes the ledger with the settled pushes; the primary key leads
-- with the day so that those batches walk it oldest first. The claim's
-- look-up names all three columns, so it uses the key in either order.
set local lock_timeout = '5s';
set local statement_timeout = '5min';
set local idle_in_transaction_session_timeout = '1min';

alter table public.push_budget_days
  drop constraint if exists push_budget_days_recipient_id_fkey,
  drop constraint if exists push_budget_days_organization_id_fkey;
-- pgls-ignore lint/safety/requireConcurrentIndexDeletion: CONCURRENTLY cannot run in the migration's transaction; dropping an index reads nothing, so the lock lasts a moment.
drop index if exists public.push_budget_days_organization_id_idx;

-- Only while the key does not lead with the day yet: applied again, it would
-- rebuild the index for nothing.
do $key$
begin
  if (select a.attname from pg_catalog.pg_index i
      join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
      where i.indexrelid = 'public.push_budget_days_pkey'::regclass) <> 'local_day' then
    alter table public.push_budget_days
      drop constraint push_budget_days_pkey,
      add constraint push_budget_days_pkey primary key (local_day, recipient_id, organization_id);
  end if;
end
$key$;
