-- pgls-ignore-all lint/safety/avoidCreateTrigger: on a new database the tables these
-- triggers are added to were created empty just before, so the SHARE ROW EXCLUSIVE
-- lock a trigger takes blocks nothing. Triggers are how this project keeps an
-- invariant between tables (a row and the state derived from it) that no writer
-- may forget; workflows, by contrast, are explicit statements of the jobs.

-- Mentor activity, the per-chapter scenario rules (checked on write), the
-- record of scenario notifications (ticket 003) with race-free cooldowns, and
-- the delivery log of follow-up pushes (ticket 002), written by the push
-- dispatcher's settle statement as deliveries happen
-- (private.record_scenario_outcomes).

create table if not exists public.activities (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  chapter_id uuid not null,
  peer_mentor_id uuid not null references public.users (id) on delete cascade,
  activity_type text not null,
  occurred_at timestamptz not null,
  created_at timestamptz not null default now(),
  constraint activities_chapter_fkey foreign key (organization_id, chapter_id)
    references public.chapters (organization_id, id) on delete cascade,
  constraint activities_activity_type_check check (
    activity_type in ('conversation', 'group_session', 'phone_call', 'event', 'training', 'other')
  ),
  constraint activities_occurred_at_check check (occurred_at <= created_at + interval '1 day')
);
comment on table public.activities is 'Peer-mentoring activities a mentor has registered (conversations, group sessions, calls); the basis of inactivity nudges, milestones and welcome-back messages.';
comment on column public.activities.id is 'Identifier of the activity.';
comment on column public.activities.organization_id is 'Organisation of the chapter; must match the chapter''s.';
comment on column public.activities.chapter_id is 'Chapter the activity was done for.';
comment on column public.activities.peer_mentor_id is 'The mentor who did it.';
comment on column public.activities.activity_type is 'Kind of activity: conversation, group_session, phone_call, event, training or other.';
comment on column public.activities.occurred_at is 'When the activity took place.';
comment on column public.activities.created_at is 'When it was registered.';
comment on constraint activities_chapter_fkey on public.activities is 'the chapter must exist and belong to the same organisation';
comment on constraint activities_activity_type_check on public.activities is 'the activity type must be conversation, group_session, phone_call, event, training or other';
comment on constraint activities_occurred_at_check on public.activities is 'an activity cannot be registered more than a day ahead of when it is recorded';
-- Inactivity and milestone scans per mentor (ticket 003, risk 3).
create index if not exists activities_peer_mentor_id_occurred_at_idx on public.activities (peer_mentor_id, occurred_at desc);
create index if not exists activities_organization_id_chapter_id_idx on public.activities (organization_id, chapter_id);
create index if not exists activities_chapter_id_idx on public.activities (chapter_id);

