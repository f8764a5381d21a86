-- Inbound certificate sync from an organisation's membership system (issue 19,
-- ticket 001 risk 1) and the chapter admins' data-quality report (ticket 004
-- risk 2).
--
-- HLF keeps certificate renewals in its Dynamics 365 (Dataverse) portal and
-- sends them by webhook; other organisations may send our own `v1` events.
-- Every authenticated event is first stored in an inbox (only ids, type,
-- dates, the source's modification time and a hash of the body: never names,
-- e-mail addresses or phone numbers, which Dynamics payloads carry), and is
-- applied to peer_mentor_certifications only while the organisation's sync is
-- switched on, so the service can ship before the contract is confirmed and
-- replay what it held once it is. Effects go through the certificate table, so
-- the existing triggers version the renewal history, start a new expiry cycle
-- and refresh the mentor listing.
--
-- Each organisation's membership system authenticates with keys of its own
-- (certificate_sync_keys, hashes only), so it can write only its own
-- organisation's events.
--
-- Grants: Supabase grants the API roles nothing on new tables (changelog
-- 2026-04-28, checked 2026-11-29; see the grants note in
-- 01_organisations_and_people.sql), so the grants below are all there are. The sync tables are the back end's own:
-- service_role reads and writes them, app users get nothing (RLS on, no
-- policy). Chapter admins read the report.

-- ---------------------------------------------------------------------------
-- Settings: the per-organisation feature flag.
-- ---------------------------------------------------------------------------
create table if not exists public.certificate_sync_settings (
  organization_id uuid primary key references public.organizations (id) on delete cascade,
  enabled boolean not null default false,
  updated_at timestamptz not null default now()
);
comment on table public.certificate_sync_settings is 'Per-organisation switch for the inbound certificate sync: while off (or absent) events are accepted and held; `sync replay` applies them once it is on.';
comment on column public.certificate_sync_settings.organization_id is 'Organisation whose membership system sends certificate events.';
comment on column public.certificate_sync_settings.enabled is 'Whether received events are applied to the certificates (true) or only held in the inbox (false).';
comment on column public.certificate_sync_settings.updated_at is 'When the switch last changed.';

-- ---------------------------------------------------------------------------
-- Mappings from the membership system's ids to ours, per organisation.
-- ---------------------------------------------------------------------------
create table if not exists public.certificate_sync_people (
  organization_id uuid not null references public.organizations (id) on delete cascade,
  external_person_id text not null,
  user_id uuid not null references public.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  constraint certificate_sync_people_pkey primary key (organization_id, external_person_id),
  constraint certificate_sync_people_external_person_id_check
    check (length(external_person_id) between 1 and 200 and external_person_id !~ '\s')
);
comment on table public.certificate_sync_people is 'Which of our users each person id of an organisation''s membership system (e.g. a Dataverse contact id) is; an event for a person missing here goes to the dead letter.';
comment on column public.certificate_sync_people.organization_id is 'Organisation whose membership system issued the id.';
comment on column public.certificate_sync_people.external_person_id is 'The membership system''s id of the person (an opaque id, never a name or e-mail address).';
comment on column public.certificate_sync_people.user_id is 'Our user that person is.';
comment on column public.certificate_sync_people.created_at is 'When the mapping was recorded.';
comment on constraint certificate_sync_people_external_person_id_check on public.certificate_sync_people is 'an external person id is 1-200 characters without spaces';
create index if not exists certificate_sync_people_user_id_idx on public.certificate_sync_people (user_id);
alter table public.certificate_sync_people
  drop constraint if exists certificate_sync_people_person_id_not_personal_check,
  add constraint certificate_sync_people_person_id_not_personal_check
    check (not private.text_contains_personal_data(external_person_id)) not valid;
comment on constraint certificate_sync_people_person_id_not_personal_check on public.certificate_sync_people is 'an external person id must be an id, not an e-mail address, phone number or national identity number';

create table if not exists public.certificate_sync_types (
  organization_id uuid not null references public.organizations (id) on delete cascade,
  external_type text not null,
  certificate_type text not null,
  created_at timestamptz not null default now(),
  constraint certificate_sync_types_pkey primary key (organization_id, external_type),
  constraint certificate_sync_types_external_type_check check (length(external_type) between 1 and 200),
  constraint certificate_sync_types_certificate_type_check check (private.is_known_certificate_type(certificate_type))
);
comment on table public.certificate_sync_types is 'Which of our certificate type codes each certificate type of an organisation''s membership system is; an event of a type missing here goes to the dead letter.';
comment on column public.certificate_sync_types.organization_id is 'Organisation whose membership system names the type.';
comment on column public.certificate_sync_types.external_type is 'The membership system''s code or option value of the certificate type.';
comment on column public.certificate_sync_types.certificate_type is 'Our certificate type code (hlf_peer_mentor, nhf_peer_mentor, blindeforbundet_peer_mentor).';
comment on column public.certificate_sync_types.created_at is 'When the mapping was recorded.';
comment on constraint certificate_sync_types_external_type_check on public.certificate_sync_types is 'an external certificate type is 1-200 characters';
comment on constraint certificate_sync_types_certificate_type_check on public.certificate_sync_types is 'the certificate type must be one of hlf_peer_mentor, nhf_peer_mentor, blindeforbundet_peer_mentor';

