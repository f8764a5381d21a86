-- pgls-ignore-all lint/safety/runningStatementWhileHoldingAccessExclusive: this
-- migration replaces the push queue in one transaction (the new tables, the
-- rows still queued, the old table dropped), so later statements run under the
-- locks of earlier ones by design; the tables it alters are small
-- (organizations) or brief to alter (notifications: a nullable column and a
-- foreign key validated once), and the timeouts below bound the wait.

-- Issue 16: one push per person, devices resolved when the push is sent, a
-- daily push budget with digests, and delivery bookkeeping in plain sight.
--
-- push_outbox held one row per notification and device, with the device
-- fixed when the notice was queued: a device that changed hands meanwhile got
-- the previous owner's push, a device registered meanwhile got nothing, and
-- writing a row per device was a third of the expiry sweep's server time. Now:
--
--   push_notices     one row per notification to push to its recipient. The
--                    dispatcher's claim reads the recipient's devices at send
--                    time, applies their daily budget and folds what is due
--                    together into one push (a digest).
--   push_deliveries  one row per pushed notice and device: each device's own
--                    outcome, so a retry goes only to the devices that failed.
--   push_budget_days the pushes each person got per organisation-local day;
--                    its row lock serialises two dispatchers deciding for one
--                    person.
--
-- Settling is explicit: the dispatcher's settle statement
-- (mentor_notify/push/sql/record.sql) moves the notice, its notification and
-- the scenario bookkeeping (private.record_scenario_outcomes) in one
-- statement; the trigger that did it on push_outbox, and the one releasing a
-- cooldown on a failed scenario delivery, go. The notification points to its
-- scenario notification by a foreign key instead of a JSON field.
--
-- Idempotent: every step is guarded (if not exists / create or replace /
-- drop ... if exists), so applying it twice is harmless.

-- Give up at once rather than queue behind a long transaction (queued, the
-- locks would stall the jobs meanwhile), and never hold them indefinitely.
-- These settings end with this migration's transaction; if a lock is not
-- granted in time, run it again.
set local lock_timeout = '5s';
set local statement_timeout = '10min';
set local idle_in_transaction_session_timeout = '1min';

-- 1. Organisation push budget ------------------------------------------------

-- pgls-ignore lint/safety/preferBigInt: a daily push budget is 1-50 (CHECK below).
-- pgls-ignore lint/safety/preferBigintOverSmallint: a daily push budget is 1-50 (CHECK below).
-- pgls-ignore lint/safety/constraintMissingNotValid: every organisation has the new column's default (1), and there are a handful of them; validating in a separate transaction would buy nothing.
alter table public.organizations
  add column if not exists push_daily_budget smallint not null default 1,
  drop constraint if exists organizations_push_daily_budget_check,
  add constraint organizations_push_daily_budget_check
    check (push_daily_budget between 1 and 50);
comment on column public.organizations.push_daily_budget is
  'Pushes a person gets at most per organisation-local day (default 1); what is due beyond it is held to the next day and folded into that push (a digest). Tiers in push_immediate_tiers go at once and count.';
comment on constraint organizations_push_daily_budget_check on public.organizations is
  'the daily push budget must be between 1 and 50 pushes per person';

-- 2. Notification -> scenario notification, a foreign key --------------------

-- pgls-ignore lint/safety/avoidWideLockWindow: the foreign key needs both tables, for one pass over a column that is new (all null) here.
-- pgls-ignore lint/safety/addingForeignKeyConstraint: the column is new and null in every row, so the check finds nothing to refuse; the migration's transaction could not validate it separately anyway.
-- pgls-ignore lint/safety/constraintMissingNotValid: as above, validating a new all-null column reads the table once and refuses nothing.
alter table public.notifications
  add column if not exists scenario_notification_id uuid,
  drop constraint if exists notifications_scenario_notification_id_fkey,
  add constraint notifications_scenario_notification_id_fkey foreign key (scenario_notification_id)
    references public.scenario_notifications (id) on delete set null;
