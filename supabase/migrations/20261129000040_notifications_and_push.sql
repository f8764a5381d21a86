-- Baseline 4/7: in-app notifications (ticket 004), the devices they are
-- pushed to, the durable push queue (outbox) the dispatcher drains, and each
-- person's push preferences and send window (issue 5).
--
-- A person may opt out of push for a category and keep the in-app notice:
-- the dispatcher then records the push as skipped, neither sent nor lost.
-- Pushes are held until the recipient's local send window opens (the
-- organisation's, default 08:00-21:00 in its timezone, or the person's own);
-- tiers an organisation names in push_immediate_tiers go out at once. Held
-- pushes are rows with a later available_at, so they survive restarts.

create table if not exists public.notifications (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  recipient_id uuid not null references public.users (id) on delete cascade,
  subject_mentor_id uuid not null references public.users (id) on delete cascade,
  category text not null,
  certificate_type text,
  threshold_tier text,
  notification_window_start date,
  message_key text not null,
  data jsonb not null default '{}',
  status text not null default 'pending',
  idempotency_key text not null,
  created_at timestamptz not null default now(),
  status_changed_at timestamptz,
  seen_at timestamptz,
  read_at timestamptz,
  archived_at timestamptz,
  constraint notifications_idempotency_key_key unique (idempotency_key),
  -- certification_follow_up: the certification-expiry follow-up scenario
  -- (issue 4) reminds a mentor about a tier on its own rule and cooldown,
  -- beside the sweep's notice; its own category keeps it out of the sweep's
  -- once-per-tier duplicate index and expiry columns (the certificate, type
  -- and tier travel in data).
  constraint notifications_category_check
    check (category in ('certification_expiry', 'certification_follow_up', 'inactivity', 'milestone', 'welcome_back')),
  constraint notifications_certificate_type_check check (certificate_type is null or private.is_known_certificate_type(certificate_type)),
  constraint notifications_threshold_tier_check check (
    threshold_tier is null
    or threshold_tier in ('expiry_warning_90d', 'expiry_warning_60d', 'expiry_warning_30d', 'expiry_warning_7d', 'expired')
  ),
  constraint notifications_expiry_fields_check check (
    case when category = 'certification_expiry'
      then certificate_type is not null and threshold_tier is not null and notification_window_start is not null
      else certificate_type is null and threshold_tier is null and notification_window_start is null
    end
  ),
  constraint notifications_message_key_check check (message_key ~ '^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$'),
  constraint notifications_data_check check (jsonb_typeof(data) = 'object' and octet_length(data::text) <= 4096),
  constraint notifications_data_privacy_check check (not private.contains_personal_data(data)),
  constraint notifications_status_check check (status in ('pending', 'sent', 'failed', 'skipped')),
  constraint notifications_idempotency_key_check check (idempotency_key ~ '^[0-9a-f]{64}$')
);
comment on table public.notifications is 'In-app notifications shown in the mentor''s and coordinator''s inbox; each may also be pushed to their devices through push_outbox.';
comment on column public.notifications.id is 'Identifier of the notification.';
comment on column public.notifications.organization_id is 'Organisation in whose programme the notice was raised.';
comment on column public.notifications.recipient_id is 'Who sees the notification in their inbox.';
comment on column public.notifications.subject_mentor_id is 'The mentor the notice is about: the recipient themself, or the mentor a coordinator is being told about.';
comment on column public.notifications.category is
  'What the notification is about: certification_expiry (the expiry sweep''s notice), certification_follow_up (the expiry follow-up scenario), inactivity, milestone or welcome_back.';
