-- Rollback of 20261206000400_certificate_sync_ordering: back to issue 19's
-- sync. Events the old inbox cannot hold (stored without a type, holder,
-- certificate id or expiry date: deliveries that were dead on arrival or
-- partial updates) are deleted first; the old order (source time only, the
-- later of two same-second changes superseded) and the old apply rule come
-- back. Idempotent.
delete from public.certificate_sync_events
where event_type is null or external_person_id is null or external_certificate_id is null
   or (event_type <> 'revoked' and expiry_date is null);
drop table if exists public.certificate_sync_mappings;
drop index if exists public.certificate_sync_events_pending_order_idx;
create index if not exists certificate_sync_events_pending_idx
  on public.certificate_sync_events (organization_id, source_modified_at, id) where status = 'pending';
alter table public.certificate_sync_people drop constraint if exists certificate_sync_people_person_id_not_personal_check;
alter table public.certificate_sync_events drop constraint if exists certificate_sync_events_person_id_not_personal_check;
alter table public.certificate_sync_events drop constraint if exists certificate_sync_events_readable_check;
alter table public.certificate_sync_events drop constraint if exists certificate_sync_events_dates_check;
alter table public.certificate_sync_events add constraint certificate_sync_events_dates_check check (
  case event_type
    when 'revoked' then revoked_on is not null
    else expiry_date is not null and (issued_on is null or issued_on <= expiry_date)
  end
);
comment on constraint certificate_sync_events_dates_check on public.certificate_sync_events is 'a revocation needs revoked_on; any other event an expiry date not before its issue date';
alter table public.certificate_sync_events
  alter column event_type set not null,
  alter column external_person_id set not null,
  alter column external_certificate_id set not null;
alter table public.certificate_sync_events
  drop column if exists source_version,
  drop column if exists is_deletion,
  drop column if exists receive_problem;
alter table public.certificate_sync_certificates
  drop column if exists source_version,
  drop column if exists newest_event_id,
  drop column if exists newest_is_deletion;

comment on column public.certificate_sync_events.event_type is 'issued, renewed, expiry_changed or revoked.';
comment on column public.certificate_sync_events.external_person_id is 'The membership system''s id of the certificate holder; mapped through certificate_sync_people.';
comment on column public.certificate_sync_events.external_certificate_id is 'The membership system''s id of the certificate; orders its events by source_modified_at.';
comment on column public.certificate_sync_events.expiry_date is 'New last valid day of the certificate (all but revocations).';

-- The functions as 20261129000400_certificate_sync defined them (the replay's
-- result loses its column, so it is dropped first).
drop function if exists private.apply_certificate_sync_events(uuid, timestamptz, integer);
create or replace function private.apply_certificate_sync_event(event_id bigint, at timestamptz)
returns text
language plpgsql
set search_path = ''
as $$
declare
  e public.certificate_sync_events;
  person uuid;
  our_type text;
  newest timestamptz;
  known uuid;
  cert public.peer_mentor_certifications;
  outcome text := 'applied';
  why text;
begin
  select * into e from public.certificate_sync_events where id = event_id and status = 'pending' for update;
  if not found then
    return null;
  end if;

  select p.user_id into person
  from public.certificate_sync_people p
  where p.organization_id = e.organization_id and p.external_person_id = e.external_person_id;
  if person is null then
    why := 'unknown person: no mapping for external person id ' || e.external_person_id;
  end if;

  select s.source_modified_at, s.certification_id into newest, known
  from public.certificate_sync_certificates s
  where s.organization_id = e.organization_id and s.external_certificate_id = e.external_certificate_id
  for update;

  if why is null and e.external_type is not null then
    select t.certificate_type into our_type
    from public.certificate_sync_types t
    where t.organization_id = e.organization_id and t.external_type = e.external_type;
    if our_type is null then
      why := 'unknown certificate type: no mapping for external type ' || e.external_type;
    end if;
  end if;

  if why is null and newest is not null and e.source_modified_at <= newest then
    outcome := 'superseded';
  elsif why is null then
    if our_type is null then
      select * into cert from public.peer_mentor_certifications c where c.id = known;
    else
      select * into cert from public.peer_mentor_certifications c
      where c.peer_mentor_id = person and c.certificate_type = our_type;
    end if;
    if cert.id is not null and cert.organization_id <> e.organization_id then
      why := 'the certificate belongs to another organisation';
    elsif e.event_type = 'revoked' then
      if cert.id is null then
        why := 'revocation of an unknown certificate';
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
        why := 'unknown certificate and the event names no certificate type';
      elsif e.issued_on is null then
        why := 'no certificate to change and the event gives no issue date';
      else
        insert into public.peer_mentor_certifications
          (organization_id, peer_mentor_id, certificate_type, issued_on, expiry_date)
        values (e.organization_id, person, our_type, e.issued_on, e.expiry_date)
        returning * into cert;
      end if;
    else
      -- An unchanged expiry date writes nothing, so no renewal entry appears.
      update public.peer_mentor_certifications c
      set expiry_date = e.expiry_date,
          issued_on = coalesce(e.issued_on, least(c.issued_on, e.expiry_date))
      where c.id = cert.id
        and (c.expiry_date, c.issued_on) is distinct from
            (e.expiry_date, coalesce(e.issued_on, least(c.issued_on, e.expiry_date)));
    end if;
    if why is null then
      insert into public.certificate_sync_certificates
        (organization_id, external_certificate_id, certification_id, source_modified_at)
      values (e.organization_id, e.external_certificate_id, cert.id, e.source_modified_at)
      on conflict (organization_id, external_certificate_id) do update
        set certification_id = excluded.certification_id,
            source_modified_at = excluded.source_modified_at;
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
  'Applies one pending sync event to peer_mentor_certifications (so renewal history, expiry cycle and listing follow), or marks it superseded (older than what was applied) or dead with the reason; returns the outcome, null if it was not pending.';

-- Replay: an organisation's pending events in source order, each in its own
-- subtransaction, so a failure on one (a constraint of the certificate table)
-- dead-letters that event and never the batch.
create or replace function private.apply_certificate_sync_events(org uuid, at timestamptz, max_events integer)
returns table (outcome text, events integer)
language plpgsql
set search_path = ''
as $$
declare
  event_id bigint;
  result text;
  tally jsonb := '{}';
begin
  for event_id in
    select e.id from public.certificate_sync_events e
    where e.organization_id = org and e.status = 'pending'
    order by e.source_modified_at, e.id
    limit max_events
  loop
    begin
      result := private.apply_certificate_sync_event(event_id, at);
    exception when others then
      update public.certificate_sync_events
      set status = 'dead', reason = 'rejected by the database: ' || sqlerrm, processed_at = at
      where id = event_id and status = 'pending';
      result := 'dead';
    end;
    if result is not null then
      tally := tally || pg_catalog.jsonb_build_object(result, coalesce((tally ->> result)::integer, 0) + 1);
    end if;
  end loop;
  return query select t.key, t.value::integer from pg_catalog.jsonb_each_text(tally) t;
end
$$;
comment on function private.apply_certificate_sync_events(uuid, timestamptz, integer) is
  'Applies up to max_events pending sync events of an organisation in source order, one subtransaction each; returns how many ended applied, superseded or dead.';

revoke all on function private.apply_certificate_sync_event(bigint, timestamptz) from public;
revoke all on function private.apply_certificate_sync_events(uuid, timestamptz, integer) from public;