comment on column public.notifications.scenario_notification_id is
  'For a follow-up scenario''s notice: the scenario notification that raised it, whose delivery status and cooldown the push settles; null for the expiry sweep''s notices.';
create index if not exists notifications_scenario_notification_id_idx
  on public.notifications (scenario_notification_id) where scenario_notification_id is not null;
comment on index public.notifications_scenario_notification_id_idx is
  'Serves the foreign key to scenario_notifications (deleting one clears the reference).';
update public.notifications n
set scenario_notification_id = (n.data ->> 'scenario_notification_id')::uuid
where n.scenario_notification_id is null
  and n.data ? 'scenario_notification_id'
  and exists (select 1 from public.scenario_notifications s
              where s.id = (n.data ->> 'scenario_notification_id')::uuid);

-- 3. The notices ----------------------------------------------------------------

-- pgls-ignore lint/safety/preferBigInt: attempts counts send attempts, never near 2^31.
-- pgls-ignore lint/safety/preferBigintOverInt: attempts counts send attempts, never near 2^31.
create table if not exists public.push_notices (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  notification_id uuid not null references public.notifications (id) on delete cascade,
  recipient_id uuid not null references public.users (id) on delete cascade,
  payload jsonb not null,
  collapse_key text,
  status text not null default 'pending',
  available_at timestamptz not null default now(),
  attempts integer not null default 0,
  leased_until timestamptz,
  leased_by text,
  last_error text,
  created_at timestamptz not null default now(),
  settled_at timestamptz,
  carried_by uuid references public.push_notices (id) on delete set null,
  budget_day date,
  sent_payload jsonb,
  constraint push_notices_notification_id_key unique (notification_id),
  constraint push_notices_payload_check check (jsonb_typeof(payload) = 'object' and octet_length(payload::text) <= 4096),
  constraint push_notices_sent_payload_check check (
    sent_payload is null
    or jsonb_typeof(sent_payload) = 'object' and octet_length(sent_payload::text) <= 4096
       and not private.contains_personal_data(sent_payload)
  ),
  constraint push_notices_collapse_key_check check (collapse_key is null or length(collapse_key) between 1 and 64),
  constraint push_notices_status_check check (
    status in ('pending', 'in_flight', 'sent', 'failed', 'dead', 'skipped', 'folded')
  ),
  constraint push_notices_attempts_check check (attempts >= 0),
  constraint push_notices_lease_check check ((status = 'in_flight') = (leased_until is not null)),
  constraint push_notices_carried_by_check check (carried_by is null or status = 'folded' and carried_by <> id)
);
comment on table public.push_notices is
  'Durable push queue: one row per notification to push to its recipient, written with the notification and drained by dispatchers (FOR UPDATE SKIP LOCKED). Devices are read when the push is sent; what one push carried is folded into it.';
comment on column public.push_notices.id is 'Identifier of the notice.';
comment on column public.push_notices.organization_id is 'Organisation of the notification; its timezone, send window and daily budget apply.';
comment on column public.push_notices.notification_id is 'The in-app notification this push announces (one notice per notification).';
comment on column public.push_notices.recipient_id is 'Who the push is for; their devices at the moment of sending receive it.';
comment on column public.push_notices.payload is 'The notification''s own push body (title/body keys, data with the deep link); at most 4 KiB, the FCM limit.';
comment on column public.push_notices.collapse_key is 'Collapse key / apns-collapse-id so a resend replaces rather than duplicates on the device (at most 64 bytes for APNs).';
comment on column public.push_notices.status is
  'pending (waiting for its time), in_flight (leased to a dispatcher), sent, failed (refused for good, or no device), dead (out of attempts), skipped (the recipient muted the category; the in-app notice stands) or folded (delivered inside the push of the notice in carried_by).';
