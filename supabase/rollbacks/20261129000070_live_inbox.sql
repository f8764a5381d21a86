-- Rollback of 20261129000070_live_inbox: the inbox is no longer broadcast
-- (triggers, their function and the channel policy go) and the badge index is
-- removed. Guarded like the migration, so it applies where Realtime does not
-- exist, and idempotent.
drop trigger if exists notifications_broadcast_insert on public.notifications;
drop trigger if exists notifications_broadcast_marks on public.notifications;
drop function if exists private.notifications_broadcast_to_inbox();

do $guard$
begin
  if to_regclass('realtime.messages') is not null then
    drop policy if exists mentor_notify_inbox_receive_own on realtime.messages;
  end if;
end
$guard$;

drop index if exists public.notifications_unread_idx;
