-- Scenario engine (issue 4): which rule raised each scenario notification,
-- cooldowns that no concurrent or retried run can break, and milestones once
-- ever. The engine writes every notification with the rule's cooldown_until;
-- a BEFORE INSERT trigger drops (silently, so a set-based INSERT ... SELECT
-- goes on with the other rows) any notification that falls inside the
-- cooldown of an earlier one for the same person and scenario. Concurrent
-- writers for the same person and scenario queue on a transaction-scoped
-- advisory lock, so the second one sees the first one's row once committed.

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

create or replace function private.scenario_notifications_enforce_cooldown()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.cooldown_until is null then
    return new;
  end if;
  -- First key: the scenario engine's lock class (mentor_notify.scenarios).
  perform pg_catalog.pg_advisory_xact_lock(
    1296957442, pg_catalog.hashtext(new.user_id::text || '|' || new.scenario_type));
  if exists (
    select 1
    from public.scenario_notifications s
    where s.user_id = new.user_id
      and s.scenario_type = new.scenario_type
      and s.delivery_status <> 'failed'
      and s.triggered_at <= new.triggered_at
      and s.cooldown_until > new.triggered_at
  ) then
    return null;
  end if;
  return new;
end
$$;
comment on function private.scenario_notifications_enforce_cooldown() is
  'Drops a scenario notification that falls inside the cooldown of an earlier one for the same person and scenario; serialises such writers on an advisory lock.';
revoke all on function private.scenario_notifications_enforce_cooldown() from public;

drop trigger if exists scenario_notifications_enforce_cooldown on public.scenario_notifications;
create trigger scenario_notifications_enforce_cooldown
  before insert on public.scenario_notifications
  for each row execute function private.scenario_notifications_enforce_cooldown();
