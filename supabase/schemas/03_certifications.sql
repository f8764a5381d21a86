-- pgls-ignore-all lint/safety/avoidCreateTrigger: on a new database the tables these
-- triggers are added to were created empty just before, so the SHARE ROW EXCLUSIVE
-- lock a trigger takes blocks nothing. Triggers are how this project keeps an
-- invariant between tables (a row and the state derived from it) that no writer
-- may forget; workflows, by contrast, are explicit statements of the jobs.

-- Certificates, the expiry sweep's per-certificate state (ticket 000) and the
-- internal log of expiry notices (ticket 001). The database keeps the sweep
-- state in step with the certificate record, so no writer can forget to.

-- A renewal_history entry must say which shape it has, so later migrations can
-- transform old entries (ticket 001, risk 3).
create or replace function private.is_valid_renewal_history(history jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select pg_catalog.jsonb_typeof(history) = 'array'
    and not exists (
      select 1
      from pg_catalog.jsonb_array_elements(history) as entry
      where pg_catalog.jsonb_typeof(entry) <> 'object'
        or pg_catalog.jsonb_typeof(entry -> 'schema_version') is distinct from 'number'
        or (entry ->> 'schema_version')::numeric < 1
        or (entry ->> 'schema_version')::numeric <> trunc((entry ->> 'schema_version')::numeric)
    )
$$;
comment on function private.is_valid_renewal_history(jsonb) is
  'True when renewal_history is a JSON array of objects that each carry a positive whole schema_version.';
revoke all on function private.is_valid_renewal_history(jsonb) from public;
grant execute on function private.is_valid_renewal_history(jsonb) to authenticated, service_role;

create table if not exists public.peer_mentor_certifications (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  peer_mentor_id uuid not null references public.users (id) on delete cascade,
  certificate_type text not null,
  issued_on date not null,
  expiry_date date not null,
  renewal_history jsonb not null default '[]',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint peer_mentor_certifications_peer_mentor_id_certificate_type_key unique (peer_mentor_id, certificate_type),
  -- Target of the tracking table's cascading foreign key, which copies these
  -- columns and keeps them identical.
  constraint peer_mentor_certifications_tracked_columns_key
    unique (id, organization_id, peer_mentor_id, certificate_type, expiry_date),
  constraint peer_mentor_certifications_certificate_type_check check (private.is_known_certificate_type(certificate_type)),
  constraint peer_mentor_certifications_dates_check check (issued_on <= expiry_date),
  constraint peer_mentor_certifications_renewal_history_check check (private.is_valid_renewal_history(renewal_history))
);
comment on table public.peer_mentor_certifications is 'The record of a peer mentor''s certificate: what it is, when it was issued, when it expires and how it was renewed.';
comment on column public.peer_mentor_certifications.id is 'Identifier of the certificate.';
comment on column public.peer_mentor_certifications.organization_id is 'Organisation that issued the certificate.';
comment on column public.peer_mentor_certifications.peer_mentor_id is 'The certified mentor.';
comment on column public.peer_mentor_certifications.certificate_type is 'Certificate type code (hlf_peer_mentor, nhf_peer_mentor, blindeforbundet_peer_mentor); a code, never a name.';
comment on column public.peer_mentor_certifications.issued_on is 'Date the current certificate period started.';
comment on column public.peer_mentor_certifications.expiry_date is 'Last day the certificate is valid, in the organisation''s local calendar; the mentor is lapsed from the next day.';
comment on column public.peer_mentor_certifications.renewal_history is 'JSON array of renewals, oldest first, appended by the database whenever expiry_date changes. Entry shape, schema_version 1: {"schema_version":1,"renewed_at":timestamptz,"previous_expiry_date":date,"new_expiry_date":date}.';
comment on column public.peer_mentor_certifications.created_at is 'When the certificate was first recorded.';
comment on column public.peer_mentor_certifications.updated_at is 'When the certificate record last changed.';
comment on constraint peer_mentor_certifications_peer_mentor_id_certificate_type_key on public.peer_mentor_certifications is 'a mentor has one certificate record per certificate type; renew it instead of adding another';
comment on constraint peer_mentor_certifications_tracked_columns_key on public.peer_mentor_certifications is 'the columns the expiry tracking row mirrors identify one certificate';
comment on constraint peer_mentor_certifications_certificate_type_check on public.peer_mentor_certifications is 'the certificate type must be one of hlf_peer_mentor, nhf_peer_mentor, blindeforbundet_peer_mentor';
comment on constraint peer_mentor_certifications_dates_check on public.peer_mentor_certifications is 'a certificate cannot expire before it was issued';
comment on constraint peer_mentor_certifications_renewal_history_check on public.peer_mentor_certifications is 'renewal history must be a JSON array of objects, each with a positive whole schema_version';
create index if not exists peer_mentor_certifications_organization_id_idx on public.peer_mentor_certifications (organization_id);
create index if not exists peer_mentor_certifications_expiry_date_idx on public.peer_mentor_certifications (expiry_date);
-- A mentor's latest certificate per organisation: the mentor directory
-- (06_mentor_directory.sql) copies it into each listing whenever certificates change.
create index if not exists peer_mentor_certifications_organization_id_peer_mentor_id_idx
  on public.peer_mentor_certifications (organization_id, peer_mentor_id, expiry_date);

-- Ticket 000: the sweep's per-certificate notification state.
-- pgls-ignore lint/safety/preferBigInt: notification_thresholds_sent holds days (0-90), never near 2^31; widening it would change the schema the code reads.
-- pgls-ignore lint/safety/preferBigintOverInt: notification_thresholds_sent holds days (0-90), never near 2^31; widening it would change the schema the code reads.
create table if not exists public.certification_expiry_tracking (
  id uuid primary key default gen_random_uuid(),
  peer_mentor_id uuid not null references auth.users (id) on delete cascade,
  certificate_type text not null,
  expiry_date date not null,
  last_notified_at timestamptz,
  notification_thresholds_sent integer[] not null default '{}'::integer[],
  organization_id uuid not null references public.organizations (id) on delete cascade,
  certification_id uuid not null,
  -- The organisation-local business day the sweep last told about the
  -- certificate, written with the tier mark: last_notified_at is the real
  -- clock and cannot say which business day a catch-up or test run decided for.
  last_notified_on date,
  -- ON UPDATE CASCADE copies a renewal's new expiry date (and any correction
  -- of the mentor or type) from the certificate, so the two never disagree.
  constraint certification_expiry_tracking_certification_fkey
    foreign key (certification_id, organization_id, peer_mentor_id, certificate_type, expiry_date)
    references public.peer_mentor_certifications (id, organization_id, peer_mentor_id, certificate_type, expiry_date)
    on update cascade on delete cascade,
  constraint certification_expiry_tracking_certification_id_key unique (certification_id),
  constraint certification_expiry_tracking_certificate_type_check check (private.is_known_certificate_type(certificate_type)),
  constraint certification_expiry_tracking_thresholds_sent_check check (
    notification_thresholds_sent <@ '{90,60,30,7,0}'::integer[]
    and array_position(notification_thresholds_sent, null) is null
  )
);
comment on table public.certification_expiry_tracking is 'Per-certificate state of the daily expiry sweep: which warning tiers have been sent for the current expiry date. One row per certificate, created and kept in step by the database.';
comment on column public.certification_expiry_tracking.id is 'Identifier of the tracking row.';
comment on column public.certification_expiry_tracking.peer_mentor_id is 'The mentor holding the certificate (auth.users id); the only person reference in this table.';
comment on column public.certification_expiry_tracking.certificate_type is 'Certificate type code, copied from the certificate; a code, not a name.';
comment on column public.certification_expiry_tracking.expiry_date is 'Current expiry date, copied from the certificate; a new date starts a new notification cycle.';
comment on column public.certification_expiry_tracking.last_notified_at is 'When the sweep last notified about this certificate in the current cycle; null when not yet.';
comment on column public.certification_expiry_tracking.notification_thresholds_sent is 'Tiers already notified in the current expiry cycle, as days before expiry (90, 60, 30, 7) and 0 for lapsed; emptied when the expiry date changes.';
comment on column public.certification_expiry_tracking.organization_id is 'Organisation that issued the certificate.';
comment on column public.certification_expiry_tracking.certification_id is 'The certificate this row tracks.';
comment on constraint certification_expiry_tracking_certification_fkey on public.certification_expiry_tracking is 'the tracking row must mirror an existing certificate''s organisation, mentor, type and expiry date';
comment on constraint certification_expiry_tracking_certification_id_key on public.certification_expiry_tracking is 'a certificate has exactly one tracking row';
comment on constraint certification_expiry_tracking_certificate_type_check on public.certification_expiry_tracking is 'the certificate type must be one of hlf_peer_mentor, nhf_peer_mentor, blindeforbundet_peer_mentor';
comment on constraint certification_expiry_tracking_thresholds_sent_check on public.certification_expiry_tracking is 'thresholds sent may only contain 90, 60, 30, 7 (days before expiry) and 0 (lapsed)';
comment on column public.certification_expiry_tracking.last_notified_on is
  'Organisation-local business day on which the sweep last told about this certificate (the day it decided for, which a catch-up run may set apart from last_notified_at); the certification follow-up stands aside on that day, so nobody hears twice about one certificate in a day.';