comment on column public.push_notices.available_at is 'Earliest time the notice may be sent: now, a retry''s backoff, the opening of the recipient''s send window, or the next day''s when the budget is spent.';
comment on column public.push_notices.attempts is 'How many times the notice was claimed for sending.';
comment on column public.push_notices.leased_until is 'While in_flight: when the dispatcher''s lease runs out and another may claim the notice.';
comment on column public.push_notices.leased_by is 'Identifier of the dispatcher holding the lease (host and process), for diagnosis.';
comment on column public.push_notices.last_error is 'Error code of the last failed attempt (e.g. UNREGISTERED, NO_DEVICE); codes only, never personal data.';
comment on column public.push_notices.created_at is 'When the notice was queued.';
comment on column public.push_notices.settled_at is 'When the notice reached its final state (for a folded notice: when its carrier did); the retention job prunes by it.';
comment on column public.push_notices.carried_by is 'For a folded notice: the notice whose push delivered it (a digest).';
comment on column public.push_notices.budget_day is 'The organisation-local day whose push budget this notice''s push used; kept for retries, which use no more.';
comment on column public.push_notices.sent_payload is 'The body actually sent (the notice''s own payload, or a digest), fixed at the first claim so every retry sends the same; keys and counts only.';
comment on constraint push_notices_notification_id_key on public.push_notices is 'this notification is already queued for push; a notification is pushed once';
comment on constraint push_notices_payload_check on public.push_notices is 'the payload must be a JSON object of at most 4 KiB';
comment on constraint push_notices_sent_payload_check on public.push_notices is
  'the sent payload must be a JSON object of at most 4 KiB holding ids, keys and counts only, never personal data';
comment on constraint push_notices_collapse_key_check on public.push_notices is 'a collapse key must be 1-64 characters';
comment on constraint push_notices_status_check on public.push_notices is
  'the status must be pending, in_flight, sent, failed, dead, skipped or folded';
comment on constraint push_notices_attempts_check on public.push_notices is 'attempts cannot be negative';
comment on constraint push_notices_lease_check on public.push_notices is 'a notice is in flight exactly when it has a lease expiry';
comment on constraint push_notices_carried_by_check on public.push_notices is 'only a folded notice names the (other) notice that carried it';
-- The claim's two ordered walks (expired leases, due notices), each on its
-- partial index. Its gathering of a recipient's other due notices reads the
-- recipient's index: a person has few notices, settled ones are pruned.
create index if not exists push_notices_pending_idx on public.push_notices (available_at) where status = 'pending';
create index if not exists push_notices_in_flight_idx on public.push_notices (leased_until) where status = 'in_flight';
create index if not exists push_notices_recipient_id_idx on public.push_notices (recipient_id);
-- A person's due notices, for the claim to fold into one push: every condition
-- of that lookup is in this one index. Right after a first run (260,000 new
-- notices, statistics not yet refreshed) the planner otherwise combined the
-- recipient index with push_notices_pending_idx, walking every due notice of
-- the queue once per person (18 s a claim at a million certificates).
create index if not exists push_notices_pending_recipient_idx
  on public.push_notices (recipient_id, organization_id, available_at) where status = 'pending';
create index if not exists push_notices_organization_id_idx on public.push_notices (organization_id);
create index if not exists push_notices_carried_by_idx on public.push_notices (carried_by) where carried_by is not null;
create index if not exists push_notices_settled_at_idx on public.push_notices (settled_at) where settled_at is not null;
create index if not exists push_notices_dead_idx on public.push_notices (created_at desc) where status = 'dead';
comment on index public.push_notices_recipient_id_idx is
  'Serves the foreign key to users (deleting a person).';
comment on index public.push_notices_pending_recipient_idx is
  'Lets the claim take all of a recipient''s due notices at once, to fold them into one push.';
comment on index public.push_notices_settled_at_idx is
  'Lets the retention job find the oldest settled notices without scanning the queue.';

