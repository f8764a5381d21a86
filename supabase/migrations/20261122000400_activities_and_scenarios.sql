-- Mentor activity, the per-chapter scenario rules, the record of scenario
-- notifications (ticket 003) and the delivery log of follow-up pushes (ticket 002).

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
  )
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
create index if not exists scenario_rules_organization_id_chapter_id_idx on public.scenario_rules (organization_id, chapter_id);
create index if not exists scenario_rules_chapter_id_idx on public.scenario_rules (chapter_id);

-- Ticket 003.
create table if not exists public.scenario_notifications (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  scenario_type text not null,
  triggered_at timestamptz not null default now(),
  delivery_status text not null default 'pending',
  milestone_value integer,
  metadata jsonb,
  constraint scenario_notifications_scenario_type_check check (
    scenario_type in ('inactivity', 'milestone', 'certification_expiry', 'welcome_back')
  ),
  constraint scenario_notifications_delivery_status_check check (delivery_status in ('pending', 'sent', 'failed')),
  constraint scenario_notifications_milestone_value_check check (
    (scenario_type = 'milestone') = (milestone_value is not null) and (milestone_value is null or milestone_value > 0)
  ),
  constraint scenario_notifications_metadata_check check (metadata is null or jsonb_typeof(metadata) = 'object')
);
comment on table public.scenario_notifications is 'Every follow-up scenario notification raised for a person: the engine''s memory for cooldowns and once-only milestones. UUIDs and codes only, no personal data.';
comment on column public.scenario_notifications.id is 'Identifier of the scenario notification.';
comment on column public.scenario_notifications.user_id is 'The person notified (auth.users id).';
comment on column public.scenario_notifications.organization_id is 'Organisation whose rule fired; lets reporting and future sharding stay per tenant.';
comment on column public.scenario_notifications.scenario_type is 'inactivity, milestone, certification_expiry or welcome_back.';
comment on column public.scenario_notifications.triggered_at is 'When the scenario fired; cooldowns are measured from it.';
comment on column public.scenario_notifications.delivery_status is 'pending until delivered, then sent or failed.';
comment on column public.scenario_notifications.milestone_value is 'For milestone: the activity count crossed (e.g. 50), so "already sent?" needs no metadata parsing; null for other scenarios.';
comment on column public.scenario_notifications.metadata is 'Non-personal context (rule id, counts, tier) as a JSON object; never an identity number, e-mail or phone number.';
comment on constraint scenario_notifications_scenario_type_check on public.scenario_notifications is 'the scenario type must be inactivity, milestone, certification_expiry or welcome_back';
comment on constraint scenario_notifications_delivery_status_check on public.scenario_notifications is 'the delivery status must be pending, sent or failed';
comment on constraint scenario_notifications_milestone_value_check on public.scenario_notifications is 'a milestone notification needs a positive milestone value, and only milestone notifications have one';
comment on constraint scenario_notifications_metadata_check on public.scenario_notifications is 'metadata must be a JSON object';
-- Cooldown lookups (ticket 003).
create index if not exists scenario_notifications_user_id_scenario_type_triggered_at_idx
  on public.scenario_notifications (user_id, scenario_type, triggered_at desc);
-- Organisation-level reporting (ticket 003).
create index if not exists scenario_notifications_org_scenario_type_triggered_at_idx
  on public.scenario_notifications (organization_id, scenario_type, triggered_at desc);
-- The most common cooldown question only counts delivered notifications.
create index if not exists scenario_notifications_sent_idx
  on public.scenario_notifications (user_id, scenario_type) where delivery_status = 'sent';

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

alter table public.activities enable row level security;
alter table public.scenario_rules enable row level security;
alter table public.scenario_notifications enable row level security;
alter table public.follow_up_notification_log enable row level security;

drop policy if exists activities_select_own_or_led on public.activities;
create policy activities_select_own_or_led on public.activities
  for select to authenticated
  using (peer_mentor_id = (select auth.uid()) or chapter_id = any ((select private.led_chapter_ids())::uuid[]));

-- Mentors register their own activities, only for chapters they belong to.
drop policy if exists activities_insert_own on public.activities;
create policy activities_insert_own on public.activities
  for insert to authenticated
  with check (peer_mentor_id = (select auth.uid()) and chapter_id = any ((select private.member_chapter_ids())::uuid[]));

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
