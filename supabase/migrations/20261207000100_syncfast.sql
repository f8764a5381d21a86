-- The sync applies faster (issue 24's speed targets): an organisation's held
-- events are applied in one subtransaction per batch instead of one per event;
-- one by one only when an event of the batch fails. Same signature and result,
-- so the function is replaced in place (its grants stay). Idempotent.
-- The current definition is in supabase/schemas/09_certificate_sync_and_report.sql;
-- the baseline's and 20261206000400's texts hold it too, so re-applying them
-- changes nothing.
set local lock_timeout = '5s';
set local statement_timeout = '1min';

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
create or replace function private.apply_certificate_sync_events(org uuid, at timestamptz, max_events integer)
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

revoke all on function private.apply_certificate_sync_events(uuid, timestamptz, integer) from public;
