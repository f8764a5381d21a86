-- Rollback of 20261207000100_syncfast: the applier's batch goes back to one
-- subtransaction per event (20261206000400's definition). Idempotent.
create or replace function private.apply_certificate_sync_events(org uuid, at timestamptz, max_events integer)
returns table (outcome text, events integer, peer_mentor_ids uuid[])
language plpgsql
set search_path = ''
as $$
declare
  event_id bigint;
  result text;
  tally jsonb := '{}';
  mentors uuid[] := '{}';
  mentor uuid;
begin
  for event_id in
    select e.id from public.certificate_sync_events e
    where e.organization_id = org and e.status = 'pending'
    order by e.source_modified_at, e.source_version nulls first, e.id
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
    if result = 'applied' then
      select c.peer_mentor_id into mentor
      from public.certificate_sync_events e
      join public.certificate_sync_certificates s
        on s.organization_id = e.organization_id and s.external_certificate_id = e.external_certificate_id
      join public.peer_mentor_certifications c on c.id = s.certification_id
      where e.id = event_id;
      if mentor is not null and not mentor = any (mentors) then
        mentors := mentors || mentor;
      end if;
    end if;
    if result is not null then
      tally := tally || pg_catalog.jsonb_build_object(result, coalesce((tally ->> result)::integer, 0) + 1);
    end if;
  end loop;
  return query
    select t.key, t.value::integer, case when t.key = 'applied' then mentors end
    from pg_catalog.jsonb_each_text(tally) t;
end
$$;
comment on function private.apply_certificate_sync_events(uuid, timestamptz, integer) is
  'Applies up to max_events pending sync events of an organisation in source order (time, row version, arrival), one subtransaction each; returns how many ended applied, superseded or dead, and the mentors whose certificates the applied ones changed.';
revoke all on function private.apply_certificate_sync_events(uuid, timestamptz, integer) from public;
