-- Issue 5: per-person push preferences and send windows.
--
-- A person may opt out of push for a category (expiry, inactivity, milestone,
-- welcome back) and keep the in-app notice: the dispatcher then records the
-- push as skipped, neither sent nor lost. Pushes are held until the
-- recipient's local send window opens (the organisation's, default
-- 08:00-21:00 in its timezone, or the person's own); tiers an organisation
-- names in push_immediate_tiers go out at once. Held pushes are rows with a
-- later available_at, so they survive restarts.

alter table public.organizations
  add column if not exists push_window_start time not null default '08:00',
  add column if not exists push_window_end time not null default '21:00',
  add column if not exists push_immediate_tiers text[] not null default '{}';
comment on column public.organizations.push_window_start is
  'Local time (in the organisation''s timezone) from which pushes may be sent; pushes due earlier are held until then.';
comment on column public.organizations.push_window_end is
  'Local time at which the send window closes; a window ending before it starts spans midnight, equal start and end mean no window.';
comment on column public.organizations.push_immediate_tiers is
  'Expiry tiers sent at once whatever the time, e.g. {expiry_warning_7d,expired}; empty: every push waits for the window.';
alter table public.organizations drop constraint if exists organizations_push_immediate_tiers_check;
alter table public.organizations add constraint organizations_push_immediate_tiers_check check (
  push_immediate_tiers <@ array['expiry_warning_90d', 'expiry_warning_60d', 'expiry_warning_30d',
                                'expiry_warning_7d', 'expired']::text[]
);
comment on constraint organizations_push_immediate_tiers_check on public.organizations is
  'immediate tiers must be among expiry_warning_90d, expiry_warning_60d, expiry_warning_30d, expiry_warning_7d, expired';

-- Per person, like device tokens: a person's choice holds in every organisation.
create table if not exists public.push_preferences (
  user_id uuid primary key references public.users (id) on delete cascade,
  muted_categories text[] not null default '{}',
  window_start time,
  window_end time,
  updated_at timestamptz not null default now(),
  constraint push_preferences_muted_categories_check check (
    muted_categories <@ array['certification_expiry', 'inactivity', 'milestone', 'welcome_back']::text[]
  ),
  constraint push_preferences_window_check check ((window_start is null) = (window_end is null))
);
comment on table public.push_preferences is
  'A person''s push choices: categories they get no push for (the in-app notice stays) and their own send window.';
comment on column public.push_preferences.user_id is 'The person.';
comment on column public.push_preferences.muted_categories is
  'Categories with push switched off: certification_expiry, inactivity, milestone, welcome_back.';
comment on column public.push_preferences.window_start is
  'Own send window start (organisation''s timezone), replacing the organisation''s; null: the organisation''s window.';
comment on column public.push_preferences.window_end is 'Own send window end; set together with window_start.';
comment on column public.push_preferences.updated_at is 'When the person last changed their choices.';
comment on constraint push_preferences_muted_categories_check on public.push_preferences is
  'muted categories must be among certification_expiry, inactivity, milestone, welcome_back';
comment on constraint push_preferences_window_check on public.push_preferences is
  'a send window needs both its start and its end';

alter table public.push_preferences enable row level security;
drop policy if exists push_preferences_select_own on public.push_preferences;
create policy push_preferences_select_own on public.push_preferences
  for select to authenticated using (user_id = (select auth.uid()));
drop policy if exists push_preferences_insert_own on public.push_preferences;
create policy push_preferences_insert_own on public.push_preferences
  for insert to authenticated with check (user_id = (select auth.uid()));
drop policy if exists push_preferences_update_own on public.push_preferences;
create policy push_preferences_update_own on public.push_preferences
  for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
drop policy if exists push_preferences_delete_own on public.push_preferences;
create policy push_preferences_delete_own on public.push_preferences
  for delete to authenticated using (user_id = (select auth.uid()));

-- 'skipped': the push was not sent because its recipient opted out.
alter table public.push_outbox drop constraint if exists push_outbox_status_check;
alter table public.push_outbox add constraint push_outbox_status_check
  check (status in ('pending', 'in_flight', 'sent', 'failed', 'dead', 'skipped'));