comment on column public.notifications.certificate_type is 'For certification_expiry: the certificate type code; null otherwise.';
comment on column public.notifications.threshold_tier is 'For certification_expiry: the tier (expiry_warning_90d/60d/30d/7d or expired); null otherwise.';
comment on column public.notifications.notification_window_start is 'For certification_expiry: the expiry date the notice belongs to (its expiry cycle); null otherwise.';
comment on column public.notifications.message_key is 'Translation key of the text the app shows (e.g. certification.expiry.warning_30d); texts are rendered in the recipient''s locale, so no personal text is stored.';
comment on column public.notifications.data is 'Non-personal parameters for the text and the app (deep link, days left, milestone); at most 4 KiB.';
comment on column public.notifications.status is
  'Delivery state of the notice: pending until its pushes are done, then sent, failed, or skipped (the recipient opted out of push for the category; the in-app notice stands).';
comment on column public.notifications.idempotency_key is 'Lowercase hex SHA-256 derived from ids, tier or scenario and cycle; a re-run collides instead of notifying twice.';
comment on column public.notifications.created_at is 'When the notification was created.';
comment on column public.notifications.status_changed_at is 'When status last changed.';
comment on column public.notifications.seen_at is 'When the recipient first saw it in the inbox; set by the recipient.';
comment on column public.notifications.read_at is 'When the recipient opened it; set by the recipient.';
comment on column public.notifications.archived_at is 'When the recipient archived it; set by the recipient.';
comment on constraint notifications_idempotency_key_key on public.notifications is 'this notification already exists; the same notice is never created twice';
comment on constraint notifications_category_check on public.notifications is
  'the category must be certification_expiry, certification_follow_up, inactivity, milestone or welcome_back';
comment on constraint notifications_certificate_type_check on public.notifications is 'the certificate type must be one of hlf_peer_mentor, nhf_peer_mentor, blindeforbundet_peer_mentor';
comment on constraint notifications_threshold_tier_check on public.notifications is 'the threshold tier must be one of expiry_warning_90d, expiry_warning_60d, expiry_warning_30d, expiry_warning_7d, expired';
comment on constraint notifications_expiry_fields_check on public.notifications is 'certificate type, threshold tier and expiry cycle are required for certification_expiry notifications and must be empty for other categories';
comment on constraint notifications_message_key_check on public.notifications is 'the message key must be a dotted lowercase translation key such as certification.expiry.warning_30d';
comment on constraint notifications_data_check on public.notifications is 'data must be a JSON object of at most 4 KiB';
comment on constraint notifications_data_privacy_check on public.notifications is
  'data may hold ids, codes and counts only, never a national identity number, an e-mail address or a phone number';
comment on constraint notifications_status_check on public.notifications is
  'the status must be pending, sent, failed or skipped';
comment on constraint notifications_idempotency_key_check on public.notifications is 'the idempotency key must be a lowercase hex SHA-256 digest (64 characters), never readable data';
-- Ticket 004's duplicate check: one expiry notice per mentor, certificate
-- type, tier and cycle for each recipient, enforced rather than checked.
create unique index if not exists notifications_expiry_duplicate_key
  on public.notifications (subject_mentor_id, certificate_type, threshold_tier, notification_window_start, recipient_id)
  where category = 'certification_expiry';
comment on index public.notifications_expiry_duplicate_key is
  'this expiry notice already exists; a recipient gets one notice per mentor, certificate type, tier and expiry cycle';
create index if not exists notifications_recipient_id_created_at_idx on public.notifications (recipient_id, created_at desc);
create index if not exists notifications_subject_mentor_id_idx on public.notifications (subject_mentor_id);
create index if not exists notifications_organization_id_idx on public.notifications (organization_id);

