-- Scenario engine (issue 4): which rule raised each scenario notification,
-- cooldowns that no concurrent or retried run can break, and milestones once
-- ever. The engine writes every notification with its rule's cooldown_until;
-- a BEFORE INSERT trigger claims the person's cooldown for that scenario in
-- scenario_cooldowns with one conditional upsert, and drops the notification
-- (silently, so a set-based INSERT ... SELECT goes on with the other rows)
-- when an earlier one's cooldown has not ended. The upsert locks the person's
-- cooldown row, so a concurrent writer waits for the first to commit and then
-- sees its cooldown: row locks, not advisory locks, so a run notifying
-- thousands of people does not fill the lock table.

alter table public.scenario_notifications
  add column if not exists scenario_rule_id uuid references public.scenario_rules (id) on delete set null;
alter table public.scenario_notifications
  add column if not exists cooldown_until timestamptz;
comment on column public.scenario_notifications.scenario_rule_id is
  'The scenario rule that raised the notification; null for notifications recorded without a rule (or whose rule was deleted).';
comment on column public.scenario_notifications.cooldown_until is
  'End of the quiet period this notification starts: no other notification of the same scenario reaches the person before it. Null: no cooldown.';

alter table public.scenario_notifications
  drop constraint if exists scenario_notifications_cooldown_until_check;
alter table public.scenario_notifications
  add constraint scenario_notifications_cooldown_until_check
  check (cooldown_until is null or cooldown_until >= triggered_at);
comment on constraint scenario_notifications_cooldown_until_check on public.scenario_notifications is
  'a cooldown cannot end before the notification that starts it';

create index if not exists scenario_notifications_scenario_rule_id_idx
  on public.scenario_notifications (scenario_rule_id);
comment on index public.scenario_notifications_scenario_rule_id_idx is
  'Serves the foreign key to scenario_rules (deleting a rule clears the reference).';

create unique index if not exists scenario_notifications_milestone_once_key
  on public.scenario_notifications (user_id, organization_id, milestone_value)
  where scenario_type = 'milestone' and delivery_status <> 'failed';
comment on index public.scenario_notifications_milestone_once_key is
  'this milestone has already been celebrated; a person gets each milestone once per organisation, ever';

-- Per person and scenario, the cooldown in force. A person's, across their
-- organisations, like the cooldown lookup of ticket 003.
create table if not exists public.scenario_cooldowns (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  scenario_type text not null,
  last_triggered_at timestamptz not null,
  cooldown_until timestamptz not null,
  constraint scenario_cooldowns_user_id_scenario_type_key unique (user_id, scenario_type),
  constraint scenario_cooldowns_scenario_type_check check (
    scenario_type in ('inactivity', 'milestone', 'certification_expiry', 'welcome_back')
  ),
  constraint scenario_cooldowns_period_check check (cooldown_until >= last_triggered_at)
);
comment on table public.scenario_cooldowns is
  'The cooldown in force per person and scenario, kept by the scenario_notifications trigger; the lock that makes cooldowns race-free. Internal: no access for app users.';
comment on column public.scenario_cooldowns.id is 'Identifier of the row.';
comment on column public.scenario_cooldowns.user_id is 'The person (auth.users id).';
comment on column public.scenario_cooldowns.scenario_type is 'inactivity, milestone, certification_expiry or welcome_back.';
comment on column public.scenario_cooldowns.last_triggered_at is 'When the notification that started the cooldown was raised.';
comment on column public.scenario_cooldowns.cooldown_until is 'No notification of this scenario reaches the person before this instant.';
comment on constraint scenario_cooldowns_user_id_scenario_type_key on public.scenario_cooldowns is
  'a person has one cooldown per scenario';
comment on constraint scenario_cooldowns_scenario_type_check on public.scenario_cooldowns is
  'the scenario type must be inactivity, milestone, certification_expiry or welcome_back';
comment on constraint scenario_cooldowns_period_check on public.scenario_cooldowns is
  'a cooldown cannot end before the notification that started it';
alter table public.scenario_cooldowns enable row level security;

create or replace function private.scenario_notifications_claim_cooldown()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  claimed uuid;
begin
  -- No cooldown asked for, or a delivery already known to have failed (it
  -- reached nobody): nothing to claim.
  if new.cooldown_until is null or new.delivery_status = 'failed' then
    return new;
  end if;
  insert into public.scenario_cooldowns as c (user_id, scenario_type, last_triggered_at, cooldown_until)
  values (new.user_id, new.scenario_type, new.triggered_at, new.cooldown_until)
  on conflict (user_id, scenario_type) do update
    set last_triggered_at = excluded.last_triggered_at,
        cooldown_until = excluded.cooldown_until
    where c.cooldown_until <= excluded.last_triggered_at
  returning c.id into claimed;
  if claimed is null then
    return null;
  end if;
  return new;
end
$$;
comment on function private.scenario_notifications_claim_cooldown() is
  'Claims the person''s cooldown for the scenario, or drops the notification when an earlier cooldown has not ended.';
revoke all on function private.scenario_notifications_claim_cooldown() from public;

-- A notification whose delivery failed reached nobody: the cooldown it
-- started ends, unless a later one has taken over.
create or replace function private.scenario_notifications_release_cooldown()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  update public.scenario_cooldowns c
  set cooldown_until = c.last_triggered_at
  where c.user_id = new.user_id
    and c.scenario_type = new.scenario_type
    and c.last_triggered_at = new.triggered_at
    and c.cooldown_until = new.cooldown_until;
  return null;
end
$$;
comment on function private.scenario_notifications_release_cooldown() is
  'Ends the cooldown a notification started when its delivery turns out to have failed.';
revoke all on function private.scenario_notifications_release_cooldown() from public;

drop trigger if exists scenario_notifications_claim_cooldown on public.scenario_notifications;
create trigger scenario_notifications_claim_cooldown
  before insert on public.scenario_notifications
  for each row execute function private.scenario_notifications_claim_cooldown();

drop trigger if exists scenario_notifications_release_cooldown on public.scenario_notifications;
create trigger scenario_notifications_release_cooldown
  after update of delivery_status on public.scenario_notifications
  for each row
  when (new.delivery_status = 'failed' and old.delivery_status <> 'failed' and new.cooldown_until is not null)
  execute function private.scenario_notifications_release_cooldown();
