-- The in-app inbox (public.notifications), live and countable:
--
--   1. Live updates without polling. Each signed-in person receives the
--      changes of their own inbox on the private Realtime channel
--      `inbox:<their user id>`: a row trigger calls
--      realtime.broadcast_changes() when a notification is created or its
--      seen/read/archived marks change, and a policy on realtime.messages lets
--      a person join only the channel named after their own id.
--   2. The badge. One partial index holds exactly the inbox's unread notices
--      (read_at and archived_at null) per recipient, so the app's PostgREST
--      count requests (unread, and unseen = unread and not yet seen) and its
--      "mark all as read" PATCH reach only those rows.
--
-- Why Broadcast and not Postgres Changes: Supabase recommends Broadcast for
-- subscribing to database changes "for scalability and security"; Postgres
-- Changes "does not scale as well", because every change is authorised
-- against every subscriber one by one, on a single thread (Supabase guides
-- "Subscribing to Database Changes" and "Postgres Changes", section
-- "Limitations"; checked 2026-11-29). With Broadcast the authorisation
-- happens once, when a person joins their channel, through RLS on
-- realtime.messages (Supabase guide "Realtime Authorization"; checked
-- 2026-11-29). So public.notifications is deliberately NOT added to the
-- supabase_realtime publication: that would deliver every change a second
-- time through Postgres Changes.
--
-- Where Realtime does not exist (plain PostgreSQL for local work and tests:
-- no `realtime` schema), the Realtime part is skipped by the guards below and
-- only the index is created; the file applies unchanged everywhere. It grants
-- nothing: the app already holds SELECT on notifications and UPDATE of
-- seen_at/read_at/archived_at (04_notifications_and_push.sql), and
-- realtime.messages and its privileges belong to the platform.

-- ---------------------------------------------------------------------------
-- The badge and "mark all as read".
-- PostgREST adds the read policy's `recipient_id = (select auth.uid())` to the
-- app's filters `read_at=is.null&archived_at=is.null` (unread) and
-- `seen_at=is.null&read_at=is.null&archived_at=is.null` (unseen). Without this
-- index each request walks all of the person's notifications through
-- notifications_recipient_id_created_at_idx and reads every row to discard
-- the read ones; with it, only the unread entries (a few per person, however
-- long the history) are touched, and a count needs no table access once the
-- pages are all-visible. Partial on the unread rows, so it stays small: a
-- notice leaves it when it is read or archived.
-- ---------------------------------------------------------------------------
create index if not exists notifications_unread_idx
  on public.notifications (recipient_id, seen_at)
  where read_at is null and archived_at is null;
comment on index public.notifications_unread_idx is
  'The inbox badge: each recipient''s unread, unarchived notifications (seen_at for the unseen count); serves the app''s count requests and its "mark all as read".';

-- ---------------------------------------------------------------------------
-- Live inbox over Realtime Broadcast (only where Supabase Realtime exists).
-- ---------------------------------------------------------------------------
do $guard$
begin
  if to_regprocedure('realtime.broadcast_changes(text, text, text, text, text, record, record, text)') is null then
    raise notice 'live inbox: realtime.broadcast_changes() does not exist here (not Supabase); no broadcast trigger';
    return;
  end if;

  -- SECURITY DEFINER, as Supabase's guide writes it: the trigger also fires
  -- when a person marks their own notice read (role authenticated), and the
  -- message must be written to realtime.messages whatever that person may do
  -- there. It sends only to the recipient's own topic, only what the
  -- recipient may read anyway (the row; notifications hold ids and codes,
  -- never personal data). Pinned, empty search_path; everything qualified.
  execute $ddl$
    create or replace function private.notifications_broadcast_to_inbox()
    returns trigger
    language plpgsql
    security definer
    set search_path = ''
    as $fn$
    begin
      perform realtime.broadcast_changes(
        'inbox:' || new.recipient_id::text,  -- topic: the recipient's private channel
        tg_op,                               -- event: INSERT or UPDATE
        tg_op,                               -- operation
        tg_table_name,
        tg_table_schema,
        new,
        old
      );
      return null;
    end
    $fn$
  $ddl$;
  comment on function private.notifications_broadcast_to_inbox() is
    'Live inbox: sends a notification''s creation, or a change of its seen/read/archived marks, to its recipient''s private Realtime channel inbox:<recipient id> (Realtime Broadcast from the database).';
  -- A trigger function needs no EXECUTE privilege to fire; nobody calls it.
  revoke all on function private.notifications_broadcast_to_inbox() from public;

  -- New notices appear in the inbox at once.
  create or replace trigger notifications_broadcast_insert
    after insert on public.notifications
    for each row execute function private.notifications_broadcast_to_inbox();
  comment on trigger notifications_broadcast_insert on public.notifications is
    'Live inbox: a new notification is broadcast to its recipient''s channel inbox:<recipient id>, so the app shows it and updates the badge without polling.';

  -- Seen/read/archived marks set on one device show on the person's others.
  -- Only those marks: the dispatcher's status changes (pending, sent, failed)
  -- mean nothing to the inbox and would double the traffic. Deletes are not
  -- broadcast: they are cascades (a person or organisation removed) or, in
  -- time, retention pruning of old notices, which nobody watches live.
  create or replace trigger notifications_broadcast_marks
    after update of seen_at, read_at, archived_at on public.notifications
    for each row
    when (old.seen_at is distinct from new.seen_at
          or old.read_at is distinct from new.read_at
          or old.archived_at is distinct from new.archived_at)
    execute function private.notifications_broadcast_to_inbox();
  comment on trigger notifications_broadcast_marks on public.notifications is
    'Live inbox: a change of a notification''s seen/read/archived marks is broadcast to its recipient''s channel, so every device of theirs shows the same badge.';
end
$guard$;

-- Who may listen: a signed-in person joins only the channel named after their
-- own id, and only for Broadcast messages. No INSERT policy, so no client can
-- send on an inbox channel (forged notices are impossible); only the trigger
-- above writes there. Realtime evaluates this once, when a client joins the
-- private channel (and again on a new access token), not per message
-- (Supabase guide "Realtime Authorization", helper realtime.topic(); checked
-- 2026-11-29). Calls wrapped in (select ...) so they run once per statement.
-- The message's own topic is checked as well as the joined one: Realtime
-- filters what it delivers by topic itself, but the policy must hold on its
-- own, for any SQL session that reads realtime.messages with realtime.topic
-- set to its own inbox.
-- Permissive policies add up: any other policy on realtime.messages for
-- authenticated (e.g. the guide's `using (true)` example) would open these
-- channels to everyone, so none may be added without narrowing it the same way.
do $guard$
begin
  if to_regclass('realtime.messages') is null or to_regprocedure('realtime.topic()') is null then
    raise notice 'live inbox: realtime.messages does not exist here (not Supabase); no channel policy';
    return;
  end if;

  drop policy if exists mentor_notify_inbox_receive_own on realtime.messages;
  create policy mentor_notify_inbox_receive_own on realtime.messages
    for select to authenticated
    using (
      realtime.messages.extension = 'broadcast'
      and (select realtime.topic()) = 'inbox:' || (select auth.uid())::text
      and realtime.messages.topic = 'inbox:' || (select auth.uid())::text
    );
  comment on policy mentor_notify_inbox_receive_own on realtime.messages is
    'Live inbox: a signed-in person may join (and receive on) only their own private channel inbox:<their user id>, and read only the messages of that topic; nobody may send on it.';
end
$guard$;
