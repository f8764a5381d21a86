-- Rollback of 20261207000500_sync_apply_set_based: events are applied one
-- function call each again (20261207000100's definitions). Idempotent.
drop function if exists private.apply_certificate_sync_round(bigint[], timestamptz);

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