-- ---------------------------------------------------------------------------
-- The durable inbox.
-- ---------------------------------------------------------------------------
create table if not exists public.certificate_sync_events (
  id bigint generated by default as identity primary key,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  source text not null,
  source_event_id text not null,
  event_type text,
  external_person_id text,
  external_certificate_id text,
  external_type text,
  issued_on date,
  expiry_date date,
  revoked_on date,
  source_modified_at timestamptz not null,
  body_sha256 text not null,
  status text not null default 'pending',
  reason text,
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  source_version bigint,
  is_deletion boolean not null default false,
  receive_problem text,
  constraint certificate_sync_events_source_event_key unique (organization_id, source, source_event_id),
  constraint certificate_sync_events_source_check check (source in ('dataverse', 'v1')),
  constraint certificate_sync_events_source_event_id_check check (length(source_event_id) between 1 and 200),
  constraint certificate_sync_events_event_type_check
    check (event_type in ('issued', 'renewed', 'expiry_changed', 'revoked')),
  constraint certificate_sync_events_external_ids_check check (
    length(external_person_id) between 1 and 200 and length(external_certificate_id) between 1 and 200
    and (external_type is null or length(external_type) between 1 and 200)
  ),
  constraint certificate_sync_events_dates_check check (
    (issued_on is null or expiry_date is null or issued_on <= expiry_date)
    and (event_type is distinct from 'revoked' or revoked_on is not null)
  ),
  constraint certificate_sync_events_body_sha256_check check (body_sha256 ~ '^[0-9a-f]{64}$'),
  constraint certificate_sync_events_status_check check (status in ('pending', 'applied', 'superseded', 'dead')),
  constraint certificate_sync_events_reason_check check ((status = 'dead') = (reason is not null)),
  constraint certificate_sync_events_processed_check check ((status = 'pending') = (processed_at is null)),
  constraint certificate_sync_events_readable_check check (
    receive_problem is not null or (event_type is not null and external_certificate_id is not null)
  )
);
comment on table public.certificate_sync_events is 'Inbox of certificate events received from membership systems, stored before the sender gets its 2xx and applied in the order the source modified them. Holds ids, dates and a body hash only, never personal data.';
comment on column public.certificate_sync_events.id is 'Identifier of the event (what `sync retry` takes).';
comment on column public.certificate_sync_events.organization_id is 'Organisation whose membership system sent the event.';
comment on column public.certificate_sync_events.source is 'Format it arrived in: dataverse (a Dynamics 365 webhook''s RemoteExecutionContext) or v1 (our own contract).';
comment on column public.certificate_sync_events.source_event_id is 'The sender''s request id (Dataverse RequestId, v1 event_id); a second delivery with the same id is the same event and is stored once.';
comment on column public.certificate_sync_events.event_type is 'issued, renewed, expiry_changed or revoked; null only for a delivery whose change could not be read (see receive_problem).';
comment on column public.certificate_sync_events.external_person_id is 'The membership system''s id of the certificate holder (mapped through certificate_sync_people); null when the delivery does not carry it (the known certificate''s holder is taken) or carried personal data instead.';
comment on column public.certificate_sync_events.external_certificate_id is 'The membership system''s id of the certificate; null only for an unreadable v1 event.';
comment on column public.certificate_sync_events.external_type is 'The membership system''s certificate type; mapped through certificate_sync_types (null for a revocation, which needs none when the certificate is known).';
comment on column public.certificate_sync_events.issued_on is 'Start of the certificate period, when the event gives one.';
comment on column public.certificate_sync_events.expiry_date is 'New last valid day of the certificate, when the event gives one (an update without it keeps the known one).';
comment on column public.certificate_sync_events.revoked_on is 'First day the certificate is no longer valid (revocations only).';
comment on column public.certificate_sync_events.source_modified_at is 'When the source last modified the certificate; an event older than one already applied for the same certificate is superseded, never applied.';
comment on column public.certificate_sync_events.body_sha256 is 'Lowercase hex SHA-256 of the raw request body, for audit: proves what was received without keeping it.';
comment on column public.certificate_sync_events.status is 'pending (held or not yet applied), applied, superseded (a newer modification was applied first) or dead (cannot be applied; see reason).';
comment on column public.certificate_sync_events.reason is 'Why a dead event could not be applied (an unknown person or type, a date conflict); null otherwise.';
comment on column public.certificate_sync_events.received_at is 'When the event was stored.';
comment on column public.certificate_sync_events.processed_at is 'When it was applied, superseded or given up on; null while pending.';
comment on column public.certificate_sync_events.source_version is 'The source''s row version (Dataverse versionnumber) when it sends one: orders the events of one certificate; null for v1 events and deliveries without it.';
comment on column public.certificate_sync_events.is_deletion is 'The source deleted the row (a Dataverse Delete): ordered at the time it was executed, after any update of the version it deleted.';
comment on column public.certificate_sync_events.receive_problem is 'Why the delivery can never be applied as received (its body was cut, it is another table''s message, an id is personal data); the event stays dead through `sync retry` and the source must send it again.';
comment on constraint certificate_sync_events_source_event_key on public.certificate_sync_events is 'this event was already received (same organisation, source and request id)';
comment on constraint certificate_sync_events_source_check on public.certificate_sync_events is 'the source must be dataverse or v1';
comment on constraint certificate_sync_events_source_event_id_check on public.certificate_sync_events is 'the source event id must be 1-200 characters';
comment on constraint certificate_sync_events_event_type_check on public.certificate_sync_events is 'the event type must be issued, renewed, expiry_changed or revoked';
comment on constraint certificate_sync_events_external_ids_check on public.certificate_sync_events is 'external ids and types must be 1-200 characters';
comment on constraint certificate_sync_events_dates_check on public.certificate_sync_events is 'a revocation needs revoked_on, and an issue date is not after the expiry date';
comment on constraint certificate_sync_events_body_sha256_check on public.certificate_sync_events is 'the body hash must be a lowercase hex SHA-256 digest';
comment on constraint certificate_sync_events_status_check on public.certificate_sync_events is 'the status must be pending, applied, superseded or dead';
comment on constraint certificate_sync_events_reason_check on public.certificate_sync_events is 'a dead event needs a reason, and only a dead event has one';
comment on constraint certificate_sync_events_processed_check on public.certificate_sync_events is 'an event is processed exactly when it is no longer pending';
comment on constraint certificate_sync_events_readable_check on public.certificate_sync_events is 'an event without a type or certificate id must say why (receive_problem)';
-- NOT VALID as the migration made it: rows stored before issue 24 are not
-- re-read; every new or changed row is checked.
alter table public.certificate_sync_events
  drop constraint if exists certificate_sync_events_person_id_not_personal_check,
  add constraint certificate_sync_events_person_id_not_personal_check
    check (external_person_id is null or not private.text_contains_personal_data(external_person_id)) not valid;