-- 4. The deliveries -------------------------------------------------------------

-- pgls-ignore lint/safety/preferBigInt: attempts counts send attempts, never near 2^31.
-- pgls-ignore lint/safety/preferBigintOverInt: attempts counts send attempts, never near 2^31.
create table if not exists public.push_deliveries (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  notice_id uuid not null references public.push_notices (id) on delete cascade,
  device_token_id uuid references public.device_tokens (id) on delete set null,
  provider text not null,
  status text not null default 'in_flight',
  attempts integer not null default 1,
  last_error text,
  sent_at timestamptz,
  created_at timestamptz not null default now(),
  constraint push_deliveries_notice_id_device_token_id_key unique (notice_id, device_token_id),
  constraint push_deliveries_provider_check check (provider in ('fcm', 'apns')),
  constraint push_deliveries_status_check check (status in ('in_flight', 'sent', 'retry', 'failed', 'unregistered')),
  constraint push_deliveries_attempts_check check (attempts >= 1),
  constraint push_deliveries_sent_at_check check ((status = 'sent') = (sent_at is not null))
);
comment on table public.push_deliveries is
  'One row per pushed notice (the carrier of a push) and device it was sent to: each device''s outcome. A retry sends only to devices not yet delivered or refused for good.';
comment on column public.push_deliveries.id is 'Identifier of the delivery; the stable per-device message id sent to the push services (apns-id).';
comment on column public.push_deliveries.organization_id is 'Organisation of the push; partitions the deliveries per tenant.';
comment on column public.push_deliveries.notice_id is 'The notice whose push this is (the carrier).';
comment on column public.push_deliveries.device_token_id is 'The device sent to; null once the token was deleted.';
comment on column public.push_deliveries.provider is 'Push service used: fcm or apns.';
comment on column public.push_deliveries.status is
  'in_flight (being sent), sent (accepted by the service), retry (failed, worth another try), failed (refused for good) or unregistered (the token is dead).';
comment on column public.push_deliveries.attempts is 'How many times the push was sent to this device.';
comment on column public.push_deliveries.last_error is 'Provider error code of the last failed attempt; a code, never personal data.';
comment on column public.push_deliveries.sent_at is 'When the push service accepted the push for this device.';
comment on column public.push_deliveries.created_at is 'When the push was first sent to this device.';
comment on constraint push_deliveries_notice_id_device_token_id_key on public.push_deliveries is
  'a push is delivered to a device once; a retry updates its delivery';
comment on constraint push_deliveries_provider_check on public.push_deliveries is 'the provider must be fcm or apns';
comment on constraint push_deliveries_status_check on public.push_deliveries is
  'the status must be in_flight, sent, retry, failed or unregistered';
comment on constraint push_deliveries_attempts_check on public.push_deliveries is 'a delivery is made by at least one attempt';
comment on constraint push_deliveries_sent_at_check on public.push_deliveries is 'a delivery has a sent time exactly when it was sent';
create index if not exists push_deliveries_organization_id_idx on public.push_deliveries (organization_id);
create index if not exists push_deliveries_device_token_id_idx
  on public.push_deliveries (device_token_id) where device_token_id is not null;
comment on index public.push_deliveries_device_token_id_idx is
  'Serves the foreign key to device_tokens (deleting a dead token clears its deliveries'' reference).';

-- 5. The budget ledger ----------------------------------------------------------

-- pgls-ignore lint/safety/preferBigInt: used counts one person's pushes on one day (at most the budget, 50, plus immediate tiers).
-- pgls-ignore lint/safety/preferBigintOverSmallint: used counts one person's pushes on one day (at most the budget, 50, plus immediate tiers).
create table if not exists public.push_budget_days (
  recipient_id uuid not null references public.users (id) on delete cascade,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  local_day date not null,
  used smallint not null default 0,
  constraint push_budget_days_pkey primary key (recipient_id, organization_id, local_day),
  constraint push_budget_days_used_check check (used >= 0)
);
comment on table public.push_budget_days is
  'Pushes each person got per organisation-local day: the daily budget''s ledger. The dispatcher locks a person''s row to decide, so two dispatchers never both spend the last push of the day.';