-- Scenario rules are checked on write, whoever writes them: each scenario
-- type takes only its own parameters, each within its range, and messages are
-- message keys for both languages (texts live in the app's translations). The
-- same rules as mentor_notify.scenarios.rules, which also says which field is
-- wrong and why before the database is asked.

create or replace function private.is_day_count(value jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select pg_catalog.jsonb_typeof(value) = 'number'
    and (value #>> '{}')::numeric between 1 and 730
    and (value #>> '{}')::numeric = pg_catalog.trunc((value #>> '{}')::numeric)
$$;
comment on function private.is_day_count(jsonb) is
  'True for a JSON whole number of days from 1 to 730.';

create or replace function private.scenario_rule_problem(scenario_type text, parameters jsonb, messages jsonb)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  allowed text[];
  name text;
  item jsonb;
  previous numeric := 0;
begin
  allowed := case scenario_type
    when 'inactivity' then array['inactivity_days']
    when 'milestone' then array['milestones']
    when 'certification_expiry' then array['tier']
    when 'welcome_back' then array['inactive_days_before_return']
  end;
  if allowed is null then
    return 'unknown scenario type';
  end if;
  if pg_catalog.jsonb_typeof(parameters) is distinct from 'object' then
    return 'parameters must be a JSON object';
  end if;
  for name in select pg_catalog.jsonb_object_keys(parameters) loop
    if not name = any (allowed) then
      return pg_catalog.format('%s is not a %s parameter', name, scenario_type);
    end if;
  end loop;
  if parameters ? 'inactivity_days' and not private.is_day_count(parameters -> 'inactivity_days') then
    return 'inactivity_days must be a whole number of days from 1 to 730';
  end if;
  if parameters ? 'inactive_days_before_return'
     and not private.is_day_count(parameters -> 'inactive_days_before_return') then
    return 'inactive_days_before_return must be a whole number of days from 1 to 730';
  end if;
  if parameters ? 'tier' and not coalesce((parameters ->> 'tier') = any (array[
       'expiry_warning_90d', 'expiry_warning_60d', 'expiry_warning_30d', 'expiry_warning_7d', 'expired']), false) then
    return 'tier must be one of expiry_warning_90d, expiry_warning_60d, expiry_warning_30d, expiry_warning_7d, expired';
  end if;
  if parameters ? 'milestones' then
    if pg_catalog.jsonb_typeof(parameters -> 'milestones') is distinct from 'array'
       or pg_catalog.jsonb_array_length(parameters -> 'milestones') not between 1 and 20 then
      return 'milestones must be a list of 1 to 20 activity counts';
    end if;
    for item in select pg_catalog.jsonb_array_elements(parameters -> 'milestones') loop
      if pg_catalog.jsonb_typeof(item) <> 'number'
         or (item #>> '{}')::numeric <> pg_catalog.trunc((item #>> '{}')::numeric)
         or (item #>> '{}')::numeric not between 1 and 100000
         or (item #>> '{}')::numeric <= previous then
        return 'milestones must be whole activity counts from 1 to 100000, distinct and increasing';
      end if;
      previous := (item #>> '{}')::numeric;
    end loop;
  end if;
  if pg_catalog.jsonb_typeof(messages) is distinct from 'object'
     or (select pg_catalog.array_agg(k order by k) from pg_catalog.jsonb_object_keys(messages) k)
        is distinct from array['en', 'nb']
     or (messages ->> 'nb') !~ '^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$'
     or (messages ->> 'en') !~ '^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$' then
    return 'messages must hold one message key for nb and one for en';
  end if;
  return null;
end
$$;
comment on function private.scenario_rule_problem(text, jsonb, jsonb) is
  'What is wrong with a scenario rule''s parameters or messages, in words; null when nothing is.';

revoke all on function private.is_day_count(jsonb) from public;
revoke all on function private.scenario_rule_problem(text, jsonb, jsonb) from public;
grant execute on function private.is_day_count(jsonb) to authenticated, service_role;
grant execute on function private.scenario_rule_problem(text, jsonb, jsonb) to authenticated, service_role;

create table if not exists public.scenario_rules (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  chapter_id uuid,
  scenario_type text not null,
  parameters jsonb not null default '{}',
  cooldown interval not null,
  enabled boolean not null default true,
  messages jsonb not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint scenario_rules_chapter_fkey foreign key (organization_id, chapter_id)
    references public.chapters (organization_id, id) on delete cascade,
  constraint scenario_rules_scope_key unique nulls not distinct (organization_id, chapter_id, scenario_type),
  constraint scenario_rules_scenario_type_check check (
    scenario_type in ('inactivity', 'milestone', 'certification_expiry', 'welcome_back')
  ),
  constraint scenario_rules_parameters_check check (jsonb_typeof(parameters) = 'object'),
  constraint scenario_rules_cooldown_check check (cooldown >= interval '0'),
  constraint scenario_rules_messages_check check (
    jsonb_typeof(messages -> 'nb') = 'string' and jsonb_typeof(messages -> 'en') = 'string'
    and length(btrim(messages ->> 'nb')) > 0 and length(btrim(messages ->> 'en')) > 0
  ),
  constraint scenario_rules_rule_check check (private.scenario_rule_problem(scenario_type, parameters, messages) is null)
);
comment on table public.scenario_rules is 'When and how often a follow-up scenario fires: per chapter, or for the whole organisation when chapter_id is null (a chapter rule overrides the organisation default).';
comment on column public.scenario_rules.id is 'Identifier of the rule.';
comment on column public.scenario_rules.organization_id is 'Organisation the rule belongs to.';
comment on column public.scenario_rules.chapter_id is 'Chapter the rule applies to; null for the organisation-wide default.';
comment on column public.scenario_rules.scenario_type is 'inactivity, milestone, certification_expiry or welcome_back.';
comment on column public.scenario_rules.parameters is 'Scenario settings as a JSON object, e.g. {"inactivity_days":30}, {"milestones":[10,25,50,100]}, {"tier":"expiry_warning_30d"}.';
comment on column public.scenario_rules.cooldown is 'Least time between two notifications of this scenario to the same person.';
comment on column public.scenario_rules.enabled is 'Whether the engine evaluates the rule.';
comment on column public.scenario_rules.messages is 'Message keys per language: {"nb": "...", "en": "..."} (Norwegian Bokmål and English).';
comment on column public.scenario_rules.created_at is 'When the rule was created.';
comment on column public.scenario_rules.updated_at is 'When the rule last changed.';
comment on constraint scenario_rules_chapter_fkey on public.scenario_rules is 'the chapter must exist and belong to the same organisation';
comment on constraint scenario_rules_scope_key on public.scenario_rules is 'there is one rule per scenario type for each chapter and one organisation-wide default';
comment on constraint scenario_rules_scenario_type_check on public.scenario_rules is 'the scenario type must be inactivity, milestone, certification_expiry or welcome_back';
comment on constraint scenario_rules_parameters_check on public.scenario_rules is 'parameters must be a JSON object';
comment on constraint scenario_rules_cooldown_check on public.scenario_rules is 'the cooldown cannot be negative';
comment on constraint scenario_rules_messages_check on public.scenario_rules is 'messages must hold a non-empty Norwegian Bokmål ("nb") and English ("en") message key';
comment on constraint scenario_rules_rule_check on public.scenario_rules is
  'parameters must be those of the scenario type within their ranges (inactivity_days and inactive_days_before_return 1-730 days, milestones 1-20 increasing counts, tier an expiry tier), and messages one message key each for nb and en';
create index if not exists scenario_rules_organization_id_chapter_id_idx on public.scenario_rules (organization_id, chapter_id);
create index if not exists scenario_rules_chapter_id_idx on public.scenario_rules (chapter_id);

-- Ticket 003, with the scenario engine of issue 4: which rule raised each scenario notification,
-- cooldowns that no concurrent or retried run can break, and milestones once
-- ever. The engine writes every notification with its rule's cooldown_until;
-- a BEFORE INSERT trigger claims the person's cooldown for that scenario in
-- scenario_cooldowns with one conditional upsert, and drops the notification
-- (silently, so a set-based INSERT ... SELECT goes on with the other rows)
-- when an earlier one's cooldown has not ended. The upsert locks the person's
-- cooldown row, so a concurrent writer waits for the first to commit and then
-- sees its cooldown: row locks, not advisory locks, so a run notifying
-- thousands of people does not fill the lock table.

-- pgls-ignore lint/safety/preferBigInt: milestone_value is an activity count (rules allow at most 100000), never near 2^31; widening it would change the schema the code reads.
-- pgls-ignore lint/safety/preferBigintOverInt: milestone_value is an activity count (rules allow at most 100000), never near 2^31; widening it would change the schema the code reads.
create table if not exists public.scenario_notifications (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  scenario_type text not null,
  triggered_at timestamptz not null default now(),
  delivery_status text not null default 'pending',
  milestone_value integer,
  metadata jsonb,
  scenario_rule_id uuid references public.scenario_rules (id) on delete set null,
  cooldown_until timestamptz,
  constraint scenario_notifications_scenario_type_check check (
    scenario_type in ('inactivity', 'milestone', 'certification_expiry', 'welcome_back')
  ),
  constraint scenario_notifications_delivery_status_check check (delivery_status in ('pending', 'sent', 'failed', 'skipped')),
  constraint scenario_notifications_milestone_value_check check (
    (scenario_type = 'milestone') = (milestone_value is not null) and (milestone_value is null or milestone_value > 0)
  ),
  constraint scenario_notifications_metadata_check check (metadata is null or jsonb_typeof(metadata) = 'object'),
  constraint scenario_notifications_metadata_privacy_check check (metadata is null or not private.contains_personal_data(metadata)),
  constraint scenario_notifications_cooldown_until_check check (cooldown_until is null or cooldown_until >= triggered_at)
);
comment on table public.scenario_notifications is 'Every follow-up scenario notification raised for a person: the engine''s memory for cooldowns and once-only milestones. UUIDs and codes only, no personal data.';
comment on column public.scenario_notifications.id is 'Identifier of the scenario notification.';
comment on column public.scenario_notifications.user_id is 'The person notified (auth.users id).';
comment on column public.scenario_notifications.organization_id is 'Organisation whose rule fired; lets reporting and future sharding stay per tenant.';
comment on column public.scenario_notifications.scenario_type is 'inactivity, milestone, certification_expiry or welcome_back.';
comment on column public.scenario_notifications.triggered_at is 'When the scenario fired; cooldowns are measured from it.';
comment on column public.scenario_notifications.delivery_status is
  'pending until delivered, then sent, failed, or skipped (push opted out; the in-app notice stands).';
comment on column public.scenario_notifications.milestone_value is 'For milestone: the activity count crossed (e.g. 50), so "already sent?" needs no metadata parsing; null for other scenarios.';
comment on column public.scenario_notifications.metadata is 'Non-personal context (rule id, counts, tier) as a JSON object; never an identity number, e-mail or phone number.';
comment on column public.scenario_notifications.scenario_rule_id is
  'The scenario rule that raised the notification; null for notifications recorded without a rule (or whose rule was deleted).';
comment on column public.scenario_notifications.cooldown_until is
  'End of the quiet period this notification starts: no other notification of the same scenario reaches the person before it. Null: no cooldown.';
comment on constraint scenario_notifications_scenario_type_check on public.scenario_notifications is 'the scenario type must be inactivity, milestone, certification_expiry or welcome_back';
comment on constraint scenario_notifications_delivery_status_check on public.scenario_notifications is
  'the delivery status must be pending, sent, failed or skipped';
comment on constraint scenario_notifications_milestone_value_check on public.scenario_notifications is 'a milestone notification needs a positive milestone value, and only milestone notifications have one';
comment on constraint scenario_notifications_metadata_check on public.scenario_notifications is 'metadata must be a JSON object';
comment on constraint scenario_notifications_metadata_privacy_check on public.scenario_notifications is
  'metadata may hold ids, codes and counts only, never a national identity number, an e-mail address or a phone number';
comment on constraint scenario_notifications_cooldown_until_check on public.scenario_notifications is
  'a cooldown cannot end before the notification that starts it';
-- Cooldown lookups (ticket 003).
create index if not exists scenario_notifications_user_id_scenario_type_triggered_at_idx
  on public.scenario_notifications (user_id, scenario_type, triggered_at desc);
-- Organisation-level reporting (ticket 003).
create index if not exists scenario_notifications_org_scenario_type_triggered_at_idx
  on public.scenario_notifications (organization_id, scenario_type, triggered_at desc);
-- The most common cooldown question only counts delivered notifications.
create index if not exists scenario_notifications_sent_idx
  on public.scenario_notifications (user_id, scenario_type) where delivery_status = 'sent';
create index if not exists scenario_notifications_scenario_rule_id_idx
  on public.scenario_notifications (scenario_rule_id);
comment on index public.scenario_notifications_scenario_rule_id_idx is
  'Serves the foreign key to scenario_rules (deleting a rule clears the reference).';
-- The scenarios' reaction to settled pushes (scenarios/sql/push_outcomes.sql)
-- catches up, when a dispatcher starts, with the pushes that settled while it
-- did not run, reading only the pending ones (a handful) of millions.
create index if not exists scenario_notifications_pending_idx
  on public.scenario_notifications (id) where delivery_status = 'pending';
comment on index public.scenario_notifications_pending_idx is
  'Lets the scenarios'' reaction to settled pushes find the scenario notifications still pending without reading the others.';

create unique index if not exists scenario_notifications_milestone_once_key
  on public.scenario_notifications (user_id, organization_id, milestone_value)
  where scenario_type = 'milestone' and delivery_status <> 'failed';
comment on index public.scenario_notifications_milestone_once_key is
  'this milestone has already been celebrated; a person gets each milestone once per organisation, ever';

-- The notification a follow-up scenario raised points to its scenario
-- notification, whose delivery status and cooldown the push settles.
-- pgls-ignore lint/safety/multipleAlterTable: the table's other ALTER (row-level security, 04_notifications_and_push.sql) is a catalog change; neither scans the empty new table twice.
-- pgls-ignore lint/safety/addingForeignKeyConstraint: on a new database the table is empty, so the check finds nothing to refuse.
-- pgls-ignore lint/safety/constraintMissingNotValid: as above, validating an empty table refuses nothing.
alter table public.notifications
  drop constraint if exists notifications_scenario_notification_id_fkey,
  add constraint notifications_scenario_notification_id_fkey foreign key (scenario_notification_id)
    references public.scenario_notifications (id) on delete set null;
create index if not exists notifications_scenario_notification_id_idx
  on public.notifications (scenario_notification_id) where scenario_notification_id is not null;
comment on index public.notifications_scenario_notification_id_idx is
  'Serves the foreign key to scenario_notifications (deleting one clears the reference).';

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

create or replace trigger scenario_notifications_claim_cooldown
  before insert on public.scenario_notifications
  for each row execute function private.scenario_notifications_claim_cooldown();

-- Ticket 002. idempotency_key convention: lowercase hex SHA-256 of
-- '{peer_mentor_id}:{scenario_rule_id}:{date_window}' (plus the channel and
-- device where one notification goes to several devices), computed by the
-- caller; the UNIQUE constraint makes a retried delivery record collide.
create table if not exists public.follow_up_notification_log (
  log_id uuid primary key default gen_random_uuid(),
  peer_mentor_id uuid not null references public.users (id) on delete cascade,
  chapter_id uuid not null,
  scenario_rule_id uuid not null references public.scenario_rules (id) on delete cascade,
  delivered_at timestamptz not null,
  delivery_channel text not null,
  idempotency_key text not null,
  status text not null,
  created_at timestamptz not null default now(),
  organization_id uuid not null,
  notification_id uuid references public.notifications (id) on delete set null,
  failure_reason text,
  constraint follow_up_notification_log_chapter_fkey foreign key (organization_id, chapter_id)
    references public.chapters (organization_id, id) on delete cascade,
  constraint follow_up_notification_log_idempotency_key_key unique (idempotency_key),
  constraint follow_up_notification_log_delivery_channel_check check (delivery_channel in ('fcm', 'apns')),
  constraint follow_up_notification_log_status_check check (status in ('delivered', 'failed', 'skipped')),
  constraint follow_up_notification_log_idempotency_key_check check (idempotency_key ~ '^[0-9a-f]{64}$'),
  constraint follow_up_notification_log_failure_reason_check check (
    failure_reason is null or failure_reason ~ '^[A-Za-z0-9_.:-]{1,100}$'
  )
);
comment on table public.follow_up_notification_log is 'Delivery record of scenario-driven follow-up pushes (delivered, failed or skipped, per channel), read by coordinators for their chapters.';
comment on column public.follow_up_notification_log.log_id is 'Identifier of the delivery record.';
comment on column public.follow_up_notification_log.peer_mentor_id is 'The mentor the push went to.';
comment on column public.follow_up_notification_log.chapter_id is 'Chapter whose coordinators follow the mentor up.';
comment on column public.follow_up_notification_log.scenario_rule_id is 'Rule that raised the notification; deleting the rule deletes its delivery history.';
comment on column public.follow_up_notification_log.delivered_at is 'When the delivery attempt concluded.';
comment on column public.follow_up_notification_log.delivery_channel is 'Push service used: fcm or apns.';
comment on column public.follow_up_notification_log.idempotency_key is 'Lowercase hex SHA-256 of mentor, rule and date window (see the note above the table); unique so a retried record cannot duplicate.';
comment on column public.follow_up_notification_log.status is 'delivered, failed or skipped (the person opted out of push for the category).';
comment on column public.follow_up_notification_log.created_at is 'When the record was written (audit).';
comment on column public.follow_up_notification_log.organization_id is 'Organisation of the chapter; must match the chapter''s.';
comment on column public.follow_up_notification_log.notification_id is 'The in-app notification that was pushed, while it exists.';
comment on column public.follow_up_notification_log.failure_reason is 'Provider error code for failed deliveries (e.g. UNREGISTERED); a code, never personal data.';
comment on constraint follow_up_notification_log_chapter_fkey on public.follow_up_notification_log is 'the chapter must exist and belong to the same organisation';
comment on constraint follow_up_notification_log_idempotency_key_key on public.follow_up_notification_log is 'this delivery is already recorded';
comment on constraint follow_up_notification_log_delivery_channel_check on public.follow_up_notification_log is 'the delivery channel must be fcm or apns';
comment on constraint follow_up_notification_log_status_check on public.follow_up_notification_log is 'the status must be delivered, failed or skipped';
comment on constraint follow_up_notification_log_idempotency_key_check on public.follow_up_notification_log is 'the idempotency key must be a lowercase hex SHA-256 digest (64 characters), never readable data';
comment on constraint follow_up_notification_log_failure_reason_check on public.follow_up_notification_log is 'a failure reason must be a short error code (letters, digits, _ . : -), not free text';
-- Coordinator reads (ticket 002).
create index if not exists follow_up_notification_log_peer_mentor_id_chapter_id_idx
  on public.follow_up_notification_log (peer_mentor_id, chapter_id);
create index if not exists follow_up_notification_log_scenario_rule_id_idx on public.follow_up_notification_log (scenario_rule_id);
create index if not exists follow_up_notification_log_organization_id_chapter_id_idx
  on public.follow_up_notification_log (organization_id, chapter_id);
create index if not exists follow_up_notification_log_chapter_id_delivered_at_idx
  on public.follow_up_notification_log (chapter_id, delivered_at desc);
create index if not exists follow_up_notification_log_notification_id_idx on public.follow_up_notification_log (notification_id);

-- Retention: `mentor-notify maintenance prune` deletes delivery records older
-- than the retention period in small batches, oldest first. Each batch must
-- find its rows through an index on the record's time, or every batch would
-- scan the whole table. cert_notification_log already has one on sent_at.
create index if not exists follow_up_notification_log_delivered_at_idx
  on public.follow_up_notification_log (delivered_at);
comment on index public.follow_up_notification_log_delivered_at_idx is
  'Lets the retention job find the oldest delivery records without scanning the table.';

-- The scenario side of a push outcome, called by the scenarios' reaction to
-- settled pushes (scenarios/sql/push_outcomes.sql), whatever settled them (the
-- claim: skipped, dead, no device; the settle: sent, failed): the scenario
-- notification's delivery status, the cooldown release when it failed (the
-- notice reached nobody; a later cooldown that took over is left alone), and
-- the coordinators' follow-up log, once per scenario notification and
-- channel. `outcomes` is a JSON array of {notification_id, outcome (sent,
-- failed or skipped), channels (fcm/apns), failure_reason}. Returns how many
-- scenario notifications changed.
create or replace function private.record_scenario_outcomes(outcomes jsonb, at timestamptz)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  changed integer;
begin
  with outcome as (
    select o.notification_id, o.outcome, o.channels, o.failure_reason,
           s.id as scenario_id, s.user_id, s.organization_id, s.scenario_rule_id, s.triggered_at
    from pg_catalog.jsonb_to_recordset(outcomes) as o(
      notification_id uuid, outcome text, channels text[], failure_reason text)
    join public.notifications n on n.id = o.notification_id
    join public.scenario_notifications s on s.id = n.scenario_notification_id
  ),
  chapter as (
    -- The chapter whose coordinators follow the mentor up: the rule's chapter,
    -- else the mentor's first chapter in the organisation.
    select o.*, coalesce(
             (select r.chapter_id from public.scenario_rules r where r.id = o.scenario_rule_id),
             (select m.chapter_id from public.chapter_memberships m
              where m.user_id = o.user_id and m.organization_id = o.organization_id
                and m.role = 'peer_mentor'
              order by m.chapter_id limit 1)) as chapter_id
    from outcome o
    where o.scenario_rule_id is not null
  ),
  logged as (
    insert into public.follow_up_notification_log (
      peer_mentor_id, chapter_id, scenario_rule_id, delivered_at, delivery_channel,
      idempotency_key, status, organization_id, notification_id, failure_reason)
    select c.user_id, c.chapter_id, c.scenario_rule_id, at, channel,
           private.idempotency_key('follow_up', c.scenario_id::text, channel),
           case c.outcome when 'sent' then 'delivered' else c.outcome end,
           c.organization_id, c.notification_id,
           case when c.outcome = 'failed' then pg_catalog.left(pg_catalog.regexp_replace(
             coalesce(nullif(c.failure_reason, ''), 'unknown'), '[^A-Za-z0-9_.:-]', '_', 'g'), 100) end
    from chapter c
    cross join lateral pg_catalog.unnest(c.channels) as channel
    where c.chapter_id is not null
    on conflict (idempotency_key) do nothing
    returning 1
  ),
  moved as (
    -- Sent once delivered; failed or skipped only from pending.
    update public.scenario_notifications s
    set delivery_status = o.outcome
    from outcome o
    where s.id = o.scenario_id
      and (o.outcome = 'sent' and s.delivery_status <> 'sent'
           or o.outcome in ('failed', 'skipped') and s.delivery_status = 'pending')
    returning s.id, s.user_id, s.scenario_type, s.triggered_at, s.cooldown_until, s.delivery_status
  ),
  released as (
    update public.scenario_cooldowns c
    set cooldown_until = c.last_triggered_at
    from moved m
    where m.delivery_status = 'failed'
      and m.cooldown_until is not null
      and c.user_id = m.user_id
      and c.scenario_type = m.scenario_type
      and c.last_triggered_at = m.triggered_at
      and c.cooldown_until = m.cooldown_until
    returning 1
  )
  -- Data-modifying CTEs run to completion whether read or not.
  select count(*) from moved into changed;
  return changed;
end
$$;
comment on function private.record_scenario_outcomes(jsonb, timestamptz) is
  'Records what became of scenario notices'' pushes: scenario_notifications.delivery_status, the cooldown release on failure, and follow_up_notification_log (once per scenario notification and channel).';

revoke all on function private.record_scenario_outcomes(jsonb, timestamptz)
  from public, anon, authenticated, service_role;

alter table public.activities enable row level security;
alter table public.scenario_rules enable row level security;
alter table public.scenario_notifications enable row level security;
alter table public.follow_up_notification_log enable row level security;
-- scenario_cooldowns: RLS on and no policy; internal to the trigger above.
alter table public.scenario_cooldowns enable row level security;

drop policy if exists activities_select_own_or_led on public.activities;
create policy activities_select_own_or_led on public.activities
  for select to authenticated
  using (peer_mentor_id = (select auth.uid()) or chapter_id = any ((select private.led_chapter_ids())::uuid[]));

-- Activities: only a peer mentor registers activities, only their own, only
-- in a chapter where they are a peer mentor, and never dated after now.
drop policy if exists activities_insert_own on public.activities;
create policy activities_insert_own on public.activities
  for insert to authenticated
  with check (
    peer_mentor_id = (select auth.uid())
    and chapter_id = any ((select private.peer_mentor_chapter_ids())::uuid[])
    and occurred_at <= (select now())
  );
comment on policy activities_insert_own on public.activities is
  'A peer mentor registers their own activities, in a chapter where they are a peer mentor, dated no later than now.';

drop policy if exists scenario_rules_select_led on public.scenario_rules;
create policy scenario_rules_select_led on public.scenario_rules
  for select to authenticated
  using (
    chapter_id = any ((select private.led_chapter_ids())::uuid[])
    or (chapter_id is null and organization_id = any ((select private.led_organization_ids())::uuid[]))
  );

drop policy if exists scenario_notifications_select_own on public.scenario_notifications;
create policy scenario_notifications_select_own on public.scenario_notifications
  for select to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists follow_up_notification_log_select_led on public.follow_up_notification_log;
create policy follow_up_notification_log_select_led on public.follow_up_notification_log
  for select to authenticated
  using (chapter_id = any ((select private.led_chapter_ids())::uuid[]));

-- Privileges (see the grants note in 01_organisations_and_people.sql). A person registers
-- their own activities; when it was registered (created_at) is the
-- database's clock, never the client's, so the occurred-at check cannot be
-- stepped round. The cooldown table is the trigger's (and service_role's).
revoke all on public.activities, public.scenario_rules, public.scenario_notifications,
  public.scenario_cooldowns, public.follow_up_notification_log
  from anon, authenticated, service_role;
grant select on public.activities, public.scenario_rules, public.scenario_notifications,
  public.follow_up_notification_log
  to authenticated;
grant insert (id, organization_id, chapter_id, peer_mentor_id, activity_type, occurred_at)
  on public.activities to authenticated;
grant select, insert, update, delete on public.activities, public.scenario_rules,
  public.scenario_notifications, public.scenario_cooldowns, public.follow_up_notification_log
  to service_role;