comment on constraint certificate_sync_events_person_id_not_personal_check on public.certificate_sync_events is 'an external person id must be an id, not an e-mail address, phone number or national identity number';
-- Replay walks an organisation's pending events in source order.
create index if not exists certificate_sync_events_pending_order_idx
  on public.certificate_sync_events (organization_id, source_modified_at, source_version, id)
  where status = 'pending';
create index if not exists certificate_sync_events_dead_idx
  on public.certificate_sync_events (organization_id) where status = 'dead';

-- The newest source modification applied per external certificate, so an
-- older event that arrives late never overwrites a newer one.
create table if not exists public.certificate_sync_certificates (
  organization_id uuid not null references public.organizations (id) on delete cascade,
  external_certificate_id text not null,
  certification_id uuid references public.peer_mentor_certifications (id) on delete set null,
  source_modified_at timestamptz not null,
  source_version bigint,
  newest_event_id bigint,
  newest_is_deletion boolean not null default false,
  constraint certificate_sync_certificates_pkey primary key (organization_id, external_certificate_id)
);
comment on table public.certificate_sync_certificates is 'Per certificate of a membership system: our certificate it maps to and the newest source modification applied to it (the reordering guard).';
comment on column public.certificate_sync_certificates.organization_id is 'Organisation whose membership system issued the certificate.';
comment on column public.certificate_sync_certificates.external_certificate_id is 'The membership system''s id of the certificate.';
comment on column public.certificate_sync_certificates.certification_id is 'Our certificate it was applied to; null if that record was deleted since.';
comment on column public.certificate_sync_certificates.source_modified_at is 'Source modification time of the newest event applied; older events are superseded.';
comment on column public.certificate_sync_certificates.source_version is 'Row version of the newest event applied, when it had one.';
comment on column public.certificate_sync_certificates.newest_event_id is 'Inbox id of the newest event applied: among events of the same source time without versions, a later arrival wins.';
comment on column public.certificate_sync_certificates.newest_is_deletion is 'Whether the newest event applied deleted the row.';
create index if not exists certificate_sync_certificates_certification_id_idx
  on public.certificate_sync_certificates (certification_id);

-- ---------------------------------------------------------------------------
-- Webhook keys, per organisation: a key admits its holder to its own
-- organisation's sync URLs only (a key of A on B's URL is refused), so one
-- membership system can never write another organisation's certificates.
-- Only the SHA-256 of each key is kept: the key is 256 random bits made by
-- `mentor-notify sync keys add`, so its hash cannot be reversed by guessing
-- and a leaked table admits nobody. Several keys may be live at once
-- (rotation); a revoked one stays listed with the time it was revoked.
-- ---------------------------------------------------------------------------
create table if not exists public.certificate_sync_keys (
  id bigint generated by default as identity primary key,
  organization_id uuid not null references public.organizations (id) on delete cascade,
  key_sha256 text not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  constraint certificate_sync_keys_key_sha256_key unique (key_sha256),
  constraint certificate_sync_keys_key_sha256_check check (key_sha256 ~ '^[0-9a-f]{64}$'),
  constraint certificate_sync_keys_revoked_check check (revoked_at is null or revoked_at >= created_at)
);
comment on table public.certificate_sync_keys is 'Webhook keys of each organisation''s membership system, as SHA-256 hashes: a key admits its holder to that organisation''s sync endpoints only. Read by the server as the owner; no API role may read it.';
comment on column public.certificate_sync_keys.id is 'Identifier of the key.';
comment on column public.certificate_sync_keys.organization_id is 'Organisation whose events the key may post.';
comment on column public.certificate_sync_keys.key_sha256 is 'Lowercase hex SHA-256 of the key (the key itself is shown once, when made, and kept nowhere); its first 12 digits are the key''s fingerprint.';
comment on column public.certificate_sync_keys.created_at is 'When the key was made.';
comment on column public.certificate_sync_keys.revoked_at is 'When the key was revoked (it admits nobody since); null while it is live.';
comment on constraint certificate_sync_keys_key_sha256_key on public.certificate_sync_keys is 'this key is already registered';
comment on constraint certificate_sync_keys_key_sha256_check on public.certificate_sync_keys is 'the key hash must be a lowercase hex SHA-256 digest';
comment on constraint certificate_sync_keys_revoked_check on public.certificate_sync_keys is 'a key cannot be revoked before it was made';
create index if not exists certificate_sync_keys_organization_id_idx
  on public.certificate_sync_keys (organization_id);

