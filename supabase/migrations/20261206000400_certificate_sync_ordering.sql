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
