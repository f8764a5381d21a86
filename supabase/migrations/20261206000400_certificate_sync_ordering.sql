-- pgls-ignore-all lint/safety/runningStatementWhileHoldingAccessExclusive: this
-- migration changes the sync's own tables in one transaction (columns,
-- constraints, their comments, the functions that read them), so later
-- statements run under the locks of earlier ones by design; the tables are
-- the sync's inbox and mapping tables, small, and the timeouts below bound the
-- wait.

-- The certificate sync loses nothing and orders changes by what orders them
-- (issue 24).
--
-- 1. Every authenticated delivery is stored, even one that cannot be applied
--    as it stands (a body Dataverse cut, a message of another table, an
--    external person id that is personal data): such an event is kept with its
--    `receive_problem`, dead from the start, with what a person must do. So an
--    event may lack a type, a holder or a certificate id; it may also lack the
--    dates an Update without a post-image did not change, which are taken from
--    the certificate already known.
-- 2. Order: Dataverse's row version (`versionnumber`, the value behind its Web
--    API ETags) where the source sends it; else the source's time and, for one
--    certificate, the order of arrival (the event id) breaks a tie, so the
--    later of two changes in the same second wins. A Delete carries the time
--    it was executed (OperationCreatedOn) and the version of the row it
--    deleted, and beats an update of that same version.
-- 3. Dataverse table and column names, and the behaviour of its date
--    columns, per organisation (`certificate_sync_mappings`; no row: the
--    proposal in the code, DataverseMapping).
-- 4. External person ids are ids: the database refuses one that the privacy
--    guard reads as an e-mail address, a phone number or a national identity
--    number (the server dead-letters such an event before it gets here).
--
-- Grants: the new table is the back end's, like the other sync tables
-- (service_role reads and writes; app users nothing, RLS on, no policy).
-- Idempotent: columns and tables "if not exists", constraints dropped and
-- recreated, functions replaced.

set local lock_timeout = '5s';
set local statement_timeout = '10min';
set local idle_in_transaction_session_timeout = '1min';

-- ---------------------------------------------------------------------------
-- The inbox: what an incomplete or refused delivery leaves out.
-- ---------------------------------------------------------------------------
-- One statement per table, so the inbox is locked once; each constraint is
-- dropped and made again in it, so that applying the file twice is harmless.
-- pgls-ignore lint/safety/banDropNotNull: the columns become optional on purpose (a delivery that cannot be read is kept with what it had); the only reader is this code, which reads them as optional from this release on.
-- pgls-ignore lint/safety/constraintMissingNotValid: the new rules only relax the ones they replace, so every stored row meets them; validating reads the small inbox once.
alter table public.certificate_sync_events
  add column if not exists source_version bigint,
  add column if not exists is_deletion boolean not null default false,
  add column if not exists receive_problem text,
  alter column event_type drop not null,
  alter column external_person_id drop not null,
  alter column external_certificate_id drop not null,
  drop constraint if exists certificate_sync_events_dates_check,
  add constraint certificate_sync_events_dates_check check (
    (issued_on is null or expiry_date is null or issued_on <= expiry_date)
    and (event_type is distinct from 'revoked' or revoked_on is not null)
  ),
  drop constraint if exists certificate_sync_events_readable_check,
  add constraint certificate_sync_events_readable_check check (
    receive_problem is not null or (event_type is not null and external_certificate_id is not null)
  ),
  -- NOT VALID: rows stored before this check are not re-read (the server kept
  -- no personal data there either); every new or changed row is checked.
  drop constraint if exists certificate_sync_events_person_id_not_personal_check,
  add constraint certificate_sync_events_person_id_not_personal_check
    check (external_person_id is null or not private.text_contains_personal_data(external_person_id)) not valid;