-- ---------------------------------------------------------------------------
-- Dataverse names per organisation (`sync mappings`, issue 24).
-- ---------------------------------------------------------------------------
create table if not exists public.certificate_sync_mappings (
  organization_id uuid primary key references public.organizations (id) on delete cascade,
  table_name text not null,
  person_column text not null,
  certificate_type_column text not null,
  issued_on_column text not null,
  expiry_date_column text not null,
  revoked_on_column text not null,
  state_column text not null,
  modified_on_column text not null,
  version_column text not null,
  date_behavior text not null,
  updated_at timestamptz not null default now(),
  constraint certificate_sync_mappings_names_check check (
    table_name ~ '^[a-z][a-z0-9_]{0,99}$' and person_column ~ '^[a-z][a-z0-9_]{0,99}$'
    and certificate_type_column ~ '^[a-z][a-z0-9_]{0,99}$' and issued_on_column ~ '^[a-z][a-z0-9_]{0,99}$'
    and expiry_date_column ~ '^[a-z][a-z0-9_]{0,99}$' and revoked_on_column ~ '^[a-z][a-z0-9_]{0,99}$'
    and state_column ~ '^[a-z][a-z0-9_]{0,99}$' and modified_on_column ~ '^[a-z][a-z0-9_]{0,99}$'
    and version_column ~ '^[a-z][a-z0-9_]{0,99}$'
  ),
  constraint certificate_sync_mappings_date_behavior_check
    check (date_behavior in ('UserLocal', 'DateOnly', 'TimeZoneIndependent'))
);
comment on table public.certificate_sync_mappings is 'Which Dataverse table and columns hold an organisation''s certificates, and how its date columns behave; no row means the proposal in the code (DataverseMapping). Set with `sync mappings set`; HLF must confirm the names.';
comment on column public.certificate_sync_mappings.organization_id is 'Organisation whose Dataverse environment this describes.';
comment on column public.certificate_sync_mappings.table_name is 'Logical name of the certificate table.';
comment on column public.certificate_sync_mappings.person_column is 'Lookup column naming the holder (a contact).';
comment on column public.certificate_sync_mappings.certificate_type_column is 'Choice column of the certificate type.';
comment on column public.certificate_sync_mappings.issued_on_column is 'Date column of the first valid day.';
comment on column public.certificate_sync_mappings.expiry_date_column is 'Date column of the last valid day.';
comment on column public.certificate_sync_mappings.revoked_on_column is 'Date column of the first day no longer valid.';
comment on column public.certificate_sync_mappings.state_column is 'Status column (statecode; 1, inactive, revokes).';
comment on column public.certificate_sync_mappings.modified_on_column is 'Column of the last modification time.';
comment on column public.certificate_sync_mappings.version_column is 'Column of the row version (versionnumber).';
comment on column public.certificate_sync_mappings.date_behavior is 'Behaviour of the date columns in Dataverse: UserLocal (an instant; its date is taken in the organisation''s time zone), DateOnly or TimeZoneIndependent (the date as entered).';
comment on column public.certificate_sync_mappings.updated_at is 'When the mapping last changed.';
comment on constraint certificate_sync_mappings_names_check on public.certificate_sync_mappings is 'Dataverse logical names are lowercase letters, digits and underscores, starting with a letter (at most 100)';
comment on constraint certificate_sync_mappings_date_behavior_check on public.certificate_sync_mappings is 'the date behaviour must be UserLocal, DateOnly or TimeZoneIndependent';
alter table public.certificate_sync_mappings enable row level security;
revoke all on public.certificate_sync_mappings from anon, authenticated, service_role;
grant select, insert, update, delete on public.certificate_sync_mappings to service_role;


alter table public.certificate_sync_settings enable row level security;
-- pgls-ignore lint/safety/multipleAlterTable: the person-id check above is NOT VALID, so it cannot sit in the CREATE TABLE; on a new database the table is empty.
alter table public.certificate_sync_people enable row level security;
alter table public.certificate_sync_types enable row level security;
-- pgls-ignore lint/safety/multipleAlterTable: as above, for the inbox's person-id check.
alter table public.certificate_sync_events enable row level security;
alter table public.certificate_sync_certificates enable row level security;
alter table public.certificate_sync_keys enable row level security;
-- No policy for anon or authenticated: the sync is the back end's business.
revoke all on public.certificate_sync_settings, public.certificate_sync_people,
  public.certificate_sync_types, public.certificate_sync_events, public.certificate_sync_certificates
  from anon, authenticated, service_role;
