-- Rollback of 20261122001800_push_preferences_and_send_windows: removes the
-- preferences table, the organisations' window columns and the window
-- function, turns skipped pushes and notices into failed ones (the older
-- schema has no 'skipped') and restores the 1700 delivery-record trigger.
drop function if exists private.push_send_time(timestamptz, text, time, time);
drop table if exists public.push_preferences;
alter table public.organizations drop constraint if exists organizations_push_immediate_tiers_check;
alter table public.organizations
  drop column if exists push_immediate_tiers,
  drop column if exists push_window_end,
  drop column if exists push_window_start;

alter table public.push_outbox drop constraint if exists push_outbox_status_check;
update public.push_outbox set status = 'failed', last_error = 'SKIPPED' where status = 'skipped';
alter table public.push_outbox add constraint push_outbox_status_check
  check (status in ('pending', 'in_flight', 'sent', 'failed', 'dead'));
comment on constraint push_outbox_status_check on public.push_outbox is 'the status must be pending, in_flight, sent, failed or dead';
comment on column public.push_outbox.status is 'pending (waiting), in_flight (leased by a worker), sent, failed (permanent error) or dead (retries exhausted).';
alter table public.notifications drop constraint if exists notifications_status_check;
update public.notifications set status = 'failed' where status = 'skipped';
alter table public.notifications add constraint notifications_status_check
  check (status in ('pending', 'sent', 'failed'));
comment on constraint notifications_status_check on public.notifications is 'the status must be pending, sent or failed';
comment on column public.notifications.status is 'Delivery state of the notice: pending until its pushes are done, then sent or failed.';
alter table public.scenario_notifications drop constraint if exists scenario_notifications_delivery_status_check;
update public.scenario_notifications set delivery_status = 'failed' where delivery_status = 'skipped';
alter table public.scenario_notifications add constraint scenario_notifications_delivery_status_check
  check (delivery_status in ('pending', 'sent', 'failed'));
comment on constraint scenario_notifications_delivery_status_check on public.scenario_notifications is 'the delivery status must be pending, sent or failed';
comment on column public.scenario_notifications.delivery_status is 'pending until delivered, then sent or failed.';

create or replace function private.push_outbox_record_follow_up()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  scenario public.scenario_notifications%rowtype;
  rule_chapter uuid;
  chapter uuid;
  outcome text := case when new.status = 'sent' then 'delivered' else 'failed' end;
begin
  select s.* into scenario
  from public.notifications n
  join public.scenario_notifications s on s.id = (n.data ->> 'scenario_notification_id')::uuid
  where n.id = new.notification_id;
  if scenario.id is null or scenario.scenario_rule_id is null then
    return null;  -- not a scenario notification (the expiry sweep logs its own)
  end if;
  -- The chapter whose coordinators follow the mentor up: the rule's chapter,
  -- else the mentor's first chapter in the organisation.
  select r.chapter_id into rule_chapter from public.scenario_rules r where r.id = scenario.scenario_rule_id;
  chapter := coalesce(rule_chapter, (
    select m.chapter_id from public.chapter_memberships m
    where m.user_id = scenario.user_id and m.organization_id = scenario.organization_id
      and m.role = 'peer_mentor'
    order by m.chapter_id limit 1));
  if chapter is null then
    return null;  -- no longer a mentor of any chapter there: nobody to report to
  end if;
  insert into public.follow_up_notification_log (
    peer_mentor_id, chapter_id, scenario_rule_id, delivered_at, delivery_channel,
    idempotency_key, status, organization_id, notification_id, failure_reason)
  values (
    scenario.user_id, chapter, scenario.scenario_rule_id, coalesce(new.sent_at, pg_catalog.now()),
    new.provider,
    pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.concat_ws(':',
      scenario.user_id, scenario.scenario_rule_id,
      pg_catalog.to_char(scenario.triggered_at at time zone 'UTC', 'YYYY-MM-DD'),
      new.provider, new.device_token_id, new.id), 'UTF8')), 'hex'),
    outcome, scenario.organization_id, new.notification_id,
    case when outcome = 'failed' then pg_catalog.left(pg_catalog.regexp_replace(
      coalesce(nullif(new.last_error, ''), 'unknown'), '[^A-Za-z0-9_.:-]', '_', 'g'), 100) end)
  on conflict (idempotency_key) do nothing;

  if outcome = 'delivered' then
    update public.scenario_notifications set delivery_status = 'sent'
    where id = scenario.id and delivery_status <> 'sent';
  elsif not exists (
    select 1 from public.push_outbox p
    where p.notification_id = new.notification_id and p.id <> new.id
      and p.status in ('pending', 'in_flight', 'sent')
  ) then
    update public.scenario_notifications set delivery_status = 'failed'
    where id = scenario.id and delivery_status = 'pending';
  end if;
  return null;
end
$$;
comment on function private.push_outbox_record_follow_up() is
  'Writes follow_up_notification_log and moves scenario_notifications.delivery_status when a scenario push is sent or fails.';
revoke all on function private.push_outbox_record_follow_up() from public;

drop trigger if exists push_outbox_record_follow_up on public.push_outbox;
create trigger push_outbox_record_follow_up
  after update of status on public.push_outbox
  for each row
  when (new.status in ('sent', 'failed', 'dead') and old.status is distinct from new.status)
  execute function private.push_outbox_record_follow_up();