comment on column public.push_budget_days.recipient_id is 'The person.';
comment on column public.push_budget_days.organization_id is 'The organisation whose budget and calendar apply.';
comment on column public.push_budget_days.local_day is 'The day in the organisation''s timezone.';
comment on column public.push_budget_days.used is 'Pushes sent to the person that day (immediate tiers included, even past the budget).';
comment on constraint push_budget_days_used_check on public.push_budget_days is 'pushes used cannot be negative';
create index if not exists push_budget_days_organization_id_idx on public.push_budget_days (organization_id);

-- 6. The rules the claim applies ------------------------------------------------

-- The one urgency order of a push's notices: the carrier of a digest is the
-- most urgent. Lapsed first, then the nearest expiry tier, then anything else
-- (scenario nudges); within each, high priority first.
create or replace function private.push_urgency(payload jsonb)
returns integer
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case payload -> 'data' ->> 'tier'
           when 'expired' then 60
           when 'expiry_warning_7d' then 50
           when 'expiry_warning_30d' then 40
           when 'expiry_warning_60d' then 30
           when 'expiry_warning_90d' then 20
           else 10
         end
         + case when payload ->> 'priority' = 'high' then 1 else 0 end
$$;
comment on function private.push_urgency(jsonb) is
  'Urgency of a push payload (higher first): expired > 7 > 30 > 60 > 90 days > scenario and other notices; high priority first within each.';

-- Where a digest opens: a person told only about other people (a coordinator
-- or chapter admin about their mentors) opens the list of their mentors due
-- for renewal; anyone else their inbox.
create or replace function private.digest_link(about_others boolean)
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case when about_others then 'mentornotify://v1/mentors/renewals'
              else 'mentornotify://v1/inbox' end
$$;
comment on function private.digest_link(boolean) is
  'Deep link of a digest push: the mentors-due-for-renewal list for a push only about other people, else the inbox. Mirrors mentor_notify.domain.deep_links.digest_link.';

-- The scenario side of a push outcome, one place for the claim (skipped,
-- dead, no device) and the settle statement (sent, failed): the scenario
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

revoke all on function private.push_urgency(jsonb) from public, anon, authenticated, service_role;
revoke all on function private.digest_link(boolean) from public, anon, authenticated, service_role;
revoke all on function private.record_scenario_outcomes(jsonb, timestamptz)
  from public, anon, authenticated, service_role;

-- 7. Move the queue over --------------------------------------------------------

-- Still-pending pushes of push_outbox become one notice per notification (its
-- devices are read again at send time); the rest is history.
do $$
begin
  if pg_catalog.to_regclass('public.push_outbox') is not null then
    insert into public.push_notices (
      organization_id, notification_id, recipient_id, payload, collapse_key, status,
      available_at, created_at)
    select distinct on (p.notification_id)
           p.organization_id, p.notification_id, p.recipient_id, p.payload, p.collapse_key,
           'pending', p.available_at, p.created_at
    from public.push_outbox p
    where p.status in ('pending', 'in_flight')
    order by p.notification_id, p.available_at
    on conflict (notification_id) do nothing;
  end if;
end
$$;
-- pgls-ignore lint/safety/banDropTrigger: the settle statement does its work now, explicitly (issue 16).
drop trigger if exists push_outbox_record_follow_up on public.push_outbox;
drop function if exists private.push_outbox_record_follow_up();
-- pgls-ignore lint/safety/banDropTable: replaced by push_notices; its queued rows were moved above, the rest is settled history no code reads.
drop table if exists public.push_outbox;