-- pgls-ignore lint/safety/avoidWideLockWindow: the people mapping is small and its brief lock is taken after the inbox's within this one migration.
alter table public.certificate_sync_people
  drop constraint if exists certificate_sync_people_person_id_not_personal_check,
  add constraint certificate_sync_people_person_id_not_personal_check
    check (not private.text_contains_personal_data(external_person_id)) not valid;
comment on column public.certificate_sync_events.source_version is 'The source''s row version (Dataverse versionnumber) when it sends one: orders the events of one certificate; null for v1 events and deliveries without it.';
comment on column public.certificate_sync_events.is_deletion is 'The source deleted the row (a Dataverse Delete): ordered at the time it was executed, after any update of the version it deleted.';
comment on column public.certificate_sync_events.receive_problem is 'Why the delivery can never be applied as received (its body was cut, it is another table''s message, an id is personal data); the event stays dead through `sync retry` and the source must send it again.';
comment on column public.certificate_sync_events.event_type is 'issued, renewed, expiry_changed or revoked; null only for a delivery whose change could not be read (see receive_problem).';
comment on column public.certificate_sync_events.external_person_id is 'The membership system''s id of the certificate holder (mapped through certificate_sync_people); null when the delivery does not carry it (the known certificate''s holder is taken) or carried personal data instead.';
comment on column public.certificate_sync_events.external_certificate_id is 'The membership system''s id of the certificate; null only for an unreadable v1 event.';
comment on column public.certificate_sync_events.expiry_date is 'New last valid day of the certificate, when the event gives one (an update without it keeps the known one).';
comment on constraint certificate_sync_events_dates_check on public.certificate_sync_events is 'a revocation needs revoked_on, and an issue date is not after the expiry date';
comment on constraint certificate_sync_events_readable_check on public.certificate_sync_events is 'an event without a type or certificate id must say why (receive_problem)';
comment on constraint certificate_sync_events_person_id_not_personal_check on public.certificate_sync_events is 'an external person id must be an id, not an e-mail address, phone number or national identity number';
comment on constraint certificate_sync_people_person_id_not_personal_check on public.certificate_sync_people is 'an external person id must be an id, not an e-mail address, phone number or national identity number';

-- The reordering guard remembers what ordered the newest applied event.
-- pgls-ignore lint/safety/avoidWideLockWindow: a small table of the sync's own, altered with nullable columns and a default (no rewrite).
alter table public.certificate_sync_certificates
  add column if not exists source_version bigint,
  add column if not exists newest_event_id bigint,
  add column if not exists newest_is_deletion boolean not null default false;
comment on column public.certificate_sync_certificates.source_version is 'Row version of the newest event applied, when it had one.';
comment on column public.certificate_sync_certificates.newest_event_id is 'Inbox id of the newest event applied: among events of the same source time without versions, a later arrival wins.';
comment on column public.certificate_sync_certificates.newest_is_deletion is 'Whether the newest event applied deleted the row.';

-- ---------------------------------------------------------------------------
-- Dataverse names per organisation (`sync mappings`).
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

-- Worker and replay walk each organisation's pending events in this order.
-- pgls-ignore lint/safety/requireConcurrentIndexDeletion: CONCURRENTLY cannot run in the migration's transaction; the index covers only pending events, a handful at any time.
drop index if exists public.certificate_sync_events_pending_idx;
create index if not exists certificate_sync_events_pending_order_idx
  on public.certificate_sync_events (organization_id, source_modified_at, source_version, id)
  where status = 'pending';

-- ---------------------------------------------------------------------------
-- Applying one event: the one rule of order, of what a partial event changes
-- and of what goes to the dead letter (replay, the worker and retry all run
-- it).
-- ---------------------------------------------------------------------------
create or replace function private.apply_certificate_sync_event(event_id bigint, at timestamptz)
returns text
language plpgsql
set search_path = ''
as $$
declare
  e public.certificate_sync_events;
  known public.certificate_sync_certificates;
  person uuid;
  our_type text;
  cert public.peer_mentor_certifications;
  new_expiry date;
  outcome text := 'applied';
  why text;
  older boolean := false;
