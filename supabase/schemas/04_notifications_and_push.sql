-- In-app notifications (ticket 004), the devices they are pushed to, each
-- person's push preferences and send window (issue 5), and the push pipeline
-- the dispatcher drains (issue 16): one push per person, devices resolved
-- when the push is sent, a daily push budget with digests, and each device's
-- delivery in plain sight.
--
-- A person may opt out of push for a category and keep the in-app notice:
-- the dispatcher then records the push as skipped, neither sent nor lost.
-- Pushes are held until the recipient's local send window opens (the
-- organisation's, default 08:00-21:00 in its timezone, or the person's own);
-- tiers an organisation names in push_immediate_tiers go out at once. Held
-- pushes are rows with a later available_at, so they survive restarts.
--
--   push_notices     one row per notification to push to its recipient,
--                    written only by private.enqueue_push (below). The
--                    dispatcher's stages (mentor_notify/push/sql/) decide
--                    when and as what it goes (send window, daily budget,
--                    folding what is due into one push, a digest), read the
--                    recipient's devices at send time and ask again right
--                    before each request whether the device is still theirs.
--   push_deliveries  one row per pushed notice and device: each device's own
--                    outcome, so a retry goes only to the devices that failed.
--   push_budget_days the pushes each person got inside their send window per
--                    organisation-local day; its row lock serialises two
--                    dispatchers deciding for one person.
--
-- Settling is explicit: the dispatcher's settle statement
-- (mentor_notify/push/sql/settle.sql) moves the notice and its notification
-- in one statement and returns the notifications settled; the scenarios'
-- bookkeeping is their own reaction to it (private.record_scenario_outcomes,
-- in 05_activities_and_scenarios.sql).

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
  -- Its foreign key to scenario_notifications is added with that table
  -- (05_activities_and_scenarios.sql).
  scenario_notification_id uuid,
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
-- Pages are filled (the default fillfactor), unlike push_deliveries'. With half
-- of each page left free the settle's status update was heap-only and the
-- push's database work per message fell, but the expiry sweep, which writes
-- every notification, spread its inserts over twice the pages and took as much
-- more (BENCHMARKS.md, issue 25's fourth pass): the cost moved, it did not go.
comment on table public.notifications is
  'In-app notifications shown in the mentor''s and coordinator''s inbox; each may also be pushed to their devices through push_notices.';
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
comment on column public.notifications.scenario_notification_id is
  'For a follow-up scenario''s notice: the scenario notification that raised it, whose delivery status and cooldown the push settles; null for the expiry sweep''s notices.';
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
create index if not exists notifications_created_at_idx on public.notifications (created_at);
comment on index public.notifications_created_at_idx is
  'Lets maintenance prune find notices past the notification retention oldest first, a batch at a time.';

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
parallel safe
as $$
  -- One expression (no FROM, no SET clause) so that it is inlined into the
  -- claim, which asks it for every notice (migration 20261207100100).
  select case
    when opens = closes then at
    when (opens < closes and (at at time zone tz)::time >= opens and (at at time zone tz)::time < closes)
      or (opens > closes and ((at at time zone tz)::time >= opens or (at at time zone tz)::time < closes))
      then at
    when (at at time zone tz)::time < opens then ((at at time zone tz)::date + opens) at time zone tz
    else (((at at time zone tz)::date + 1) + opens) at time zone tz
  end
$$;
comment on function private.push_send_time(timestamptz, text, time, time) is
  'The earliest time at or after `at` inside the daily send window [opens, closes) of timezone tz.';
revoke all on function private.push_send_time(timestamptz, text, time, time) from public;

alter table public.notifications enable row level security;
alter table public.device_tokens enable row level security;

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


-- Privileges (see the grants note in 01_organisations_and_people.sql).
revoke all on public.notifications, public.device_tokens, public.push_preferences
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
grant select, insert, update, delete on public.notifications, public.device_tokens,
  public.push_preferences
  to service_role;

-- The notices ------------------------------------------------------------------

-- A push body (a notice's own, or the one a push sent): checked when it is
-- written, never again. As a CHECK on push_notices the privacy walk and the
-- size test ran on every update of a notice (its lease, its settle), each
-- about 10 % of the database's work per pushed message (migration
-- 20261207200100); a domain's checks run only where a value is assigned.
do $domain$
begin
  if to_regtype('private.push_body') is null then
    create domain private.push_body as jsonb
      constraint push_body_check check (jsonb_typeof(value) = 'object' and octet_length(value::text) <= 4096)
      constraint push_body_privacy_check check (not private.contains_personal_data(value));
  end if;
end
$domain$;
comment on domain private.push_body is
  'A push body: a JSON object of at most 4 KiB (the FCM limit) holding keys, ids and counts, never personal data.';
comment on constraint push_body_check on domain private.push_body is 'a push body must be a JSON object of at most 4 KiB';
comment on constraint push_body_privacy_check on domain private.push_body is
  'a push body holds ids, keys and counts only, never a national identity number, an e-mail address or a phone number';

-- organization_id and recipient_id are the notification's, copied by the one
-- writer (private.enqueue_push); the notice goes with its notification
-- (notification_id's cascade), which goes with its organisation and person.
-- Their own foreign keys and indexes only repeated that, at two index entries
-- a row version (migration 20261207200100).
-- pgls-ignore lint/safety/preferBigInt: attempts counts send attempts, never near 2^31.
-- pgls-ignore lint/safety/preferBigintOverInt: attempts counts send attempts, never near 2^31.
create table if not exists public.push_notices (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  notification_id uuid not null references public.notifications (id) on delete cascade,
  recipient_id uuid not null,
  payload private.push_body not null,
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
  sent_payload private.push_body,
  constraint push_notices_notification_id_key unique (notification_id),
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
-- A person's due notices, for the claim to fold into one push: every condition
-- of that lookup is in this one index. Right after a first run (260,000 new
-- notices, statistics not yet refreshed) the planner otherwise combined the
-- recipient index with push_notices_pending_idx, walking every due notice of
-- the queue once per person (18 s a claim at a million certificates).
create index if not exists push_notices_pending_recipient_idx
  on public.push_notices (recipient_id, organization_id, available_at) where status = 'pending';
create index if not exists push_notices_carried_by_idx on public.push_notices (carried_by) where carried_by is not null;
create index if not exists push_notices_settled_at_idx on public.push_notices (settled_at) where settled_at is not null;
create index if not exists push_notices_dead_idx on public.push_notices (created_at desc) where status = 'dead';
comment on index public.push_notices_pending_recipient_idx is
  'Lets the claim take all of a recipient''s due notices at once, to fold them into one push.';
comment on index public.push_notices_settled_at_idx is
  'Lets the retention job find the oldest settled notices without scanning the queue.';

-- The deliveries ---------------------------------------------------------------

-- organization_id is the notice's (a delivery goes with its notice), without
-- a foreign key or index of its own, as on push_notices.
-- pgls-ignore lint/safety/preferBigInt: attempts counts send attempts, never near 2^31.
-- pgls-ignore lint/safety/preferBigintOverInt: attempts counts send attempts, never near 2^31.
create table if not exists public.push_deliveries (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
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
)
-- Room on each page for the settle's update of each delivery (status, error,
-- sent time: in no index), so that it is heap-only, as on notifications.
with (fillfactor = 50);
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
create index if not exists push_deliveries_device_token_id_idx
  on public.push_deliveries (device_token_id) where device_token_id is not null;
comment on index public.push_deliveries_device_token_id_idx is
  'Serves the foreign key to device_tokens (deleting a dead token clears its deliveries'' reference).';

-- The budget ledger ------------------------------------------------------------

-- A ledger row is read only on its own day; the retention job prunes the rows
-- with the settled pushes (maintenance/retention.py), a day at a time along
-- the key, which leads with the day. That pruning is also what removes a
-- deleted person's or organisation's rows: foreign keys for it cost the
-- claim a key check, a row lock on the person and an index entry for every
-- person's first push of each day (about 6 % of the database's work per
-- pushed message, migration 20261207200200).
-- pgls-ignore lint/safety/preferBigInt: used counts one person's pushes on one day (at most the budget, 50, plus immediate tiers).
-- pgls-ignore lint/safety/preferBigintOverSmallint: used counts one person's pushes on one day (at most the budget, 50, plus immediate tiers).
create table if not exists public.push_budget_days (
  recipient_id uuid not null,
  organization_id uuid not null,
  local_day date not null,
  used smallint not null default 0,
  constraint push_budget_days_pkey primary key (local_day, recipient_id, organization_id),
  constraint push_budget_days_used_check check (used >= 0)
);
comment on table public.push_budget_days is
  'Pushes each person got per organisation-local day: the daily budget''s ledger. The dispatcher locks a person''s row to decide, so two dispatchers never both spend the last push of the day.';
comment on column public.push_budget_days.recipient_id is 'The person.';
comment on column public.push_budget_days.organization_id is 'The organisation whose budget and calendar apply.';
comment on column public.push_budget_days.local_day is 'The day in the organisation''s timezone.';
comment on column public.push_budget_days.used is
  'Pushes sent to the person that day while their send window was open (immediate tiers included, even past the budget); a push sent while it is closed counts on no day.';
comment on constraint push_budget_days_used_check on public.push_budget_days is 'pushes used cannot be negative';

-- The rules the claim applies --------------------------------------------------

-- The one urgency order of a push's notices: the carrier of a digest is the
-- most urgent. Lapsed first, then the nearest expiry tier, then anything else
-- (scenario nudges); within each, high priority first.
create or replace function private.push_urgency(payload jsonb)
returns integer
language sql
immutable
parallel safe
as $$
  select case payload -> 'data'::text ->> 'tier'::text
           when 'expired'::text then 60
           when 'expiry_warning_7d'::text then 50
           when 'expiry_warning_30d'::text then 40
           when 'expiry_warning_60d'::text then 30
           when 'expiry_warning_90d'::text then 20
           else 10
         end
         + case when payload ->> 'priority'::text = 'high'::text then 1 else 0 end
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

-- The one shape of a push (issue 25): every push_notices.payload, whoever
-- queues it (the expiry sweep through private.expiry_push_payload, the
-- scenario engine's scenarios/sql/deliver_hits.sql) and the digest the claim
-- folds (push/sql/digest.sql), is built here, so the senders (push/fcm.py,
-- push/apns.py, which map it onto the FCM and APNs bodies) read one shape.
-- Provider-neutral and personal-data-free: a category (the APNs thread), the
-- title and body translation keys, the priority (high for urgent pushes) and
-- data, whose notification_id and deep_link every push carries; the caller
-- adds its own ids and codes. Inlined into the statements that call it (the
-- expiry sweep calls it once per notice), so like the expiry rule functions
-- it has no SET clause: called schema-qualified, every value cast to text.
create or replace function private.push_payload(
  category text, title_key text, body_key text, urgent boolean, notification_id uuid,
  deep_link text, data jsonb
)
returns jsonb
language sql
stable
parallel safe
as $$
  select pg_catalog.jsonb_build_object(
           'category', category,
           'title_key', title_key,
           'body_key', body_key,
           'priority', case when urgent then 'high' else 'normal' end,
           'data', coalesce(data, '{}'::jsonb) || pg_catalog.jsonb_build_object(
                                                      'notification_id', notification_id::text,
                                                      'deep_link', deep_link))
$$;
comment on function private.push_payload(text, text, text, boolean, uuid, text, jsonb) is
  'The one builder of push_notices.payload (expiry notices, scenario nudges, digests): category, title and body keys, priority (high when urgent), and data with the notification id and deep link added to the caller''s ids.';

revoke all on function private.push_urgency(jsonb) from public, anon, authenticated, service_role;
revoke all on function private.push_payload(text, text, text, boolean, uuid, text, jsonb)
  from public, anon, authenticated, service_role;
revoke all on function private.digest_link(boolean) from public, anon, authenticated, service_role;

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

-- The one way into the queue ---------------------------------------------------

-- Every producer (the expiry sweep's expiry/sql/enqueue.sql, the scenario
-- engine's scenarios/sql/deliver_hits.sql) hands its notices to push here, so
-- what a queued push carries, and that a repeat is a no-op, is decided in one
-- place: the push package owns its own input (issue 25). The function is the
-- owner's, called by the jobs as the owner; nobody else may execute it.
-- One push to queue, as a producer hands it over: the notification it
-- announces, its organisation and recipient, the payload it sends and the
-- collapse key. A typed row, so a producer's set reaches the queue as an
-- array, read back by unnest without being written out as JSON and parsed
-- again (issue 28: 14 us a push, 4 s of a million-certificate first run).
do $$
begin
  if to_regtype('private.push_notice_in') is null then
    create type private.push_notice_in as (
      notification_id uuid,
      organization_id uuid,
      recipient_id uuid,
      payload jsonb,
      collapse_key text
    );
  end if;
end
$$;
comment on type private.push_notice_in is
  'One push handed to private.enqueue_push: notification_id, organization_id, recipient_id, payload, collapse_key.';
revoke all on type private.push_notice_in from public;

create or replace function private.enqueue_push(notices private.push_notice_in[], at timestamptz)
returns integer
language sql
volatile
set search_path = ''
as $$
  -- One notice per notification: its recipient, organisation, the payload the
  -- push sends (translation keys, ids, the deep link) and the collapse key.
  -- Devices are not fixed here: they are read when the push is sent.
  with queued as (
    insert into public.push_notices (
      organization_id, notification_id, recipient_id, payload, collapse_key, status,
      available_at, created_at
    )
    select n.organization_id, n.notification_id, n.recipient_id, n.payload, n.collapse_key,
           'pending', at, at
    from pg_catalog.unnest(notices) as n
    on conflict do nothing
    returning 1
  )
  select count(*)::integer from queued
$$;
comment on function private.enqueue_push(private.push_notice_in[], timestamptz) is
  'The one way into the push queue: queues the pushes given (private.push_notice_in) as pending notices due at `at`; a notification already queued is left alone. Returns how many were queued.';
revoke all on function private.enqueue_push(private.push_notice_in[], timestamptz)
  from public, anon, authenticated, service_role;

-- The same, for a producer that builds its pushes as one JSON array of
-- {notification_id, organization_id, recipient_id, payload, collapse_key}
-- objects (the scenario engine): read into the typed rows and queued by the
-- function above, which stays the only writer of push_notices.
create or replace function private.enqueue_push(notices jsonb, at timestamptz)
returns integer
language sql
volatile
set search_path = ''
as $$
  select private.enqueue_push(
           array(select n from pg_catalog.jsonb_populate_recordset(null::private.push_notice_in, notices) as n),
           at)
$$;
comment on function private.enqueue_push(jsonb, timestamptz) is
  'The one way into the push queue for a JSON array of {notification_id, organization_id, recipient_id, payload, collapse_key}: queued by enqueue_push(push_notice_in[], timestamptz). Returns how many were queued.';
revoke all on function private.enqueue_push(jsonb, timestamptz)
  from public, anon, authenticated, service_role;