create table if not exists public.device_tokens (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.users (id) on delete cascade,
  platform text not null,
  provider text not null,
  token text not null,
  last_refreshed_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  constraint device_tokens_token_key unique (token),
  constraint device_tokens_platform_check check (platform in ('android', 'ios')),
  constraint device_tokens_provider_check check (provider in ('fcm', 'apns')),
  constraint device_tokens_provider_platform_check check (provider = 'fcm' or platform = 'ios'),
  constraint device_tokens_token_check check (length(token) between 8 and 4096 and token !~ '\s')
);
comment on table public.device_tokens is 'Push tokens of the devices a person uses the app on; one person may have several devices on both platforms. Not per organisation: a device belongs to a person.';
comment on column public.device_tokens.id is 'Identifier of the registration.';
comment on column public.device_tokens.user_id is 'Owner of the device.';
comment on column public.device_tokens.platform is 'android or ios.';
comment on column public.device_tokens.provider is 'Which push service the token belongs to: fcm (Android, or iOS through Firebase) or apns (iOS directly).';
comment on column public.device_tokens.token is 'The FCM registration token or APNs device token.';
comment on column public.device_tokens.last_refreshed_at is 'When the app last re-registered the token (every launch); tokens not refreshed for 30 days are stale.';
comment on column public.device_tokens.created_at is 'When the token was first registered.';
comment on constraint device_tokens_token_key on public.device_tokens is 'a push token is registered once; re-registering refreshes it';
comment on constraint device_tokens_platform_check on public.device_tokens is 'the platform must be android or ios';
comment on constraint device_tokens_provider_check on public.device_tokens is 'the provider must be fcm or apns';
comment on constraint device_tokens_provider_platform_check on public.device_tokens is 'APNs tokens exist only on ios devices';
comment on constraint device_tokens_token_check on public.device_tokens is 'a push token must be 8-4096 characters without white space';
create index if not exists device_tokens_user_id_idx on public.device_tokens (user_id);
create index if not exists device_tokens_last_refreshed_at_idx on public.device_tokens (last_refreshed_at);

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

alter table public.notifications enable row level security;
alter table public.device_tokens enable row level security;
-- push_outbox: RLS on and no policy; only service_role touches the queue.
alter table public.push_outbox enable row level security;

drop policy if exists notifications_select_own on public.notifications;
create policy notifications_select_own on public.notifications
  for select to authenticated
  using (recipient_id = (select auth.uid()));

-- The recipient may mark a notification seen, read or archived; the column
-- privileges below keep every other column out of reach.
drop policy if exists notifications_update_own on public.notifications;
create policy notifications_update_own on public.notifications
  for update to authenticated
  using (recipient_id = (select auth.uid()))
  with check (recipient_id = (select auth.uid()));

drop policy if exists device_tokens_select_own on public.device_tokens;
create policy device_tokens_select_own on public.device_tokens
  for select to authenticated
  using (user_id = (select auth.uid()));
drop policy if exists device_tokens_insert_own on public.device_tokens;
create policy device_tokens_insert_own on public.device_tokens
  for insert to authenticated
  with check (user_id = (select auth.uid()));
drop policy if exists device_tokens_update_own on public.device_tokens;
create policy device_tokens_update_own on public.device_tokens
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));
drop policy if exists device_tokens_delete_own on public.device_tokens;
create policy device_tokens_delete_own on public.device_tokens
  for delete to authenticated
  using (user_id = (select auth.uid()));

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


-- Privileges (see the grants note in 20261129000010).
revoke all on public.notifications, public.device_tokens, public.push_outbox, public.push_preferences
  from anon, authenticated, service_role;
grant select on public.notifications, public.device_tokens, public.push_preferences to authenticated;
-- Your inbox: only the seen/read/archived marks.
grant update (seen_at, read_at, archived_at) on public.notifications to authenticated;
-- Your devices: registered, refreshed and removed by the app. The row's own
-- bookkeeping (created_at) is the database's.
grant insert (id, user_id, platform, provider, token, last_refreshed_at)
  on public.device_tokens to authenticated;
grant update (platform, provider, token, last_refreshed_at)
  on public.device_tokens to authenticated;
grant delete on public.device_tokens to authenticated;
-- Your push choices.
grant insert (user_id, muted_categories, window_start, window_end)
  on public.push_preferences to authenticated;
grant update (muted_categories, window_start, window_end, updated_at)
  on public.push_preferences to authenticated;
grant delete on public.push_preferences to authenticated;
-- push_outbox is the dispatcher's queue: service_role's alone.
grant select, insert, update, delete on public.notifications, public.device_tokens, public.push_outbox,
  public.push_preferences
  to service_role;