begin
  select * into e from public.certificate_sync_events where id = event_id and status = 'pending' for update;
  if not found then
    return null;
  end if;
  why := e.receive_problem;

  if why is null then
    select * into known
    from public.certificate_sync_certificates s
    where s.organization_id = e.organization_id and s.external_certificate_id = e.external_certificate_id
    for update;
    if known.certification_id is not null then
      select * into cert from public.peer_mentor_certifications c where c.id = known.certification_id;
    end if;

    -- Order. A row version orders two events that both carry one; a deletion
    -- of version v comes after the update that made v. Otherwise the source's
    -- time, and among equal times the later arrival (the larger id) wins.
    if known.organization_id is not null then
      if e.source_version is not null and known.source_version is not null then
        older := e.source_version < known.source_version
          or (e.source_version = known.source_version and not (e.is_deletion and not known.newest_is_deletion));
      else
        older := (e.source_modified_at, e.id)
          < (known.source_modified_at, coalesce(known.newest_event_id, 0));
      end if;
    end if;
  end if;

  -- Who holds it: the person the event names, else the known certificate's.
  if why is null and e.external_person_id is not null then
    select p.user_id into person
    from public.certificate_sync_people p
    where p.organization_id = e.organization_id and p.external_person_id = e.external_person_id;
    if person is null then
      why := 'unknown person: no mapping for external person id ' || e.external_person_id
        || ' (add it to certificate_sync_people, then `sync retry`)';
    end if;
  elsif why is null then
    person := cert.peer_mentor_id;
    if person is null then
      why := 'certificate ' || e.external_certificate_id || ' is not known yet and the delivery names no holder'
        || ' (an Update or Delete without an image): register the webhook step with a pre-image (Delete)'
        || ' and a post-image (Create, Update), then `sync retry` once its Create has been applied';
    end if;
  end if;

  if why is null and e.external_type is not null then
    select t.certificate_type into our_type
    from public.certificate_sync_types t
    where t.organization_id = e.organization_id and t.external_type = e.external_type;
    if our_type is null then
      why := 'unknown certificate type: no mapping for external type ' || e.external_type
        || ' (add it to certificate_sync_types, then `sync retry`)';
    end if;
  end if;

  if why is null and older then
    outcome := 'superseded';
  elsif why is null then
    if our_type is not null and (cert.id is null or cert.certificate_type <> our_type or cert.peer_mentor_id <> person) then
      select * into cert from public.peer_mentor_certifications c
      where c.peer_mentor_id = person and c.certificate_type = our_type;
    end if;
    if cert.id is not null and cert.organization_id <> e.organization_id then
      why := 'the certificate belongs to another organisation';
    elsif e.event_type = 'revoked' then
      if cert.id is null then
        why := 'revocation of certificate ' || e.external_certificate_id || ', which is not known here';
      else
        -- Revoked from revoked_on: the last valid day is the day before, which
        -- hides the mentor at once through the listing's lapse time.
        update public.peer_mentor_certifications c
        set expiry_date = least(c.expiry_date, e.revoked_on - 1),
            issued_on = least(c.issued_on, e.revoked_on - 1)
        where c.id = cert.id;
      end if;
    elsif cert.id is null then
      if our_type is null then
        why := 'certificate ' || e.external_certificate_id || ' is not known yet and the delivery names no certificate type';
      elsif e.issued_on is null or e.expiry_date is null then
        why := 'certificate ' || e.external_certificate_id || ' is not known yet and the delivery lacks its '
          || case when e.issued_on is null then 'issue date' else 'expiry date' end
          || ' (an Update without a post-image carries only the changed columns)';
      else
        insert into public.peer_mentor_certifications
          (organization_id, peer_mentor_id, certificate_type, issued_on, expiry_date)
        values (e.organization_id, person, our_type, e.issued_on, e.expiry_date)
        returning * into cert;
      end if;
    else
      -- The changed columns onto the known state; an unchanged expiry date
      -- writes nothing, so no renewal entry appears.
      new_expiry := coalesce(e.expiry_date, cert.expiry_date);
      update public.peer_mentor_certifications c
      set expiry_date = new_expiry,
          issued_on = coalesce(e.issued_on, least(c.issued_on, new_expiry))
      where c.id = cert.id
        and (c.expiry_date, c.issued_on) is distinct from
            (new_expiry, coalesce(e.issued_on, least(c.issued_on, new_expiry)));
    end if;
    if why is null then
      insert into public.certificate_sync_certificates
        (organization_id, external_certificate_id, certification_id, source_modified_at,
         source_version, newest_event_id, newest_is_deletion)
      values (e.organization_id, e.external_certificate_id, cert.id, e.source_modified_at,
              e.source_version, e.id, e.is_deletion)
      on conflict (organization_id, external_certificate_id) do update
        set certification_id = excluded.certification_id,
            source_modified_at = excluded.source_modified_at,
            source_version = excluded.source_version,
            newest_event_id = excluded.newest_event_id,
            newest_is_deletion = excluded.newest_is_deletion;
    end if;
  end if;

  if why is not null then
    outcome := 'dead';
  end if;
  update public.certificate_sync_events
  set status = outcome, reason = why, processed_at = at
  where id = event_id;
  return outcome;