create index if not exists certification_expiry_tracking_expiry_date_idx on public.certification_expiry_tracking (expiry_date);
create index if not exists certification_expiry_tracking_peer_mentor_id_idx on public.certification_expiry_tracking (peer_mentor_id);
create index if not exists certification_expiry_tracking_expiry_date_peer_mentor_id_idx on public.certification_expiry_tracking (expiry_date, peer_mentor_id);
create index if not exists certification_expiry_tracking_thresholds_sent_idx on public.certification_expiry_tracking using gin (notification_thresholds_sent);
-- No index of its own for the foreign keys to organizations and to the
-- certificate: a tier mark is never a heap-only update (it changes the
-- GIN-indexed array), so it writes an entry into every index of the table,
-- and these two would only repeat others (migration 20261207000300). The
-- organisation's deletes read the (organization_id, expiry_date) index below,
-- whose first column it is; the certificate's cascades find the row by
-- certification_id, unique on its own (certification_expiry_tracking_certification_id_key).

-- The daily expiry sweep works one organisation at a time and picks that
-- organisation's certificates expiring before its furthest warning window
-- (or already lapsed). With many organisations in one database, neither the
-- organisation index nor the expiry-date index alone narrows that down.
create index if not exists certification_expiry_tracking_organization_id_expiry_date_idx
  on public.certification_expiry_tracking (organization_id, expiry_date);