comment on constraint push_outbox_status_check on public.push_outbox is
  'the status must be pending, in_flight, sent, failed, dead or skipped';
comment on column public.push_outbox.status is
  'pending (waiting, possibly held for the send window), in_flight (leased by a worker), sent, failed (permanent error), dead (retries exhausted) or skipped (recipient opted out of push for the category).';
alter table public.notifications drop constraint if exists notifications_status_check;
alter table public.notifications add constraint notifications_status_check
  check (status in ('pending', 'sent', 'failed', 'skipped'));
comment on constraint notifications_status_check on public.notifications is
  'the status must be pending, sent, failed or skipped';
comment on column public.notifications.status is
  'Delivery state of the notice: pending until its pushes are done, then sent, failed, or skipped (the recipient opted out of push for the category; the in-app notice stands).';
alter table public.scenario_notifications drop constraint if exists scenario_notifications_delivery_status_check;
alter table public.scenario_notifications add constraint scenario_notifications_delivery_status_check
  check (delivery_status in ('pending', 'sent', 'failed', 'skipped'));
comment on constraint scenario_notifications_delivery_status_check on public.scenario_notifications is
  'the delivery status must be pending, sent, failed or skipped';
comment on column public.scenario_notifications.delivery_status is
  'pending until delivered, then sent, failed, or skipped (push opted out; the in-app notice stands).';

-- When a push may go out: `at` itself inside the window, else the window's
-- next opening. Local times are read in `tz`, so DST is handled by PostgreSQL.
create or replace function private.push_send_time(at timestamptz, tz text, opens time, closes time)
returns timestamptz
language sql
stable
set search_path = ''
as $$
  select case
    when opens = closes then at
    when (opens < closes and l.t >= opens and l.t < closes)
      or (opens > closes and (l.t >= opens or l.t < closes)) then at
    when l.t < opens then (l.d + opens) at time zone tz
    else ((l.d + 1) + opens) at time zone tz
  end
  from (select (at at time zone tz)::time as t, (at at time zone tz)::date as d) l
$$;
comment on function private.push_send_time(timestamptz, text, time, time) is
  'The earliest time at or after `at` inside the daily send window [opens, closes) of timezone tz.';
revoke all on function private.push_send_time(timestamptz, text, time, time) from public;

-- Skipped pushes of scenario notifications are recorded for the coordinators too.
create or replace function private.push_outbox_record_follow_up()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  scenario public.scenario_notifications%rowtype;
  rule_chapter uuid;
  chapter uuid;
  outcome text := case new.status when 'sent' then 'delivered' when 'skipped' then 'skipped'
                  else 'failed' end;
begin
  select s.* into scenario
  from public.notifications n
  join public.scenario_notifications s on s.id = (n.data ->> 'scenario_notification_id')::uuid
  where n.id = new.notification_id;
  if scenario.id is null or scenario.scenario_rule_id is null then
    return null;  -- not a scenario notification (the expiry sweep logs its own)
  end if;
  select r.chapter_id into rule_chapter from public.scenario_rules r where r.id = scenario.scenario_rule_id;
  chapter := coalesce(rule_chapter, (
    select m.chapter_id from public.chapter_memberships m
    where m.user_id = scenario.user_id and m.organization_id = scenario.organization_id
      and m.role = 'peer_mentor'
    order by m.chapter_id limit 1));
  if chapter is null then
    return null;
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
    update public.scenario_notifications set delivery_status = outcome
    where id = scenario.id and delivery_status = 'pending'
      and outcome in ('failed', 'skipped');
  end if;
  return null;
end
$$;
comment on function private.push_outbox_record_follow_up() is
  'Writes follow_up_notification_log and moves scenario_notifications.delivery_status when a scenario push is sent, skipped or fails.';
revoke all on function private.push_outbox_record_follow_up() from public;

drop trigger if exists push_outbox_record_follow_up on public.push_outbox;
create trigger push_outbox_record_follow_up
  after update of status on public.push_outbox
  for each row
  when (new.status in ('sent', 'failed', 'dead', 'skipped') and old.status is distinct from new.status)
  execute function private.push_outbox_record_follow_up();