end
$$;
comment on function private.apply_certificate_sync_event(bigint, timestamptz) is
  'Applies one pending sync event to peer_mentor_certifications (its changed columns onto the known certificate), or marks it superseded (ordered before what was applied: by row version, else source time then arrival) or dead with the reason; returns the outcome, null if it was not pending.';

-- Replay and the applier: an organisation's pending events in source order
-- (time, row version, arrival); also names the mentors whose certificates
-- changed, so that only their listings are refreshed (a refresh of the whole
-- organisation per round held every ingest behind the organisation's lock).
-- The batch is applied in one subtransaction: a subtransaction per event cost
-- a transaction id each, and beyond 64 of them in one transaction visibility
-- checks must look in pg_subtrans (PostgreSQL manual, "Subtransactions",
-- checked 2026-12-07; issue 24's speed). Only if an
-- event fails is the batch undone and applied again one event per
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
  pending_id bigint;
  careful integer;
  result text;
  tally jsonb;
  mentors uuid[];
  mentor uuid;
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
      foreach pending_id in array batch loop
        if careful = 0 then
          result := private.apply_certificate_sync_event(pending_id, at);
        else
          begin
            result := private.apply_certificate_sync_event(pending_id, at);
          exception when others then
            update public.certificate_sync_events
            set status = 'dead', reason = 'rejected by the database: ' || sqlerrm, processed_at = at
            where id = pending_id and status = 'pending';
            result := 'dead';
          end;
        end if;
        if result = 'applied' then
          select c.peer_mentor_id into mentor
          from public.certificate_sync_events e
          join public.certificate_sync_certificates s
            on s.organization_id = e.organization_id and s.external_certificate_id = e.external_certificate_id
          join public.peer_mentor_certifications c on c.id = s.certification_id
          where e.id = pending_id;
          if mentor is not null and not mentor = any (mentors) then
            mentors := mentors || mentor;
          end if;
        end if;
        if result is not null then
          tally := tally || pg_catalog.jsonb_build_object(result, coalesce((tally ->> result)::integer, 0) + 1);
        end if;
      end loop;
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
  'Applies up to max_events pending sync events of an organisation in source order (time, row version, arrival), in one subtransaction, or if one fails one subtransaction each (the failing one dead); returns how many ended applied, superseded or dead, and the mentors whose certificates the applied ones changed.';

revoke all on function private.apply_certificate_sync_event(bigint, timestamptz) from public;
revoke all on function private.apply_certificate_sync_events(uuid, timestamptz, integer) from public;