-- The settle statement releases a failed scenario delivery's cooldown itself
-- (private.record_scenario_outcomes); the claim trigger stays: it is the
-- invariant that makes cooldowns race-free.
-- pgls-ignore lint/safety/banDropTrigger: the settle statement releases the cooldown explicitly (issue 16).
drop trigger if exists scenario_notifications_release_cooldown on public.scenario_notifications;
drop function if exists private.scenario_notifications_release_cooldown();

-- 8. The data-quality report reads dead notices -----------------------------

create or replace function private.data_quality_report()
returns table (
  organization_id uuid,
  chapter_id uuid,
  issue text,
  subject_id text,
  person_id uuid,
  since timestamptz
)
language sql
stable
security definer
set search_path = ''
as $$
  with chapters as (
    select c.id, c.organization_id
    from public.chapters c
    where (select auth.role()) = 'service_role'
       or c.id = any ((select private.administered_chapter_ids())::uuid[])
  ),
  mentors as (
    select ch.organization_id, ch.id as chapter_id, m.user_id, m.created_at
    from chapters ch
    join public.chapter_memberships m on m.chapter_id = ch.id and m.role = 'peer_mentor'
  )
  select m.organization_id, m.chapter_id, 'mentor_without_coordinator', m.user_id::text, m.user_id, m.created_at
  from mentors m
  where not exists (
    select 1 from private.mentor_coordinators k
    where k.organization_id = m.organization_id and k.peer_mentor_id = m.user_id
  )
  union all
  select m.organization_id, m.chapter_id, 'large_renewal_history', c.id::text, m.user_id, c.updated_at
  from mentors m
  join public.peer_mentor_certifications c
    on c.peer_mentor_id = m.user_id and c.organization_id = m.organization_id
  where pg_catalog.jsonb_array_length(c.renewal_history) > private.renewal_history_warning_size()
  union all
  select ch.organization_id, ch.id, 'stale_device', d.id::text, d.user_id, d.last_refreshed_at
  from chapters ch
  join public.chapter_memberships m on m.chapter_id = ch.id
  join public.device_tokens d on d.user_id = m.user_id
  where d.last_refreshed_at
        < (select private.stale_device_cutoff(pg_catalog.now(), private.stale_device_age()))
  union all
  select ch.organization_id, ch.id, 'dead_push', o.id::text, o.recipient_id, o.created_at
  from chapters ch
  join public.chapter_memberships m on m.chapter_id = ch.id
  join public.push_notices o on o.recipient_id = m.user_id and o.organization_id = ch.organization_id
  where o.status = 'dead'
  union all
  -- A dead event whose person is unknown reaches no chapter, so it is shown in
  -- every chapter of its organisation; a known person's only in theirs.
  select ch.organization_id, ch.id, 'dead_sync_event', e.id::text, p.user_id, e.processed_at
  from chapters ch
  join public.certificate_sync_events e on e.organization_id = ch.organization_id and e.status = 'dead'
  left join public.certificate_sync_people p
    on p.organization_id = e.organization_id and p.external_person_id = e.external_person_id
  where p.user_id is null
     or exists (select 1 from public.chapter_memberships m where m.chapter_id = ch.id and m.user_id = p.user_id)
$$;
comment on function private.data_quality_report() is
  'Rows of the data-quality report for the chapters the requesting user administers (every chapter for service_role).';

comment on table public.notifications is
  'In-app notifications shown in the mentor''s and coordinator''s inbox; each may also be pushed to their devices through push_notices.';

-- 9. Access ---------------------------------------------------------------------

-- The queue, its deliveries and the ledger are the dispatcher's: RLS on, no
-- policy, service_role only.
alter table public.push_notices enable row level security;
alter table public.push_deliveries enable row level security;
alter table public.push_budget_days enable row level security;
revoke all on public.push_notices, public.push_deliveries, public.push_budget_days
  from anon, authenticated, service_role;
grant select, insert, update, delete on public.push_notices, public.push_deliveries,
  public.push_budget_days
  to service_role;