grant select, insert, update, delete on public.certificate_sync_settings, public.certificate_sync_people,
  public.certificate_sync_types, public.certificate_sync_events, public.certificate_sync_certificates
  to service_role;
-- The keys are not even service_role's: the server reads them as the owner,
-- and no API caller needs to see or change them.
revoke all on public.certificate_sync_keys from anon, authenticated, service_role;

-- ---------------------------------------------------------------------------
-- Applying events. One function decides and writes, set-based, so the rule
-- (map, order, write through the certificate table, dead-letter what cannot
-- be applied) is written once, and a batch costs a few statements instead of
-- a dozen per event: issue 24's applied throughput (1,000 events: 0.79 ms of
-- database CPU each applied one by one, 0.19 ms for the bare writes done
-- set-based; BENCHMARKS.md).
--
-- A round applies the longest run of the pending events it is given, in
-- their order, in which no two events are of the same source certificate or
-- reach the same certificate row (two source certificates of one person and
-- type): such events read nothing another event of the run writes, so one
-- statement decides them all on one snapshot exactly as one by one would.
-- The rest are deferred to the next round, which sees what this one wrote.
-- ---------------------------------------------------------------------------
create or replace function private.apply_certificate_sync_round(event_ids bigint[], at timestamptz)
returns table (event_id bigint, outcome text, peer_mentor_id uuid)
language plpgsql
set search_path = ''
as $$
begin
  -- Locked first, so the statement below reads them as they are now.
  perform from public.certificate_sync_events e
  where e.id = any (event_ids) and e.status = 'pending'
  order by e.id
  for update;

  return query
  with given as (
    select e.*, g.pos,
           pg_catalog.row_number() over (
             partition by e.organization_id, coalesce(e.external_certificate_id, '#' || e.id::text)
             order by g.pos
           ) as nth
    from unnest(event_ids) with ordinality as g (id, pos)
    join public.certificate_sync_events e on e.id = g.id and e.status = 'pending'
  ),
  repeated as (
    select coalesce(min(g.pos), 9223372036854775807) as pos from given g where g.nth > 1
  ),
  -- What is known of each event's certificate, its holder and its type.
  looked as (
    select e.*,
           k.organization_id is not null as is_known,
           k.source_modified_at as known_modified_at,
           k.source_version as known_version,
           k.newest_event_id as known_newest_event_id,
           k.newest_is_deletion as known_is_deletion,
           c.id as known_cert_id,
           c.peer_mentor_id as known_mentor,
           c.certificate_type as known_type,
           p.user_id as named_person,
           t.certificate_type as our_type
    from given e
    left join public.certificate_sync_certificates k
      on e.receive_problem is null
     and k.organization_id = e.organization_id and k.external_certificate_id = e.external_certificate_id
    left join public.peer_mentor_certifications c on c.id = k.certification_id
    left join public.certificate_sync_people p
      on p.organization_id = e.organization_id and p.external_person_id = e.external_person_id
    left join public.certificate_sync_types t
      on t.organization_id = e.organization_id and t.external_type = e.external_type
    where e.pos < (select r.pos from repeated r)
  ),
  -- Who holds it (the person the event names, else the known certificate's),
  -- why it cannot be applied, and whether it is older than what was applied.
  judged as (
    select l.*,
           case when l.external_person_id is not null then l.named_person else l.known_mentor end as person,
           case
             when l.receive_problem is not null then l.receive_problem
             when l.external_person_id is not null and l.named_person is null then
               'unknown person: no mapping for external person id ' || l.external_person_id
               || ' (add it to certificate_sync_people, then `sync retry`)'
             when l.external_person_id is null and l.known_mentor is null then
               'certificate ' || l.external_certificate_id || ' is not known yet and the delivery names no holder'
               || ' (an Update or Delete without an image): register the webhook step with a pre-image (Delete)'
               || ' and a post-image (Create, Update), then `sync retry` once its Create has been applied'
             when l.external_type is not null and l.our_type is null then
               'unknown certificate type: no mapping for external type ' || l.external_type
               || ' (add it to certificate_sync_types, then `sync retry`)'
           end as unmapped,
           -- Order. A row version orders two events that both carry one; a
           -- deletion of version v comes after the update that made v.
           -- Otherwise the source's time, and among equal times the later
           -- arrival (the larger id) wins.
           l.is_known and case
             when l.source_version is not null and l.known_version is not null then
               l.source_version < l.known_version
               or (l.source_version = l.known_version and not (l.is_deletion and not l.known_is_deletion))
             else (l.source_modified_at, l.id) < (l.known_modified_at, coalesce(l.known_newest_event_id, 0))
           end as older
    from looked l
  ),
  -- The certificate row it writes: the known one, else (or when the event
  -- names another holder or type) that person's certificate of that type.
  targeted as (
    select j.*, c.id as cert_id, c.organization_id as cert_organization_id,
           c.peer_mentor_id as cert_mentor
    from judged j
    left join public.peer_mentor_certifications c
      on j.unmapped is null and not j.older
     and c.id = case
       when j.our_type is not null
        and (j.known_cert_id is null or j.known_type <> j.our_type or j.known_mentor <> j.person)
       then (select x.id from public.peer_mentor_certifications x
             where x.peer_mentor_id = j.person and x.certificate_type = j.our_type)
       else j.known_cert_id
     end
  ),
  decided as (
    select t.*,
           case
             when t.unmapped is not null then t.unmapped
             when t.older then null
             when t.cert_id is not null and t.cert_organization_id <> t.organization_id then
               'the certificate belongs to another organisation'
             when t.event_type = 'revoked' and t.cert_id is null then
               'revocation of certificate ' || t.external_certificate_id || ', which is not known here'
             when t.event_type = 'revoked' then null
             when t.cert_id is null and t.our_type is null then
               'certificate ' || t.external_certificate_id || ' is not known yet and the delivery names no certificate type'
             when t.cert_id is null and (t.issued_on is null or t.expiry_date is null) then
               'certificate ' || t.external_certificate_id || ' is not known yet and the delivery lacks its '
               || case when t.issued_on is null then 'issue date' else 'expiry date' end
               || ' (an Update without a post-image carries only the changed columns)'
           end as dead_reason,
           -- Two events that reach the same certificate row (or would create the
           -- same one) are not decided on one snapshot: the later ends the run.
           case
             when t.unmapped is not null or t.older then '#' || t.id::text
             when t.cert_id is not null then 'c' || t.cert_id::text
             when t.our_type is not null then 'p' || t.person::text || '/' || t.our_type
             else '#' || t.id::text
           end as target
    from targeted t
  ),
  settled as (
    select d.*,
           case when d.dead_reason is not null then 'dead' when d.older then 'superseded' else 'applied' end as result,
           pg_catalog.row_number() over (partition by d.target order by d.pos) as nth_target
    from decided d
  ),
  cut as (
    select least((select r.pos from repeated r),
                 coalesce((select min(s.pos) from settled s where s.nth_target > 1), 9223372036854775807)) as pos
  ),
  go as (
    select s.* from settled s where s.pos < (select c.pos from cut c)
  ),
  -- Revoked from revoked_on: the last valid day is the day before, which
  -- hides the mentor at once through the listing's lapse time. Otherwise the
  -- changed columns onto the known state; an unchanged expiry date writes
  -- nothing, so no renewal entry appears.
  changed as (
    update public.peer_mentor_certifications c
    set expiry_date = case when g.event_type = 'revoked' then least(c.expiry_date, g.revoked_on - 1)
                           else coalesce(g.expiry_date, c.expiry_date) end,
        issued_on = case when g.event_type = 'revoked' then least(c.issued_on, g.revoked_on - 1)
                         else coalesce(g.issued_on, least(c.issued_on, coalesce(g.expiry_date, c.expiry_date))) end
    from go g
    where g.result = 'applied' and c.id = g.cert_id
      and (g.event_type = 'revoked'
           or (c.expiry_date, c.issued_on) is distinct from
              (coalesce(g.expiry_date, c.expiry_date),
               coalesce(g.issued_on, least(c.issued_on, coalesce(g.expiry_date, c.expiry_date)))))
    returning c.id
  ),
  created as (
    insert into public.peer_mentor_certifications as c
      (organization_id, peer_mentor_id, certificate_type, issued_on, expiry_date)
    select g.organization_id, g.person, g.our_type, g.issued_on, g.expiry_date
    from go g
    where g.result = 'applied' and g.cert_id is null
    returning c.id, c.peer_mentor_id, c.certificate_type
  ),
  remembered as (
    insert into public.certificate_sync_certificates
      (organization_id, external_certificate_id, certification_id, source_modified_at,
       source_version, newest_event_id, newest_is_deletion)
    select g.organization_id, g.external_certificate_id, coalesce(g.cert_id, n.id), g.source_modified_at,
           g.source_version, g.id, g.is_deletion
    from go g
    left join created n
      on g.cert_id is null and n.peer_mentor_id = g.person and n.certificate_type = g.our_type
    where g.result = 'applied'
    on conflict (organization_id, external_certificate_id) do update
      set certification_id = excluded.certification_id,
          source_modified_at = excluded.source_modified_at,
          source_version = excluded.source_version,
          newest_event_id = excluded.newest_event_id,
          newest_is_deletion = excluded.newest_is_deletion
  ),
  marked as (
    update public.certificate_sync_events e
    set status = g.result, reason = g.dead_reason, processed_at = at
    from go g
    where e.id = g.id
  )
  select e.id, coalesce(g.result, 'deferred'),
         case when g.result = 'applied' then coalesce(g.cert_mentor, g.person) end
  from given e
  left join go g on g.id = e.id;
end
$$;
comment on function private.apply_certificate_sync_round(bigint[], timestamptz) is
  'Applies, set-based, the longest run of the pending events event_ids (in their order) with no two of one source certificate or certificate row to peer_mentor_certifications (its changed columns onto the known certificate), or marks each superseded (ordered before what was applied: by row version, else source time then arrival) or dead with the reason; returns each pending event''s outcome (deferred: left pending for the next round) and, when applied, the mentor whose certificate it changed.';

-- Replay and the applier: an organisation's pending events in source order
-- (time, row version, arrival), applied in rounds; also names the mentors
-- whose certificates changed, so that only their listings are refreshed (a
-- refresh of the whole organisation per round held every ingest behind the
-- organisation's lock). The batch is applied in one subtransaction: a
-- subtransaction per event cost a transaction id each, and beyond 64 of them
-- in one transaction visibility checks must look in pg_subtrans (PostgreSQL
-- manual, "Subtransactions", checked 2026-12-07; issue 24's speed). Only if
-- an event fails is the batch undone and applied again one event per
-- subtransaction, the failing one dead with the database's reason, so a
-- failure on one record never aborts the others.
drop function if exists private.apply_certificate_sync_events(uuid, timestamptz, integer);
create function private.apply_certificate_sync_events(org uuid, at timestamptz, max_events integer)
returns table (outcome text, events integer, peer_mentor_ids uuid[])
language plpgsql
set search_path = ''
as $$
declare
  batch bigint[];
  remaining bigint[];
  later bigint[];
  pending_id bigint;
  careful integer;
  r record;
  tally jsonb;
  mentors uuid[];
  -- A round ends at the first repeated certificate: offering it this many
  -- events is enough, and keeps each round's reading short.
  offer constant integer := 200;
begin
  batch := array(
    select e.id from public.certificate_sync_events e
    where e.organization_id = org and e.status = 'pending'
    order by e.source_modified_at, e.source_version nulls first, e.id
    limit max_events
  );
  for careful in 0..1 loop
    tally := '{}';
    mentors := '{}';
    begin
      if careful = 0 then
        remaining := batch;
        while pg_catalog.cardinality(remaining) > 0 loop
          later := '{}';
          for r in select * from private.apply_certificate_sync_round(remaining[1:offer], at) loop
            if r.outcome = 'deferred' then
              later := later || r.event_id;
            else
              if r.peer_mentor_id is not null and not r.peer_mentor_id = any (mentors) then
                mentors := mentors || r.peer_mentor_id;
              end if;
              tally := tally || pg_catalog.jsonb_build_object(r.outcome, coalesce((tally ->> r.outcome)::integer, 0) + 1);
            end if;
          end loop;
          -- Deferred events keep their places in the source order.
          remaining := array(
            select g.id from unnest(remaining) with ordinality as g (id, pos)
            where g.pos > offer or g.id = any (later) order by g.pos
          );
        end loop;
      else
        foreach pending_id in array batch loop
          begin
            -- One event: never deferred.
            for r in select * from private.apply_certificate_sync_round(array[pending_id], at) loop
              if r.peer_mentor_id is not null and not r.peer_mentor_id = any (mentors) then
                mentors := mentors || r.peer_mentor_id;
              end if;
              tally := tally || pg_catalog.jsonb_build_object(r.outcome, coalesce((tally ->> r.outcome)::integer, 0) + 1);
            end loop;
          exception when others then
            update public.certificate_sync_events
            set status = 'dead', reason = 'rejected by the database: ' || sqlerrm, processed_at = at
            where id = pending_id and status = 'pending';
            tally := tally || pg_catalog.jsonb_build_object('dead', coalesce((tally ->> 'dead')::integer, 0) + 1);
          end;
        end loop;
      end if;
      exit;
    exception when others then
      -- The whole batch is undone; the second pass applies it one by one.
      if careful = 1 then
        raise;
      end if;
    end;
  end loop;
  return query
    select t.key, t.value::integer, case when t.key = 'applied' then mentors end
    from pg_catalog.jsonb_each_text(tally) t;
end
$$;
comment on function private.apply_certificate_sync_events(uuid, timestamptz, integer) is
  'Applies up to max_events pending sync events of an organisation in source order (time, row version, arrival), in rounds (private.apply_certificate_sync_round), in one subtransaction, or if one fails one subtransaction per event (the failing one dead); returns how many ended applied, superseded or dead, and the mentors whose certificates the applied ones changed.';

revoke all on function private.apply_certificate_sync_round(bigint[], timestamptz) from public;
revoke all on function private.apply_certificate_sync_events(uuid, timestamptz, integer) from public;

-- ---------------------------------------------------------------------------
-- The data-quality report (ticket 004 risk 2), per chapter, for that
-- chapter's admins.
-- ---------------------------------------------------------------------------

-- The size of renewal history ticket 001 warns about; the expiry sweep's
-- RENEWAL_HISTORY_WARNING is held equal to it by a test.
create or replace function private.renewal_history_warning_size()
returns integer
language sql
immutable
set search_path = ''
as $$ select 500 $$;
comment on function private.renewal_history_warning_size() is
  'Renewal history entries beyond which a certificate is reported (ticket 001 risk 3).';

-- A device not re-registered for this long is stale (the app re-registers on
-- every launch); matches the device_tokens.last_refreshed_at comment. The
-- default of `mentor-notify push stale-tokens --days` (STALE_TOKEN_AGE in
-- push/tokens.py) is held equal to it by a test.
create or replace function private.stale_device_age()
returns interval
language sql
immutable
set search_path = ''
as $$ select interval '30 days' $$;
comment on function private.stale_device_age() is
  'How long a device token may go without a refresh before it is stale (the report; push stale-tokens by default).';

-- The one rule of staleness, for the report and `push stale-tokens`: a token
-- last refreshed before this instant is stale. Callers wrap it in a scalar
-- subquery, so it is computed once per statement, not once per token.
create or replace function private.stale_device_cutoff(at timestamptz, older_than interval)
returns timestamptz
language sql
stable
set search_path = ''
as $$ select at - older_than $$;
comment on function private.stale_device_cutoff(timestamptz, interval) is
  'Instant before which a device token''s last refresh makes it stale, at `at` for the age `older_than` (private.stale_device_age() unless an operator asks for another).';

-- Who a mentor's coordinators are: those assigned to them in any chapter of the
-- organisation (an assignment implies the mentor's peer_mentor membership of
-- that chapter, by its foreign key). One definition for the expiry sweep (its
-- coordinator notices, and the chapter admins standing in for a mentor with
-- none, whom it reports) and the data-quality report's mentors without a
-- coordinator: a mentor with a coordinator in another of the organisation's
-- chapters is told through them, so is not a finding. A view, so the planner
-- joins through it as through the table (set-based in the sweep).
drop view if exists private.mentor_coordinators;
create view private.mentor_coordinators with (security_invoker = true) as
select a.organization_id, a.peer_mentor_id, a.coordinator_id
from public.coordinator_assignments a;
comment on view private.mentor_coordinators is
  'A mentor''s coordinators in an organisation: those assigned to them in any of its chapters. A mentor with no row here has no coordinator (the sweep tells the chapter admins instead; the data-quality report lists them).';
revoke all on private.mentor_coordinators from public, anon, authenticated, service_role;

create or replace function private.administered_chapter_ids()
returns uuid[]
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(array_agg(distinct m.chapter_id), '{}')
  from public.chapter_memberships m
  where m.user_id = (select auth.uid()) and m.role = 'chapter_admin'
$$;
comment on function private.administered_chapter_ids() is
  'Chapters in which the requesting user is chapter admin (the report''s audience).';

-- SECURITY DEFINER: an admin may not read other members' devices or the push
-- queue row by row, yet must see that they are stale or dead. It returns only
-- the admin's own chapters (a caller acting as service_role, the back end,
-- sees every chapter) and ids, never a name or a token.
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
  with caller as (
    -- The database role the caller acts as: the one SET ROLE chose (what
    -- PostgREST does per request), else the role they logged in as. Not
    -- current_user, which in a SECURITY DEFINER function is its owner: the
    -- `role` setting is left as it was on entering one, and only a member of
    -- a role may set it. Never the JWT's role claim, which a session may set
    -- to anything.
    select case when pg_catalog.current_setting('role') = 'none' then session_user::text
                else pg_catalog.current_setting('role') end as role_name
  ),
  chapters as (
    select c.id, c.organization_id
    from public.chapters c
    where (select pg_catalog.pg_has_role(k.role_name, 'service_role', 'member') from caller k)
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
  'Rows of the data-quality report for the chapters the requesting user (auth.uid()) administers; every chapter for a caller whose database role is, or is a member of, service_role (the JWT''s role claim decides nothing).';

revoke all on function private.renewal_history_warning_size() from public;
revoke all on function private.stale_device_age() from public;
revoke all on function private.stale_device_cutoff(timestamptz, interval) from public;
revoke all on function private.administered_chapter_ids() from public;
revoke all on function private.data_quality_report() from public;
grant execute on function private.administered_chapter_ids() to authenticated, service_role;
grant execute on function private.renewal_history_warning_size() to authenticated, service_role;
grant execute on function private.stale_device_age() to authenticated, service_role;
grant execute on function private.data_quality_report() to authenticated, service_role;

-- security_invoker: the view adds no rights of its own (Supabase's linter
-- flags definer views, "security_definer_view", checked 2026-11-29); the
-- function above decides what the caller sees.
drop view if exists public.data_quality_report;
create view public.data_quality_report with (security_invoker = true) as
select r.organization_id, r.chapter_id, r.issue, r.subject_id, r.person_id, r.since
from private.data_quality_report() r;
comment on view public.data_quality_report is 'Data-quality report of the admin dashboard: per chapter the admin administers, mentors without a coordinator, certificates with an oversized renewal history, devices not refreshed for 30 days, dead pushes and dead sync events. Ids only.';
comment on column public.data_quality_report.organization_id is 'Organisation of the chapter.';
comment on column public.data_quality_report.chapter_id is 'Chapter the finding belongs to.';
comment on column public.data_quality_report.issue is 'mentor_without_coordinator, large_renewal_history, stale_device, dead_push or dead_sync_event.';
comment on column public.data_quality_report.subject_id is 'What to look at: the mentor, certificate, device token, push message or sync event id.';
comment on column public.data_quality_report.person_id is 'The member concerned (names are read from users under its own policy); null for a sync event of an unknown person.';
comment on column public.data_quality_report.since is 'When the finding''s subject was created, last refreshed or given up on.';

revoke all on public.data_quality_report from anon, authenticated, service_role;
grant select on public.data_quality_report to authenticated, service_role;