comment on index public.certification_expiry_tracking_organization_id_expiry_date_idx is
  'Lets the expiry sweep find one organisation''s certificates inside (or past) its warning windows.';

-- A renewal is a change of expiry date: record it in the history and keep
-- updated_at honest, whoever wrote the change.
create or replace function private.peer_mentor_certifications_before_write()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' then
    new.updated_at := pg_catalog.now();
    if new.expiry_date is distinct from old.expiry_date then
      new.renewal_history := new.renewal_history || pg_catalog.jsonb_build_array(
        pg_catalog.jsonb_build_object(
          'schema_version', 1,
          'renewed_at', pg_catalog.now(),
          'previous_expiry_date', old.expiry_date,
          'new_expiry_date', new.expiry_date
        )
      );
    end if;
  end if;
  return new;
end
$$;
comment on function private.peer_mentor_certifications_before_write() is
  'Appends a schema_version 1 renewal_history entry when expiry_date changes and stamps updated_at.';

-- Every certificate gets its tracking row the moment it exists. Statement
-- level, so a bulk load is one INSERT ... SELECT; SECURITY DEFINER so that
-- whoever may write a certificate need not be allowed to write sweep state.
create or replace function private.peer_mentor_certifications_after_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.certification_expiry_tracking
    (certification_id, organization_id, peer_mentor_id, certificate_type, expiry_date)
  select id, organization_id, peer_mentor_id, certificate_type, expiry_date
  from inserted_rows
  on conflict (certification_id) do nothing;
  return null;
end
$$;
comment on function private.peer_mentor_certifications_after_insert() is
  'Creates the certification_expiry_tracking rows for newly inserted certificates.';

-- A new expiry date starts a new notification cycle: a renewed certificate
-- is warned about again, tier by tier, so the tiers sent are emptied.
create or replace function private.certification_expiry_tracking_before_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.expiry_date is distinct from old.expiry_date then
    new.notification_thresholds_sent := '{}'::integer[];
    new.last_notified_at := null;
  end if;
  return new;
end
$$;
comment on function private.certification_expiry_tracking_before_update() is
  'Resets the sent tiers and last_notified_at when the tracked expiry date changes.';

revoke all on function private.peer_mentor_certifications_before_write() from public;
revoke all on function private.peer_mentor_certifications_after_insert() from public;
revoke all on function private.certification_expiry_tracking_before_update() from public;

create or replace trigger peer_mentor_certifications_before_write
  before insert or update on public.peer_mentor_certifications
  for each row execute function private.peer_mentor_certifications_before_write();

create or replace trigger peer_mentor_certifications_after_insert
  after insert on public.peer_mentor_certifications
  referencing new table as inserted_rows
  for each statement execute function private.peer_mentor_certifications_after_insert();

create or replace trigger certification_expiry_tracking_before_update
  before update on public.certification_expiry_tracking
  for each row execute function private.certification_expiry_tracking_before_update();

