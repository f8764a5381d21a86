-- Rollback of 20261129000500_person_outbox: back to one push_outbox row per
-- notification and device, settled through its trigger. Notices still
-- pending become one push_outbox row per current device of their recipient;
-- the rest of the new bookkeeping (deliveries, the budget ledger, digests)
-- goes. The notifications keep their inbox state. Idempotent.

-- pgls-ignore lint/safety/preferBigInt: attempts counts send attempts, never near 2^31; widening it would change the schema the code reads.
-- pgls-ignore lint/safety/preferBigintOverInt: attempts counts send attempts, never near 2^31; widening it would change the schema the code reads.
create table if not exists public.push_outbox (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  notification_id uuid not null references public.notifications (id) on delete cascade,
  recipient_id uuid not null references public.users (id) on delete cascade,
  device_token_id uuid references public.device_tokens (id) on delete set null,
  provider text not null,
  payload jsonb not null,
  collapse_key text,
  idempotency_key text not null,
  status text not null default 'pending',
  attempts integer not null default 0,
  available_at timestamptz not null default now(),
  leased_until timestamptz,
  leased_by text,
  last_error text,
  created_at timestamptz not null default now(),
  sent_at timestamptz,
  constraint push_outbox_idempotency_key_key unique (idempotency_key),
  constraint push_outbox_provider_check check (provider in ('fcm', 'apns')),
  constraint push_outbox_payload_check check (jsonb_typeof(payload) = 'object' and octet_length(payload::text) <= 4096),
  constraint push_outbox_collapse_key_check check (collapse_key is null or length(collapse_key) between 1 and 64),
  constraint push_outbox_idempotency_key_check check (idempotency_key ~ '^[0-9a-f]{64}$'),
  -- skipped: not sent because the recipient opted out of push for the category.
  constraint push_outbox_status_check check (status in ('pending', 'in_flight', 'sent', 'failed', 'dead', 'skipped')),
  constraint push_outbox_attempts_check check (attempts >= 0),
  constraint push_outbox_lease_check check ((status = 'in_flight') = (leased_until is not null))
);
comment on table public.push_outbox is 'Durable queue of push messages, one per notification and device, written in the same transaction as the notification and drained by dispatcher workers with FOR UPDATE SKIP LOCKED.';
comment on column public.push_outbox.id is 'Identifier of the message.';
comment on column public.push_outbox.organization_id is 'Organisation of the notification; partitions the queue per tenant.';
comment on column public.push_outbox.notification_id is 'The in-app notification this push announces.';
comment on column public.push_outbox.recipient_id is 'Who the push is for.';
comment on column public.push_outbox.device_token_id is 'Device to deliver to; null once the token was deleted as dead, and the message then fails.';
comment on column public.push_outbox.provider is 'Push service to use: fcm or apns.';
comment on column public.push_outbox.payload is 'The provider message body (title/body keys, data with the deep link); at most 4 KiB, the FCM limit.';
comment on column public.push_outbox.collapse_key is 'Collapse key / apns-collapse-id so a resend replaces rather than duplicates on the device (at most 64 bytes for APNs).';
comment on column public.push_outbox.idempotency_key is 'Lowercase hex SHA-256 of notification and device; a re-run cannot queue the same push twice, and receivers can de-duplicate by it.';
comment on column public.push_outbox.status is
  'pending (waiting, possibly held for the send window), in_flight (leased by a worker), sent, failed (permanent error), dead (retries exhausted) or skipped (recipient opted out of push for the category).';
comment on column public.push_outbox.attempts is 'How many send attempts have been made.';
comment on column public.push_outbox.available_at is 'Earliest time the message may be sent: now, a retry''s backoff, or the opening of the recipient''s send window.';
comment on column public.push_outbox.leased_until is 'While in_flight: when the worker''s lease runs out and another worker may claim the message.';
comment on column public.push_outbox.leased_by is 'Identifier of the worker holding the lease (host and process), for diagnosis.';
comment on column public.push_outbox.last_error is 'Provider error code of the last failed attempt (e.g. UNREGISTERED); codes only, never personal data.';
comment on column public.push_outbox.created_at is 'When the message was queued.';
comment on column public.push_outbox.sent_at is 'When the provider accepted the message.';
comment on constraint push_outbox_idempotency_key_key on public.push_outbox is 'this push is already queued; a notification is pushed to a device once';
comment on constraint push_outbox_provider_check on public.push_outbox is 'the provider must be fcm or apns';
comment on constraint push_outbox_payload_check on public.push_outbox is 'the payload must be a JSON object of at most 4 KiB';
comment on constraint push_outbox_collapse_key_check on public.push_outbox is 'a collapse key must be 1-64 characters';
comment on constraint push_outbox_idempotency_key_check on public.push_outbox is 'the idempotency key must be a lowercase hex SHA-256 digest (64 characters), never readable data';
comment on constraint push_outbox_status_check on public.push_outbox is
  'the status must be pending, in_flight, sent, failed, dead or skipped';
