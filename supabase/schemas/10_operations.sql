-- Operations (issue 27): what the metrics read that no other table holds, and
-- the silent re-registration push of ticket 000's token-staleness contingency.
--
-- * daily_cycle_successes: when each organisation's daily cycle last finished
--   without a failed step, so "a cycle was missed" can be alerted on from the
--   database, whichever process ran it, and across restarts.
-- * device_reregistrations: one row per device and week the re-registration
--   push went (or was tried) to; its primary key makes "at most once per
--   device per week" a constraint. Apart from the person push queue on
--   purpose: the push is invisible, so it never touches push_notices or the
--   daily budget's ledger.
--
-- Access: both tables are the server's (RLS on, no policy); service_role may
-- read and write what the jobs write, nothing more.

create table if not exists public.daily_cycle_successes (
  organization_id uuid primary key references public.organizations (id) on delete cascade,
  local_date date not null,
  finished_at timestamptz not null
);
comment on table public.daily_cycle_successes is
  'The last daily cycle of each organisation that finished with every step done; read by the metrics (mentor_notify_cycle_last_success_timestamp_seconds) to alert on a missed cycle.';
comment on column public.daily_cycle_successes.organization_id is 'The organisation whose cycle it was.';
comment on column public.daily_cycle_successes.local_date is 'The organisation-local business date the cycle decided for.';
comment on column public.daily_cycle_successes.finished_at is 'When (real clock) the cycle finished.';

create table if not exists public.device_reregistrations (
  device_token_id uuid not null references public.device_tokens (id) on delete cascade,
  week_start date not null,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  provider text not null,
  status text not null default 'sending',
  error_code text,
  created_at timestamptz not null default now(),
  sent_at timestamptz,
  constraint device_reregistrations_pkey primary key (device_token_id, week_start),
  constraint device_reregistrations_week_start_check check (extract(isodow from week_start) = 1),
  constraint device_reregistrations_provider_check check (provider in ('fcm', 'apns')),
  constraint device_reregistrations_status_check check (status in ('sending', 'sent', 'failed')),
  constraint device_reregistrations_sent_at_check check ((status = 'sent') = (sent_at is not null)),
  constraint device_reregistrations_error_code_check check (error_code is null or length(error_code) <= 100)
);
comment on table public.device_reregistrations is
  'Silent re-registration pushes: one row per stale device and week it was sent (or tried) to; the key allows one per device per week. Ids and codes only.';
comment on column public.device_reregistrations.device_token_id is 'The device asked to upload its current token.';
comment on column public.device_reregistrations.week_start is 'Monday (UTC) of the week the push belongs to.';
comment on column public.device_reregistrations.organization_id is 'The organisation whose cycle (or command) sent it.';
comment on column public.device_reregistrations.provider is 'Push service used: fcm or apns.';
comment on column public.device_reregistrations.status is
  'sending (taken for this week, answer not yet recorded), sent (accepted by the service) or failed (refused, or not answered; a token the service calls dead is deleted, taking its rows with it).';
comment on column public.device_reregistrations.error_code is 'The push service''s error code when refused; a code, never personal data.';
comment on column public.device_reregistrations.created_at is 'When the week''s push was taken for the device.';
comment on column public.device_reregistrations.sent_at is 'When the push service accepted it.';
comment on constraint device_reregistrations_pkey on public.device_reregistrations is
  'a device gets the re-registration push at most once a week';
comment on constraint device_reregistrations_week_start_check on public.device_reregistrations is 'a week starts on a Monday';
comment on constraint device_reregistrations_provider_check on public.device_reregistrations is 'the provider must be fcm or apns';
comment on constraint device_reregistrations_status_check on public.device_reregistrations is
  'the status must be sending, sent or failed';
comment on constraint device_reregistrations_sent_at_check on public.device_reregistrations is 'a push has a sent time exactly when it was sent';
comment on constraint device_reregistrations_error_code_check on public.device_reregistrations is 'an error code is at most 100 characters';
create index if not exists device_reregistrations_organization_id_idx on public.device_reregistrations (organization_id);
comment on index public.device_reregistrations_organization_id_idx is
  'Serves the foreign key to organizations (deleting an organisation).';

alter table public.daily_cycle_successes enable row level security;
alter table public.device_reregistrations enable row level security;
revoke all on public.daily_cycle_successes, public.device_reregistrations
  from public, anon, authenticated, service_role;
grant select, insert, update on public.daily_cycle_successes, public.device_reregistrations
  to service_role;