-- Ticket 001: internal, append-only log of expiry notices.
create table if not exists public.cert_notification_log (
  id uuid primary key default gen_random_uuid(),
  certification_id uuid not null references public.peer_mentor_certifications (id) on delete cascade,
  notification_type text not null,
  sent_at timestamptz not null default now(),
  recipient_id uuid not null references public.users (id) on delete cascade,
  idempotency_key text not null,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  constraint cert_notification_log_idempotency_key_key unique (idempotency_key),
  constraint cert_notification_log_notification_type_check check (
    notification_type in ('expiry_warning_90d', 'expiry_warning_60d', 'expiry_warning_30d', 'expiry_warning_7d', 'expired')
  ),
  constraint cert_notification_log_idempotency_key_check check (idempotency_key ~ '^[0-9a-f]{64}$')
);
comment on table public.cert_notification_log is 'Internal, append-only record of every certificate-expiry notice sent (to the mentor and to their coordinator); the sweep''s exactly-once guard. No access for app users.';
comment on column public.cert_notification_log.id is 'Identifier of the log row.';
comment on column public.cert_notification_log.certification_id is 'Certificate the notice was about; deleting the certificate deletes its log.';
comment on column public.cert_notification_log.notification_type is 'Tier of the notice: expiry_warning_90d, expiry_warning_60d, expiry_warning_30d, expiry_warning_7d or expired.';
comment on column public.cert_notification_log.sent_at is 'When the notice was recorded as sent; the retention job prunes by it.';
comment on column public.cert_notification_log.recipient_id is 'Who received the notice: the mentor, their coordinator or a chapter admin.';
comment on column public.cert_notification_log.idempotency_key is 'Lowercase hex SHA-256 of certification id, notification type, expiry date (the cycle) and recipient id, joined by |; deterministic, so a re-run collides instead of resending, and a hash, so it can never carry PII.';
comment on column public.cert_notification_log.organization_id is 'Organisation that issued the certificate.';
comment on constraint cert_notification_log_idempotency_key_key on public.cert_notification_log is 'this notice has already been logged; a notice is sent once per certificate, tier, expiry date and recipient';
comment on constraint cert_notification_log_notification_type_check on public.cert_notification_log is 'the notification type must be one of expiry_warning_90d, expiry_warning_60d, expiry_warning_30d, expiry_warning_7d, expired';
comment on constraint cert_notification_log_idempotency_key_check on public.cert_notification_log is 'the idempotency key must be a lowercase hex SHA-256 digest (64 characters), never readable data';
create index if not exists cert_notification_log_certification_id_notification_type_idx on public.cert_notification_log (certification_id, notification_type);
create index if not exists cert_notification_log_recipient_id_idx on public.cert_notification_log (recipient_id);
create index if not exists cert_notification_log_organization_id_idx on public.cert_notification_log (organization_id);
create index if not exists cert_notification_log_sent_at_idx on public.cert_notification_log (sent_at);

alter table public.peer_mentor_certifications enable row level security;
alter table public.certification_expiry_tracking enable row level security;
-- cert_notification_log: RLS on and deliberately no policy for anon or
-- authenticated (ticket 001), so only service_role sees it.
alter table public.cert_notification_log enable row level security;

-- A certificate belongs to one organisation, and a mentor may belong to
-- chapters of several. A coordinator follows a mentor only inside the
-- organisation of the chapters they lead, so "mentors I follow" is not enough:
-- the certificate's organisation must be the followed chapter's too.
create or replace function private.followed_certification_ids()
returns uuid[]
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(array_agg(distinct cert.id), '{}')
  from public.chapter_memberships leader
  join public.chapter_memberships mentor
    on mentor.chapter_id = leader.chapter_id and mentor.role = 'peer_mentor'
  join public.chapters chapter on chapter.id = leader.chapter_id
  join public.peer_mentor_certifications cert
    on cert.peer_mentor_id = mentor.user_id and cert.organization_id = chapter.organization_id
  where leader.user_id = (select auth.uid())
    and leader.role in ('coordinator', 'chapter_admin')
$$;
comment on function private.followed_certification_ids() is
  'Certificates of mentors in a chapter the current user coordinates or administers, issued by that chapter''s organisation.';
revoke all on function private.followed_certification_ids() from public;
grant execute on function private.followed_certification_ids() to authenticated, service_role;

drop policy if exists peer_mentor_certifications_select_own_or_followed on public.peer_mentor_certifications;
create policy peer_mentor_certifications_select_own_or_followed on public.peer_mentor_certifications
  for select to authenticated
  using (
    peer_mentor_id = (select auth.uid())
    or id = any ((select private.followed_certification_ids())::uuid[])
  );

drop policy if exists certification_expiry_tracking_select_own on public.certification_expiry_tracking;
create policy certification_expiry_tracking_select_own on public.certification_expiry_tracking
  for select to authenticated
  using (peer_mentor_id = (select auth.uid()));

-- Privileges (see the grants note in 01_organisations_and_people.sql): mentors and their
-- coordinators read certificates and sweep state through RLS; the notice log
-- is service_role's alone.
revoke all on public.peer_mentor_certifications, public.certification_expiry_tracking,
  public.cert_notification_log
  from anon, authenticated, service_role;
grant select on public.peer_mentor_certifications, public.certification_expiry_tracking to authenticated;
grant select, insert, update, delete on public.peer_mentor_certifications,
  public.certification_expiry_tracking, public.cert_notification_log
  to service_role;