comment on constraint push_outbox_attempts_check on public.push_outbox is 'attempts cannot be negative';
comment on constraint push_outbox_lease_check on public.push_outbox is 'a message is in flight exactly when it has a lease expiry';
-- The dispatcher's claim query: due pending messages, oldest first.
create index if not exists push_outbox_pending_idx on public.push_outbox (available_at) where status = 'pending';
-- Finding leases of dead workers.
create index if not exists push_outbox_in_flight_idx on public.push_outbox (leased_until) where status = 'in_flight';
create index if not exists push_outbox_organization_id_idx on public.push_outbox (organization_id);
create index if not exists push_outbox_notification_id_idx on public.push_outbox (notification_id);
create index if not exists push_outbox_recipient_id_idx on public.push_outbox (recipient_id);
create index if not exists push_outbox_device_token_id_idx on public.push_outbox (device_token_id);

alter table public.push_outbox enable row level security;
revoke all on public.push_outbox from anon, authenticated, service_role;
grant select, insert, update, delete on public.push_outbox to service_role;

do $$
begin
  if pg_catalog.to_regclass('public.push_notices') is not null then
    insert into public.push_outbox (
      organization_id, notification_id, recipient_id, device_token_id, provider, payload,
      collapse_key, idempotency_key, status, available_at, created_at)
    select p.organization_id, p.notification_id, p.recipient_id, d.id, d.provider, p.payload,
           p.collapse_key, private.idempotency_key(p.notification_id::text, d.id::text),
           'pending', p.available_at, p.created_at
    from public.push_notices p
    join public.device_tokens d on d.user_id = p.recipient_id
    where p.status in ('pending', 'in_flight')
    on conflict do nothing;
  end if;
end
$$;

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

create or replace trigger scenario_notifications_claim_cooldown
  before insert on public.scenario_notifications
  for each row execute function private.scenario_notifications_claim_cooldown();

create or replace trigger scenario_notifications_release_cooldown
  after update of delivery_status on public.scenario_notifications
  for each row
  when (new.delivery_status = 'failed' and old.delivery_status <> 'failed' and new.cooldown_until is not null)
  execute function private.scenario_notifications_release_cooldown();


-- Ticket 002: follow_up_notification_log is written as deliveries happen.
-- Whatever drains the outbox records each push's outcome on its push_outbox
-- row (sent, failed, dead, skipped); for pushes of scenario notifications
-- this trigger then writes the coordinators' delivery record and moves the
-- scenario notification's delivery_status (sent once any device got it;
-- failed or skipped when none did and none is still pending; failed also
-- releases its cooldown). The record cannot be forgotten by a dispatcher, and
-- a retried outcome collides on its idempotency key instead of doubling.

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

create or replace trigger push_outbox_record_follow_up
  after update of status on public.push_outbox
  for each row
  when (new.status in ('sent', 'failed', 'dead', 'skipped') and old.status is distinct from new.status)
  execute function private.push_outbox_record_follow_up();

-- The data-quality report reads push_outbox again.
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
  join public.push_outbox o on o.recipient_id = m.user_id and o.organization_id = ch.organization_id
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


comment on table public.notifications is 'In-app notifications shown in the mentor''s and coordinator''s inbox; each may also be pushed to their devices through push_outbox.';

drop table if exists public.push_deliveries;
drop table if exists public.push_notices;
drop table if exists public.push_budget_days;
drop function if exists private.record_scenario_outcomes(jsonb, timestamptz);
drop function if exists private.digest_link(boolean);
drop function if exists private.push_urgency(jsonb);
drop index if exists public.notifications_scenario_notification_id_idx;
alter table public.notifications drop column if exists scenario_notification_id;
alter table public.organizations drop constraint if exists organizations_push_daily_budget_check;
alter table public.organizations drop column if exists push_daily_budget;
